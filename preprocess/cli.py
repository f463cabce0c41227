"""`seqjepa-prep`: raw data to WebDataset shards (render, saliency, shard, verify, preview)."""

from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


@app.callback()
def main() -> None:
    """Prepare data for seq-JEPA training."""
