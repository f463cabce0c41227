"""The results table: one row per (split, task, representation, M_val, variant, metric).

A long table is easy to filter, to concatenate across checkpoints and seeds, and to pivot; it
is written as Parquet (typed) and CSV (for a quick look).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

TABLE = "results"
RESULTS_JSON = "results.json"


@dataclass(frozen=True)
class Row:
    split: str  # the eval split, or "ood:<dir name>/<split>"
    task: str  # classification, rel_rotation, abs_rotation, colour, crop, ..., path_integration
    representation: str  # z_agg, z_res, z_pair, z_view, z_agg+e(a_M), predictor
    metric: str  # top1, r2_sklearn, r2_global, rot_err_deg, mrr, hit@k, cosine
    value: float
    m_val: int | None = None
    variant: str = "full"  # path integration: full, actions zeroed, visual zeroed
    probe: str = ""  # the head: linear, mlp, or "" where nothing is trained
    n_train: int = 0
    n_eval: int = 0


def rows_frame(rows: list[Row]) -> pd.DataFrame:
    frame = pd.DataFrame([dataclasses.asdict(r) for r in rows], columns=list(Row.__annotations__))
    frame["m_val"] = frame["m_val"].astype("Int64")
    return frame


def write_table(rows: list[Row], out: Path) -> tuple[Path, Path]:
    frame = rows_frame(rows)
    parquet, csv = out / f"{TABLE}.parquet", out / f"{TABLE}.csv"
    frame.to_parquet(parquet, index=False)
    frame.to_csv(csv, index=False)
    return parquet, csv


def read_table(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out / f"{TABLE}.parquet")


def write_json(payload: dict[str, Any], out: Path) -> Path:
    path = out / RESULTS_JSON
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))
    return path


def read_json(out: Path) -> dict[str, Any]:
    path = out / RESULTS_JSON
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {out} is not a seqjepa-eval results directory")
    return json.loads(path.read_text())
