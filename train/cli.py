"""`seqjepa-train`: train a registered method from a YAML config plus `key=value` overrides."""

from __future__ import annotations

from pathlib import Path

import typer

from .config import ConfigError, load_config

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    overrides: list[str] = typer.Argument(
        None, help="Config overrides such as optim.epochs=10 data.batch_size=64."
    ),
    config: Path = typer.Option(None, "--config", "-c", help="YAML preset, e.g. configs/*.yaml."),
    shards: Path = typer.Option(None, help="Directory of shards from `seqjepa-prep shard`."),
    out: Path = typer.Option(
        Path("runs/latest"), help="Run directory (config, logs, checkpoints)."
    ),
    progress: bool = typer.Option(True, help="Show a progress bar."),
) -> None:
    """Train on shards (or the built-in synthetic set) and write logs to the run directory."""
    extra = list(overrides or [])
    if shards is not None:
        extra.append(f"data.shards={shards}")
    try:
        cfg = load_config(config, extra)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    from .trainer import Trainer  # heavy imports only once the config is valid

    try:
        history = Trainer(cfg, out).fit(progress=progress)
    except (ValueError, NotImplementedError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if history:
        first, last = history[0], history[-1]
        typer.echo(
            f"trained {last.step + 1} steps: loss {first.loss:.4f} -> {last.loss:.4f}; run in {out}"
        )
