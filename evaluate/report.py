"""The Markdown report: protocol, our numbers with the paper's beside them, timings, figures.

The paper's numbers are matched on dataset, action conditioning and (where the paper has it)
the training sequence length M_tr, then per row on task, representation, metric and M_val. They
come from full-scale training, so next to a small or short run they are a target, not a
comparison.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seqjepa.train.config import config_from_dict

from .paper import PaperNumber, conditioning_of, paper_numbers
from .results import read_table

REPORT = "report.md"

NOTES = (
    "R² is given twice. `r2_sklearn` is scikit-learn's `r2_score`, which takes one R² per "
    "output dimension and averages them; the seq-JEPA authors' code computes this one, so the "
    "paper's R² column compares with it. `r2_global` is SIE's variant, which uses a single mean "
    "over all target elements. It gives different numbers, so SIE's published R² compares with "
    "it.",
    "Every feature is extracted with the model in eval mode: BatchNorm uses its running "
    "statistics and dropout is off. The authors' offline evaluation trained its heads with the "
    "model in train mode, which is a bug: the frozen encoder's BatchNorm statistics drifted and "
    "the aggregator's dropout was active.",
    "Evaluation sequences are fixed and seeded (see the protocol), and the heads are trained on "
    "the train split's features and scored on the eval split. The M_val sweep uses prefixes of "
    "one sequence.",
)
# Notes that apply only when the table has rows of a task (or OOD splits).
TASK_NOTES = {
    "rel_rotation": "Quaternion targets are canonical (w ≥ 0) unless the run used `--conventions "
    "paper`. The authors kept scipy's raw sign, which flips for about 4% of in-distribution "
    "relative rotations and for about half of the paper's OOD ones. `rot_err_deg` (the mean "
    "geodesic angle between predicted and true rotation) does not depend on the sign.",
    "retrieval": "MRR/Hit@k follow SIE's protocol, adapted to seq-JEPA (the paper does not say "
    "how it adapted it). The context z_AGG is built from each object's first M_val stored views. "
    "Every stored view e is then predicted from the last context view with the action to e, and "
    "ranked among the target-encoder outputs of all the object's views. Ties count against the "
    "query.",
    "ood": "The paper's `paper-ood` rotations are the same SO(3) distribution as the training "
    "rotations: only their Euler labels and quaternion signs differ. `so3-ood` holds rotations "
    "that training never reaches.",
    "path_integration": "Path integration has no table in the paper (Figure 6 only), so no "
    "paper numbers appear beside it.",
}


def _fmt(metric: str, value: float) -> str:
    return f"{value:.2f}" if metric == "top1" else f"{value:.3f}"


def _matches(p: PaperNumber, row, ood: bool) -> bool:
    return (
        p.ood == ood
        and p.task == row.task
        and p.representation == row.representation
        and p.metric == row.metric
        and (p.m_val is None or (not pd.isna(row.m_val) and p.m_val == row.m_val))
    )


def _paper_cell(numbers: list[PaperNumber], row, ood: bool) -> str:
    found = [p for p in numbers if _matches(p, row, ood)]
    return "; ".join(f"{_fmt(p.metric, p.value)} (M_tr={p.m_tr}, {p.source})" for p in found) or "–"


def _results_table(frame: pd.DataFrame, numbers: list[PaperNumber], ood: bool) -> list[str]:
    lines = [
        "| task | representation | M_val | probe | metric | ours | paper (same conditioning) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in frame.itertuples():
        m = "" if pd.isna(row.m_val) else str(row.m_val)
        lines.append(
            f"| {row.task} | {row.representation} | {m} | {row.probe or '–'} | {row.metric} | "
            f"{_fmt(row.metric, row.value)} | {_paper_cell(numbers, row, ood)} |"
        )
    return lines


def _path_integration(frame: pd.DataFrame) -> list[str]:
    pivot = frame.pivot_table(index="m_val", columns=["metric", "variant"], values="value")
    metrics = list(dict.fromkeys(frame.metric))
    variants = list(dict.fromkeys(frame.variant))
    header = "| M | " + " | ".join(f"{m} ({v})" for m in metrics for v in variants) + " |"
    lines = [header, "|---" * (1 + len(metrics) * len(variants)) + "|"]
    for m, values in pivot.iterrows():
        cells = [_fmt(metric, values[(metric, v)]) for metric in metrics for v in variants]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def render(payload: dict, table: pd.DataFrame) -> str:
    ck, data, proto = payload["checkpoint"], payload["data"], payload["protocol"]
    cfg = config_from_dict(ck["config"], "checkpoint")
    conditioning = conditioning_of(cfg)
    numbers = paper_numbers(data["dataset"], conditioning, cfg.data.seq_len, cfg.method)
    lines = [
        "# seqjepa-eval report",
        "",
        f"- checkpoint: `{ck['path']}` (sha256 {ck['sha256'][:12]}, step {ck['step']})",
        f"- method {ck['method']}, setting {data['setting']}, dataset {data['dataset']}, "
        f"action conditioning: {conditioning}, M_tr = {cfg.data.seq_len}",
        f"- shards `{data['shards']}`: train split `{data['train_split']}` "
        f"({data['n_train']} sequences), eval split `{data['eval_split']}` "
        f"({data['n_eval']} sequences), {len(data['class_names'])} classes",
    ]
    if proto["quick"]:
        lines += [
            "",
            "> **Quick mode**: every head was trained for a few epochs only. These "
            "numbers are a smoke test, not the paper's protocol.",
        ]
    heads = proto["heads"]
    lines += [
        "",
        "## Protocol",
        "",
        f"- M_val sweep: {', '.join(map(str, proto['m_vals']))}; seed {proto['seed']}; "
        f"target conventions: {proto['conventions']}; device {proto['device']}",
        f"- sequences: {_draws(proto)}; {proto['sampling']}",
        f"- model: {proto['model_mode']}",
        f"- heads (Adam, lr 1e-3, batch {heads['batch_size']}): linear classifier "
        f"{heads['classifier_epochs']} epochs, MLP regressors (2×1024, ReLU) "
        f"{heads['mlp_epochs']} epochs, linear regressors {heads['linear_epochs']} epochs",
        "",
        f"Paper numbers are taken from the rows for {data['dataset']} with {conditioning} "
        "conditioning (the same M_tr where the paper has it). They come from full-scale "
        "training (1000-2000 epochs, batch 512).",
        "",
    ]
    if not numbers:
        lines += ["The paper reports no numbers for this dataset and conditioning.", ""]
    main = table[(table.task != "path_integration")]
    for split, frame in main.groupby("split", sort=False):
        ood = split.startswith("ood:")
        lines += [f"## Results: {'OOD ' if ood else ''}`{split}`", ""]
        lines += [*_results_table(frame, numbers, ood), ""]
    pi = table[table.task == "path_integration"]
    if not pi.empty:
        lines += [f"## Path integration: `{pi.split.iloc[0]}`", ""]
        lines += [
            "The heads are trained on intact train features and scored on eval features that "
            "are intact, have every action embedding zeroed, or have every encoder output "
            "zeroed.",
            "",
        ]
        lines += [*_path_integration(pi), ""]
    lines += ["## Timings (seconds)", "", "| step | s |", "|---|---|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in payload["timings_s"].items()]
    lines += ["", "## Notes", ""]
    present = set(table.task) | ({"ood"} if table.split.str.startswith("ood:").any() else set())
    notes = [*NOTES, *(n for task, n in TASK_NOTES.items() if task in present), *payload["notes"]]
    lines += [f"- {n}" for n in notes]
    if payload.get("figures"):
        lines += ["", "## Figures", ""]
        lines += [f"![{Path(f).stem}]({f})" for f in payload["figures"]]
    return "\n".join(lines) + "\n"


def write_report(out: Path, payload: dict) -> Path:
    path = out / REPORT
    path.write_text(render(payload, read_table(out)))
    return path


def _draws(proto: dict) -> str:
    n = proto.get("sequences_per_sample", 1)
    fresh = " (a fresh draw each head epoch)" if proto.get("fresh_per_epoch") else ""
    scored = proto.get("eval_sequences_per_sample", 1)
    return f"{n} per train sample{fresh}, {scored} per scored sample"
