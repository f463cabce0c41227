"""Which long options a seqjepa command accepts, read from its real ``--help`` output.

Used by the Docker and demo tests to check that every command they ship (compose services, the
suites' stages) only names options that exist. ``--help`` runs once per (tool, subcommand) per
session, several at a time, with a wide terminal so that rich does not truncate option names.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

BIN = Path(sys.executable).parent
SUBCOMMANDS = {"seqjepa-prep": True, "seqjepa-eval": True, "seqjepa-train": False}
_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def command_key(argv: list[str]) -> tuple[str, ...]:
    """(tool,) or (tool, subcommand) of a seqjepa command line (tool may be a path)."""
    tool = Path(argv[0]).name
    if SUBCOMMANDS.get(tool):
        return (tool, argv[1])
    return (tool,)


def long_options(argv: list[str]) -> set[str]:
    """The ``--options`` a command line uses (``--key=value`` → ``--key``)."""
    return {a.split("=", 1)[0] for a in argv if a.startswith("--")}


@cache
def help_options(key: tuple[str, ...]) -> frozenset[str]:
    env = {**os.environ, "COLUMNS": "400", "TERM": "dumb", "NO_COLOR": "1"}
    proc = subprocess.run(
        [str(BIN / key[0]), *key[1:], "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"{' '.join(key)} --help failed: {proc.stderr[-2000:]}"
    return frozenset(_OPTION.findall(proc.stdout))


def prefetch(keys) -> None:
    """Run the ``--help`` of several commands concurrently (each imports torch/ray: seconds)."""
    todo = sorted(set(keys))
    with ThreadPoolExecutor(max_workers=min(4, len(todo) or 1)) as pool:
        list(pool.map(help_options, todo))


def unknown_options(argv: list[str]) -> set[str]:
    return long_options(argv) - help_options(command_key(argv))
