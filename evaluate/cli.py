"""`seqjepa-eval`: evaluate a checkpoint: probes, R², retrieval, path integration, figures."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


def parse_m_vals(values: list[str] | None) -> tuple[int, ...] | None:
    """``--m-val 1,3,5`` or ``--m-val 1 --m-val 3`` → (1, 3, 5)."""
    if not values:
        return None
    try:
        return tuple(int(v) for text in values for v in text.replace(",", " ").split())
    except ValueError:
        raise typer.BadParameter(f"M_val must be integers, got {values}") from None


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@app.command()
def run(
    checkpoint: Path = typer.Argument(..., help="A seqjepa-train checkpoint (e.g. RUN/latest.pt)."),
    shards: Path = typer.Option(..., "--shards", help="Shard directory (seqjepa-prep shard)."),
    train_split: str = typer.Option(..., "--train-split", help="Split the heads are fit on."),
    eval_split: str = typer.Option(..., "--eval-split", help="Split the heads are scored on."),
    out: Path = typer.Option(..., "--out", help="Results directory."),
    ood_shards: list[Path] = typer.Option(
        None, "--ood-shards", help="Rendered OOD shard directory (repeatable; every split in it)."
    ),
    m_val: list[str] = typer.Option(
        None,
        "--m-val",
        help="Inference sequence lengths, e.g. 1,3,5 (default: 1, 3, 5, M_tr, M_tr+2 and the "
        "run's data.eval_seq_len, within the views the objects store).",
    ),
    probe_epochs: int = typer.Option(300, min=1, help="Linear classifier epochs (paper: 300)."),
    mlp_epochs: int = typer.Option(300, min=1, help="MLP regressor epochs (paper: 300)."),
    linear_epochs: int = typer.Option(50, min=1, help="Linear regressor epochs (paper: 50)."),
    batch_size: int = typer.Option(256, min=1, help="Head training batch size (paper: 256)."),
    seed: int = typer.Option(0, help="Seeds the evaluation sequences and the heads."),
    conventions: str = typer.Option(
        "canonical", help="Regression targets: canonical (w >= 0, wrapped hues) or paper."
    ),
    device: str = typer.Option("auto", help="auto, cpu, cuda or cuda:N."),
    workers: int = typer.Option(0, min=0, help="Loader worker processes for feature extraction."),
    extract_batch_size: int = typer.Option(64, min=1, help="Sequences per encoder batch."),
    sequences_per_sample: int = typer.Option(
        None,
        min=1,
        help="Seeded train-split sequences per sample; head epoch e trains on draw e mod N "
        "(1: one fixed, cached sequence). Default: a fresh draw every head epoch, as the paper.",
    ),
    eval_sequences_per_sample: int = typer.Option(
        1, min=1, help="Seeded sequences per sample of the scored splits (more: less noise)."
    ),
    cache_dir: Path = typer.Option(None, help="Feature cache (default: OUT/cache)."),
    mrr_max_objects: int = typer.Option(
        None, help="Use only the first N eval objects for MRR/Hit@k (default: all)."
    ),
    quick: bool = typer.Option(False, "--quick", help="10 epochs per head: a smoke test."),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="Draw the PNG figures."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars."),
) -> None:
    """Evaluate CHECKPOINT on shards: table, JSON, Markdown report and figures in --out."""
    from .loading import EvalError
    from .pipeline import EvalOptions, evaluate
    from .tasks import HeadSettings

    try:
        heads = HeadSettings(
            classifier_epochs=probe_epochs,
            mlp_epochs=mlp_epochs,
            linear_epochs=linear_epochs,
            batch_size=batch_size,
            seed=seed,
        )
        opts = EvalOptions(
            checkpoint=checkpoint,
            shards=shards,
            train_split=train_split,
            eval_split=eval_split,
            out=out,
            ood_shards=tuple(ood_shards or ()),
            m_vals=parse_m_vals(m_val),
            heads=heads,
            conventions=conventions,
            device=device,
            workers=workers,
            extract_batch_size=extract_batch_size,
            sequences_per_sample=sequences_per_sample,
            eval_sequences_per_sample=eval_sequences_per_sample,
            cache_dir=cache_dir,
            mrr_max_objects=mrr_max_objects,
            quick=quick,
            draw_figures=figures,
            progress=progress,
        )
        payload = evaluate(opts)
    except EvalError as exc:
        raise _fail(str(exc)) from None
    total = sum(payload["timings_s"].values())
    typer.echo(f"wrote {out}/report.md, results.parquet/.csv, results.json ({total:.1f} s)")


@app.command("figures")
def figures_cmd(
    results: Path = typer.Argument(..., help="A results directory written by `seqjepa-eval run`."),
) -> None:
    """Redraw the figures and the report of a results directory from its cached features."""
    from . import figures, report
    from .cache import load_arrays
    from .features import SequenceFeatures
    from .results import read_json, write_json

    try:
        payload = read_json(results)
        cache = Path(payload["cache"]["eval"]["path"])
        if not cache.is_file():
            raise FileNotFoundError(f"cached features {cache} are gone; re-run `seqjepa-eval run`")
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from None
    payload["figures"] = figures.draw_all(results, payload, load_arrays(SequenceFeatures, cache))
    report.write_report(results, payload)
    write_json(payload, results)
    typer.echo(f"redrew {len(payload['figures'])} figures and {results}/report.md")


if __name__ == "__main__":
    app()
