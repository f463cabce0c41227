"""Resumable chains of commands: the runner behind ``make demo`` and ``seqjepa-repro``.

A stage is one seqjepa command (or a Python step). When it finishes, a marker
``OUT/.stages/<name>.json`` records what ran (its key: by default the command line) and how long
it took; a later run skips a stage whose marker holds the same key. Every command is also
resumable on its own (render skips finished objects, shard keeps finished shards, train resumes
from ``latest.pt``, eval reuses cached features), so an interrupted stage restarts cheaply.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from seqjepa.preprocess.files import atomic_write_json


class StageError(RuntimeError):
    """A stage failed; the message says which and how to continue."""


def tool(name: str) -> str:
    """The seqjepa command next to this interpreter (the venv's), else the one on PATH."""
    local = Path(sys.executable).parent / name
    if local.is_file():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise StageError(f"{name} not found; install seqjepa (`make demo` does) or activate .venv")
    return found


def command(executable: str, template: str, *extra: str, **values) -> list[str]:
    """``executable`` + ``template`` split like a shell line, ``{name}`` filled with quoted
    values, then ``extra`` arguments."""
    quoted = {k: shlex.quote(str(v)) for k, v in values.items()}
    return [executable, *shlex.split(template.format(**quoted)), *extra]


def relative(path: Path) -> str:
    """``path`` relative to the working directory where it lies under it (shorter to print)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass
class Stage:
    name: str  # e.g. "objects/render"; also the marker name
    title: str
    argv: list[str] | None = None  # a seqjepa command, or None for a Python step
    step: object = None  # callable() for Python steps
    key: list[str] = field(default_factory=list)  # what the marker must match (default: argv)


@dataclass
class StageResult:
    name: str
    title: str
    command: str
    seconds: float  # wall time when it ran (the earlier run's when skipped)
    skipped: bool


class Runner:
    """Runs stages in order; a stage whose marker holds the same key is skipped.

    ``rerun_hint`` ends the error message of a failed stage (what command continues the job).
    """

    def __init__(self, out: Path, env: dict[str, str], rerun_hint: str, echo=print) -> None:
        self.out = out
        self.env = env
        self.rerun_hint = rerun_hint
        self.echo = echo
        self.results: list[StageResult] = []

    def marker(self, name: str) -> Path:
        return self.out / ".stages" / (name.replace("/", "__") + ".json")

    def run(self, stage: Stage, index: int, total: int) -> StageResult:
        key = stage.key or stage.argv or [stage.name]
        shown = " ".join(shlex.quote(a) for a in _display(stage.argv)) if stage.argv else ""
        marker = self.marker(stage.name)
        done = _read_json(marker)
        if done is not None and done.get("key") == key:
            result = StageResult(stage.name, stage.title, shown, done["seconds"], True)
            self.echo(f"[{index}/{total}] {stage.title}: done earlier ({done['seconds']:.0f} s)")
            self.results.append(result)
            return result
        self.echo(f"[{index}/{total}] {stage.title}")
        if shown:
            self.echo(f"  $ {shown}")
        start = time.perf_counter()
        if stage.argv is not None:
            code = call(stage.argv, self.env)
            if code != 0:
                raise StageError(
                    f"stage {stage.name} failed (exit {code}); fix the cause and re-run "
                    f"{self.rerun_hint} to continue from it (rm -rf {relative(self.out)} "
                    "starts over)"
                )
        else:
            stage.step()
        seconds = time.perf_counter() - start
        marker.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(marker, {"key": key, "seconds": seconds, "finished": now()})
        self.echo(f"  done in {seconds:.0f} s")
        result = StageResult(stage.name, stage.title, shown, seconds, False)
        self.results.append(result)
        return result


def _display(argv: list[str]) -> list[str]:
    return [Path(argv[0]).name, *argv[1:]]


def call(argv: list[str], env: dict | None, grace: float = 120.0) -> int:
    """Run a command; on Ctrl-C let it finish its own SIGINT handling (the trainer saves a
    checkpoint, the render job records finished objects) before passing the interrupt on."""
    proc = subprocess.Popen(argv, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        try:  # the child got the same SIGINT: it is in our process group
            proc.wait(timeout=grace)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.kill()
            proc.wait()
        raise


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
