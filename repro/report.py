"""The suite's report: claims judged on the evaluation tables, written as ``report.md``,
``results.json`` and one figure per gated claim."""

from __future__ import annotations

import csv
import math
import os
import platform
from pathlib import Path

from seqjepa.preprocess.files import atomic_write_json, write_if_changed

from .claims import CLAIMS, MEASURES, Measure, Values, fmt, judge, mean, std
from .data import PHOTOS
from .stages import StageResult, now
from .suite import EVAL_SPLIT, EXPERIMENTS, Suite, eval_dir


def read_measure(results: Path, measure: Measure) -> float:
    """One number of ``results/results.csv`` (NaN when the file or the row is missing)."""
    path = results / "results.csv"
    if not path.is_file():
        return math.nan
    columns = ("split", "task", "representation", "metric", "m_val", "variant")
    want = (
        EVAL_SPLIT,
        measure.task,
        measure.representation,
        measure.metric,
        "" if measure.m_val is None else str(measure.m_val),
        measure.variant,
    )
    with path.open(newline="") as f:
        for r in csv.DictReader(f):
            if tuple(r[c] for c in columns) == want:
                return float(r["value"])
    return math.nan


def collect(out: Path, seeds: int) -> Values:
    return {
        name: [read_measure(eval_dir(out, m.experiment, s), m) for s in range(seeds)]
        for name, m in MEASURES.items()
    }


def summarise(
    out: Path, suite_name: str, suite: Suite, seeds: int, stages: list[StageResult], wall: float
):
    """Judge the suite's claims; write results.json, figures and report.md; return the verdicts."""
    values = collect(out, seeds)
    classes = len(suite.synsets)
    claims = {cid: CLAIMS[cid] for cid in suite.claims}
    verdicts = {cid: judge(claim, values, classes) for cid, claim in claims.items()}
    payload = {
        "suite": suite_name,
        "seeds": seeds,
        "created": now(),
        "machine": _machine(),
        "wall_s": round(wall, 1),
        "eval_split": EVAL_SPLIT,
        "object_classes": classes,
        "experiments": list(suite.experiments),
        "claims": {
            cid: {
                "paper": c.paper,
                "paper_number": c.paper_number,
                "gate": c.gate,
                "status": verdicts[cid].status,
                "ours": verdicts[cid].ours,
                "why": verdicts[cid].why,
                "measures": {
                    m: {"per_seed": values[m], "mean": mean(values[m]), "std": std(values[m])}
                    for m in c.measures
                },
            }
            for cid, c in claims.items()
        },
        "stages": [
            {
                "name": r.name,
                "seconds": round(r.seconds, 1),
                "skipped": r.skipped,
                "command": r.command,
            }
            for r in stages
        ],
    }
    atomic_write_json(out / "results.json", _finite(payload))
    figures = _draw(out, values, claims)
    write_if_changed(out / "report.md", _markdown(payload, figures, out).encode())
    return verdicts


def _finite(obj):
    """NaN → None, so results.json is strict JSON."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def _machine() -> str:
    return (
        f"{platform.node() or 'unknown host'}: {os.cpu_count()} CPUs, {platform.machine()}, "
        f"Python {platform.python_version()}"
    )


FIGURE_MEASURES = {
    "C1": (("rot_r2_cond", "rot_r2_none"), 0.40, "rel. rotation R²"),
    "C2": (("top1_agg_m1", "top1_agg_m3", "top1_agg_m5", "top1_res"), 20.0, "top-1 (%)"),
    "C3": (("pi_full", "pi_no_actions", "pi_no_visual"), 0.50, "path-integration R² (M = 3)"),
    "C4": (("crop_r2_cond", "crop_r2_none", "jitter_r2_cond", "jitter_r2_none"), None, "R²"),
}


def _draw(out: Path, values: Values, claims) -> list[Path]:
    """A bar chart per gated claim: mean over seeds, seed std as error bars, the gate's line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for cid in (c for c in claims if c in FIGURE_MEASURES):
        names, line, label = FIGURE_MEASURES[cid]
        means = [mean(values[n]) for n in names]
        errs = [0.0 if math.isnan(std(values[n])) else std(values[n]) for n in names]
        fig, ax = plt.subplots(figsize=(1.4 * len(names) + 1.5, 3))
        ax.bar(range(len(names)), [0 if math.isnan(m) else m for m in means], yerr=errs)
        ax.set_xticks(range(len(names)), [n.replace("_", "\n", 1) for n in names], fontsize=7)
        if line is not None:
            ax.axhline(line, color="red", linestyle="--", linewidth=1, label="gate")
            ax.legend(fontsize=7)
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_ylabel(label)
        ax.set_title(f"{cid}: {CLAIMS[cid].paper}", fontsize=8)
        fig.tight_layout()
        path = folder / f"{cid}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def _markdown(payload: dict, figures: list[Path], out: Path) -> str:
    lines = [
        f"# seqjepa-repro: the paper's claims at CPU scale ({payload['suite']} suite)",
        "",
        f"- {payload['created']} on {payload['machine']}; {payload['seeds']} seed(s); "
        f"this invocation's wall time {payload['wall_s']:.0f} s",
        f"- every number is on held-out data (the `{EVAL_SPLIT}` split: unseen objects or "
        "unseen photos), heads fit on the train split; designs were chosen on the `tune` split",
        "",
        "| claim | paper | paper's number | ours (mean ± std over seeds) | gate | result |",
        "|---|---|---|---|---|---|",
    ]
    for cid, c in payload["claims"].items():
        result = c["status"] if c["status"] == "REPORTED" else f"**{c['status']}**"
        if c["status"] == "FAIL":
            result += f" ({c['why']})"
        lines.append(
            f"| {cid} | {c['paper']} | {c['paper_number']} | {c['ours']} | {c['gate']} | {result} |"
        )
    lines += ["", "## Figures", ""]
    lines += [f"![{p.stem}]({os.path.relpath(p, out)})" for p in figures]
    lines += [
        "",
        "## Experiments",
        "",
        "| experiment | what it is | per-seed evaluation reports |",
        "|---|---|---|",
    ]
    for name in payload["experiments"]:
        exp = EXPERIMENTS[name]
        reports = ", ".join(
            f"[s{s}]({os.path.relpath(eval_dir(out, name, s) / 'report.md', out)})"
            for s in range(payload["seeds"])
        )
        lines.append(f"| {name} | {exp.title} (`configs/repro/{exp.config}`) | {reports} |")
    lines += [
        "",
        "## Data",
        "",
        "- objects: the built-in procedural set (`seqjepa-prep render --shapenet builtin`), 10 "
        "classes × 20 objects rendered by Blender/Cycles; split by object: 0-11 train, 12-14 "
        "tune, 15-19 test",
        "- photos: sample photographs shipped inside registry packages, split by photo:",
        "",
        "| photo | package | file | licence | split |",
        "|---|---|---|---|---|",
    ]
    for name, p in PHOTOS.items():
        lines.append(f"| {name} | {p.package} | {p.file} | {p.licence} | {p.split} |")
    lines += [
        "",
        "## Stages (wall time and command)",
        "",
        "| stage | seconds | command |",
        "|---|---|---|",
    ]
    for st in payload["stages"]:
        when = f"{st['seconds']:.0f}" + (" (earlier run)" if st["skipped"] else "")
        cmd = f"`{st['command']}`" if st["command"] else "(Python step)"
        lines.append(f"| {st['name']} | {when} | {cmd} |")
    total = sum(st["seconds"] for st in payload["stages"])
    lines += [f"| **total** | **{total:.0f}** | |", ""]
    return "\n".join(lines)


__all__ = ["collect", "fmt", "read_measure", "summarise"]
