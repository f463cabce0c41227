"""The one way `seqjepa-prep` commands report bad input: one line on stderr, a non-zero exit."""

from __future__ import annotations

import typer


def cli_error(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message``; return the Exit to raise: ``raise cli_error(...) from None``."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
