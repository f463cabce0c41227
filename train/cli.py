"""`seqjepa-train`: train a registered method from a YAML config plus `key=value` overrides."""

from __future__ import annotations

from pathlib import Path

import typer

from seqjepa.model import METHODS

from .config import ConfigError, load_config

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    overrides: list[str] = typer.Argument(
        None, help="Config overrides such as optim.epochs=10 data.batch_size=64."
    ),
    config: Path = typer.Option(None, "--config", "-c", help="YAML preset, e.g. configs/*.yaml."),
    method: str = typer.Option(
        None,
        help=f"Train this registered method ({', '.join(sorted(METHODS))}) on the preset's "
        "data, with the optimiser the paper used for it; key=value overrides still apply on top.",
    ),
    shards: Path = typer.Option(None, help="Directory of shards from `seqjepa-prep shard`."),
    out: Path = typer.Option(
        Path("runs/latest"), help="Run directory (config, logs, checkpoints)."
    ),
    progress: bool = typer.Option(True, help="Show a progress bar."),
    resume: bool = typer.Option(
        True, help="Continue the run in --out from latest.pt when its config matches."
    ),
    workers: int = typer.Option(0, help="Ray Train workers (0: train in this process/torchrun)."),
    ray_address: str = typer.Option(
        None, help="Ray cluster address for Ray Train (default: local)."
    ),
    cpus_per_worker: float = typer.Option(
        1.0, help="CPUs per Ray Train worker (fractions allowed)."
    ),
    gpus_per_worker: float = typer.Option(0.0, help="GPUs per Ray Train worker."),
) -> None:
    """Train on shards (or the built-in synthetic set) and write logs to the run directory."""
    extra = list(overrides or [])
    if shards is not None:
        extra.append(f"data.shards={shards}")
    try:
        cfg = load_config(config, extra, method=method)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        if workers > 0 or ray_address:
            from .ray_launcher import fit_with_ray

            fit_with_ray(
                cfg,
                out,
                workers=max(1, workers),
                address=ray_address,
                cpus_per_worker=cpus_per_worker,
                gpus_per_worker=gpus_per_worker,
                resume=resume,
            )
            typer.echo(f"Ray Train run finished; run in {out}")
            return
        from .trainer import Trainer  # heavy imports only once the config is valid

        trainer = Trainer(cfg, out, resume=resume)
        history = trainer.fit(progress=progress)
    except (ValueError, FileNotFoundError, KeyError) as exc:
        typer.echo(f"error: {str(exc).strip(chr(34) + chr(39))}", err=True)
        raise typer.Exit(2) from None
    if trainer.step < trainer.total_steps:
        typer.echo(f"stopped at step {trainer.step}; saved {out}/latest.pt (re-run to resume)")
    elif history:
        first, last = history[0], history[-1]
        typer.echo(
            f"trained to step {last.step + 1}: loss {first.loss:.4f} -> {last.loss:.4f}; "
            f"run in {out}"
        )
    else:
        typer.echo(f"{out} is already trained to step {trainer.step}; nothing to do")


if __name__ == "__main__":
    app()
