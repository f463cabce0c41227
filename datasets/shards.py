"""Plain, sequential access to one shard's samples (for verification, previews and tests).

The training loader streams shards through WebDataset; this reader exists for tools that must
see every member exactly as stored and report problems per shard and key.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path

from .schema import id_from_key, split_member_name


def iter_shard(path: str | Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """Yield (sample id, {member: bytes}) in stored order; raises tarfile/OSError on damage."""
    current, members = None, {}
    with tarfile.open(path) as tf:
        for info in tf:
            if not info.isfile():
                continue
            key, member = split_member_name(info.name)
            if key != current and current is not None:
                yield id_from_key(current), members
                members = {}
            current = key
            members[member] = tf.extractfile(info).read()
    if current is not None:
        yield id_from_key(current), members
