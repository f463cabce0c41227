"""Construct a reader from CLI-level options."""

from __future__ import annotations

from pathlib import Path

from . import READERS, FormatError, Reader


def open_reader(
    fmt: str,
    root: Path,
    splits: list[str] | None = None,
    splits_dir: Path | None = None,
    val_labels: Path | None = None,
) -> Reader:
    if fmt not in READERS:
        raise FormatError(f"unknown dataset format {fmt!r}; choose one of {', '.join(READERS)}")
    cls = READERS[fmt]
    if fmt == "imagefolder":
        return cls(root, split_names=tuple(splits or ["train"]))
    if fmt == "imagenet":
        return cls(root, val_labels=val_labels)
    if fmt == "3diebench":
        return cls(root, splits_dir=splits_dir)
    return cls(root)
