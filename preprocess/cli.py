"""`seqjepa-prep`: raw data to WebDataset shards (render, saliency, shard, verify, preview)."""

from __future__ import annotations

from pathlib import Path

import typer

from .cli_errors import cli_error
from .render.cli import render
from .saliency_cli import saliency_command, serve_command

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
app.command("render")(render)
app.command("saliency")(saliency_command)
app.command("serve")(serve_command)


@app.callback()
def main() -> None:
    """Prepare data for seq-JEPA training."""


@app.command()
def shard(
    dataset: str = typer.Argument(
        ...,
        help="Raw format: 3diebench, stl10, cifar100, tinyimagenet, imagenet, imagefolder or "
        "webdataset.",
    ),
    root: Path = typer.Option(..., help="Root of the raw data."),
    out: Path = typer.Option(..., help="Output directory for shards and index.json."),
    split: list[str] = typer.Option(None, help="Split(s) to shard; default: every split found."),
    size: int = typer.Option(None, help="Resize the shorter side to this many pixels."),
    saliency: Path = typer.Option(
        None, help="Saliency store from `seqjepa-prep saliency` to join."
    ),
    shard_size: int = typer.Option(None, help="Samples per shard (default: sized automatically)."),
    quality: int = typer.Option(95, help="JPEG quality when re-encoding."),
    pixels: str = typer.Option(
        "ppm",
        help="Format of decoded pixels (stl10, cifar100): ppm (uncompressed, fast to load) "
        "or png (lossless, smaller shards).",
    ),
    seed: int = typer.Option(0, help="Seed of the write-time shuffle."),
    shuffle: bool = typer.Option(True, help="Pre-shuffle samples across shards."),
    name: str = typer.Option(None, help="Dataset name used in sample ids (default: the format)."),
    splits_dir: Path = typer.Option(None, help="3diebench: folder with *_images.npy split files."),
    val_labels: Path = typer.Option(None, help="imagenet: LOC_val_solution.csv for a flat val/."),
    workers: int = typer.Option(None, help="Local Ray CPUs (0 = run in this process)."),
    address: str = typer.Option(None, help="Ray cluster address (default: local Ray)."),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Write a raw dataset as WebDataset shards with an index (resumable, deterministic)."""
    from .readers import FormatError
    from .readers.open import open_reader
    from .saliency_store import SaliencyStore
    from .shard import ShardError, ShardOptions, shard_dataset

    if (size is not None and size < 1) or (shard_size is not None and shard_size < 1):
        raise cli_error("--size and --shard-size must be positive") from None
    if not 1 <= quality <= 100:
        raise cli_error("--quality must be in 1..100") from None
    try:
        reader = open_reader(dataset, root, split, splits_dir, val_labels)
        store = SaliencyStore(saliency) if saliency else None
        options = ShardOptions(
            size=size,
            quality=quality,
            pixels=pixels,
            shard_size=shard_size,
            seed=seed,
            shuffle=shuffle,
        )
        index = shard_dataset(
            reader, out, split or None, options, store, name, workers, address, progress
        )
    except (FormatError, ShardError, FileNotFoundError, ValueError) as exc:
        raise cli_error(str(exc)) from None
    for split_name, info in index.splits.items():
        typer.echo(
            f"{split_name}: {info.samples} samples in {len(info.shards)} shards"
            + (
                f", {info.skipped} unreadable samples skipped (see {out}/skipped.json)"
                if info.skipped
                else ""
            )
        )


@app.command()
def verify(directory: Path = typer.Argument(..., help="Shard directory to check.")) -> None:
    """Recompute checksums and counts and decode every member; exit 1 if anything is wrong."""
    from .shard import verify_shards

    problems = verify_shards(directory)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        typer.echo(f"{directory}: {len(problems)} problem(s)", err=True)
        raise typer.Exit(1)
    typer.echo(f"{directory}: sound")


@app.command("preview")
def preview_command(
    directory: Path = typer.Argument(..., help="Shard directory."),
    out: Path = typer.Option(Path("preview.png"), help="Output PNG."),
    split: str = typer.Option(None, help="Split to show (default: the first)."),
    count: int = typer.Option(8, help="Number of samples."),
) -> None:
    """Draw a grid of a few samples (views with rotations, or images with saliency)."""
    from .shard import preview

    try:
        path = preview(directory, out, split, count)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise cli_error(str(exc).strip("'\"")) from None
    typer.echo(f"wrote {path}")


if __name__ == "__main__":
    app()
