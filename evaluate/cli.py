"""`seqjepa-eval`: evaluate a checkpoint: probes, R², retrieval, path integration, figures."""

from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


@app.callback()
def main() -> None:
    """Evaluate trained seq-JEPA models."""
