"""`seqjepa-prep verify DIR`: prove a shard directory is sound, or say exactly what is not.

Recomputes every shard's size and sha256 against the index, decodes every member (images fully,
each view packed in an object's ``views.bin`` too; ``.npy`` without pickle, ``cls`` as an
integer, ``json`` as JSON), checks each sample has the members its kind requires, and compares
sample counts with the index.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from seqjepa.datasets import schema
from seqjepa.datasets.schema import sha256_file
from seqjepa.datasets.shards import iter_shard


def _check_member(name: str, data: bytes) -> None:
    ext = name.rsplit(".", 1)[-1]
    if ext in schema.IMAGE_EXTS:
        Image.open(io.BytesIO(data)).load()
    elif name.endswith(".npy"):
        schema.decode_npy(data)
    elif name == schema.CLS:
        int(data)
    elif name == schema.META:
        json.loads(data)
    elif name == schema.VIEWS:
        for view in schema.object_views({name: data}):
            Image.open(io.BytesIO(view)).load()


def _required(kind: str, members: dict[str, bytes]) -> str | None:
    if schema.CLS not in members or schema.META not in members:
        return "lacks cls or json"
    if kind == "objects":
        try:
            views = schema.object_views(members)
        except ValueError:
            views = []
        if schema.LATENTS not in members or not views:
            return "lacks views or latents.npy"
        if schema.decode_npy(members[schema.LATENTS]).shape != (len(views), 7):
            return f"latents.npy does not hold {len(views)}x7 values"
    elif not any(m in members for m in schema.IMAGE_EXTS):
        return "lacks an image member"
    return None


def verify_shards(
    directory: str | Path, on_shard: Callable[[str], None] | None = None
) -> list[str]:
    """Return a list of problems (empty when the directory is sound)."""
    directory = Path(directory)
    try:
        index = schema.DatasetIndex.read(directory)
    except (FileNotFoundError, ValueError, KeyError, TypeError) as exc:
        return [str(exc)]
    problems = []
    for info in index.splits.values():
        for shard in info.shards:
            path = directory / shard.name
            if on_shard:
                on_shard(shard.name)
            if not path.is_file():
                problems.append(f"{path}: missing")
                continue
            if path.stat().st_size != shard.bytes:
                problems.append(f"{path}: {path.stat().st_size} bytes, index says {shard.bytes}")
            elif sha256_file(path) != shard.sha256:
                problems.append(f"{path}: sha256 differs from the index (corrupt)")
            count = 0
            try:
                for sid, members in iter_shard(path):
                    count += 1
                    for name, data in members.items():
                        try:
                            _check_member(name, data)
                        except Exception as exc:  # any decode failure is a finding, not a crash
                            problems.append(f"{path}: {sid}.{name}: undecodable ({exc})")
                    missing = _required(index.kind, members)
                    if missing:
                        problems.append(f"{path}: {sid} {missing}")
            except (tarfile.TarError, OSError, EOFError) as exc:
                problems.append(f"{path}: unreadable tar after {count} samples ({exc})")
                continue
            if count != shard.samples:
                problems.append(f"{path}: {count} samples, index says {shard.samples}")
    return problems
