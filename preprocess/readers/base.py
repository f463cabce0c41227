"""What every raw-format reader provides.

A reader validates its root on construction (a wrong or missing layout is a :class:`FormatError`),
lists cheap, picklable :class:`Entry` pointers per split on the driver, and loads one entry at a
time inside the shard-writing tasks. A source file that turns out to be unreadable is a
:class:`CorruptSample`: it is skipped and counted, never fatal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


class FormatError(ValueError):
    """The root is missing or is not the named raw format."""


class CorruptSample(Exception):
    """One source sample cannot be read; the writer skips and counts it."""


@dataclass(frozen=True)
class Entry:
    key: str  # the <key> part of the sample id
    label: int  # -1 when unlabelled
    ref: Any  # reader-specific pointer: a path, a record index, (tar, offset, size), ...


@dataclass
class RawImage:
    """One image: either encoded ``data`` (copied verbatim when possible) or decoded ``pixels``."""

    data: bytes | None = None
    ext: str | None = None  # "jpg", "png", "webp" when ``data`` is given
    pixels: np.ndarray | None = None  # HxWx3 uint8 RGB
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class RawObject:
    """One object of 3DIEBench (or a render): encoded views with their latent vectors."""

    views: list[bytes]
    view_ids: list[int]
    latents: np.ndarray  # (K, 7)
    meta: dict[str, Any] = field(default_factory=dict)


class Reader:
    name: ClassVar[str]
    kind: ClassVar[str] = "images"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.exists():
            raise FormatError(f"{self.root} does not exist; pass the {self.name} root with --root")

    def splits(self) -> list[str]:
        raise NotImplementedError

    def class_names(self) -> list[str]:
        raise NotImplementedError

    def entries(self, split: str) -> list[Entry]:
        raise NotImplementedError

    def load(self, split: str, entry: Entry) -> RawImage | RawObject:
        raise NotImplementedError

    def source_files(self) -> list[Path]:
        """The files whose sizes and mtimes fingerprint the source (small index files)."""
        return []

    def fingerprint(self) -> dict[str, Any]:
        h = hashlib.sha256()
        for path in sorted(self.source_files()):
            st = path.stat()
            # Files outside the root (e.g. a separate split-file folder) count by absolute path.
            name = path.relative_to(self.root) if path.is_relative_to(self.root) else path.resolve()
            h.update(f"{name}:{st.st_size}:{int(st.st_mtime)}".encode())
        return {"format": self.name, "root": str(self.root.resolve()), "files": h.hexdigest()}

    def check_split(self, split: str) -> None:
        if split not in self.splits():
            raise FormatError(
                f"split {split!r} does not exist in {self.root}; "
                f"{self.name} has: {', '.join(self.splits())}"
            )


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CorruptSample(f"{path}: {exc.strerror or exc}") from None


def image_ext(path: Path) -> str:
    ext = path.suffix.lower().lstrip(".")
    return {"jpeg": "jpg"}.get(ext, ext)


IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def list_images(directory: Path) -> list[Path]:
    return sorted(
        p for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    )
