"""Deterministic, atomic tar writing.

Members carry fixed metadata (mtime 0, root owner, mode 0444) in GNU format, so the same samples
always give byte-identical shards. The tar is written to ``<name>.tmp``, hashed while written,
fsynced, and only then renamed: a crash never leaves a truncated shard under a final name.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Iterable
from pathlib import Path

from seqjepa.datasets.schema import ShardInfo, key_from_id


class _HashingFile:
    def __init__(self, f) -> None:
        self._f = f
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self._f.write(data)

    def tell(self) -> int:
        return self.size


def write_tar(path: Path, samples: Iterable[tuple[str, dict[str, bytes]]]) -> ShardInfo:
    """Write ``(sample id, {member: bytes})`` pairs, members sorted, to ``path`` atomically."""
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    try:
        with open(tmp, "wb") as f:
            hashing = _HashingFile(f)
            with tarfile.open(fileobj=hashing, mode="w", format=tarfile.GNU_FORMAT) as tf:
                for sid, members in samples:
                    key = key_from_id(sid)
                    for name in sorted(members):
                        data = members[name]
                        info = tarfile.TarInfo(f"{key}.{name}")
                        info.size, info.mtime, info.mode = len(data), 0, 0o444
                        info.uid = info.gid = 0
                        info.uname = info.gname = ""
                        tf.addfile(info, io.BytesIO(data))
                    count += 1
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return ShardInfo(path.name, count, hashing.size, hashing.sha.hexdigest())
