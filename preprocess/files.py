"""Crash-safe file writing and hashing, shared by every preprocessing job.

A file is written to a hidden sibling (named with the process id, so concurrent writers never
collide), fsynced and renamed: readers see the old file or the complete new one, never a part.
"""

from __future__ import annotations

import hashlib
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


def sha256_file(path: str | PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file read in 1 MiB chunks (shards and checkpoints are large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
