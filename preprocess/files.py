"""Crash-safe file writing, shared by every preprocessing job.

A file is written to a hidden sibling (named with the process id, so concurrent writers never
collide), fsynced and renamed: readers see the old file or the complete new one, never a part.
"""

from __future__ import annotations

import json
import os
from os import PathLike
from pathlib import Path
from typing import Any


def atomic_write(path: str | PathLike, data: bytes) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_json(path: str | PathLike, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=1, sort_keys=True).encode())


def write_if_changed(path: str | PathLike, data: bytes) -> bool:
    """:func:`atomic_write` unless ``path`` already holds ``data`` (idempotent re-runs keep
    files and their times); True when it wrote."""
    path = Path(path)
    if path.is_file() and path.read_bytes() == data:
        return False
    atomic_write(path, data)
    return True
