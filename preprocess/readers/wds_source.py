"""Image shards users already have in plain WebDataset form (e.g. public ImageNet releases).

Shards are indexed once by walking their tar headers (no image is decoded), recording for every
sample the image member's offset and size, so tasks read just those bytes: images are never
re-encoded unless a resize is asked for.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from seqjepa.datasets.schema import split_member_name

from .base import CorruptSample, Entry, FormatError, RawImage, Reader

_IMAGE_MEMBERS = ("jpg", "jpeg", "png", "webp", "ppm")


class WebDatasetSource(Reader):
    """``ROOT`` is a directory of ``*.tar`` shards (or ``ROOT/<split>/*.tar``); one split per
    sub-directory, or ``train`` when the shards lie directly in ROOT."""

    name = "webdataset"

    def __init__(self, root) -> None:
        super().__init__(root)
        self._shards = {}
        subdirs = sorted(p for p in self.root.iterdir() if p.is_dir() and any(p.glob("*.tar")))
        for d in subdirs:
            self._shards[d.name] = sorted(d.glob("*.tar"))
        if not self._shards and any(self.root.glob("*.tar")):
            self._shards["train"] = sorted(self.root.glob("*.tar"))
        if not self._shards:
            raise FormatError(f"{self.root} holds no *.tar shards (nor <split>/*.tar)")
        self._listing: dict[str, tuple[list[Entry], list[str]]] = {}

    def splits(self) -> list[str]:
        return list(self._shards)

    def source_files(self) -> list[Path]:
        return [p for shards in self._shards.values() for p in shards]

    def class_names(self) -> list[str]:
        labels = {e.label for s in self.splits() for e in self.entries(s) if e.label >= 0}
        return [str(i) for i in range(max(labels) + 1)] if labels else []

    def entries(self, split: str) -> list[Entry]:
        self.check_split(split)
        if split not in self._listing:
            self._listing[split] = self._index(split)
        return self._listing[split][0]

    def _index(self, split: str) -> tuple[list[Entry], list[str]]:
        samples: dict[str, dict] = {}
        for shard in self._shards[split]:
            try:
                with tarfile.open(shard) as tf:
                    for m in tf:
                        if not m.isfile():
                            continue
                        key, ext = split_member_name(m.name)
                        sample = samples.setdefault(key, {})
                        if ext.lower() in _IMAGE_MEMBERS:
                            sample["image"] = (str(shard), m.offset_data, m.size, ext.lower())
                        elif ext == "cls":
                            sample["cls"] = int(tf.extractfile(m).read().strip() or -1)
            except (tarfile.TarError, OSError) as exc:
                raise FormatError(f"{shard} is not a readable tar file: {exc}") from None
        entries = [
            Entry(key, s.get("cls", -1), s["image"]) for key, s in samples.items() if "image" in s
        ]
        return entries, [k for k, s in samples.items() if "image" not in s]

    def load(self, split: str, entry: Entry) -> RawImage:
        path, offset, size, ext = entry.ref
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read(size)
        except OSError as exc:
            raise CorruptSample(f"{path}@{offset}: {exc}") from None
        if len(data) != size:
            raise CorruptSample(f"{path}@{offset}: truncated member")
        return RawImage(data=data, ext={"jpeg": "jpg"}.get(ext, ext), meta={"source": path})
