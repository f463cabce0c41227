"""Folder-based image formats: any ImageFolder tree, ILSVRC-2012 ImageNet, Tiny ImageNet.

Keys are the relative path without extension, so sample ids are stable across runs and machines.
Class order is the sorted folder (wnid) order, except Tiny ImageNet, whose class index is the
line order of ``wnids.txt`` (as its users and the authors' loader expect).
"""

from __future__ import annotations

import csv
from pathlib import Path

from .base import Entry, FormatError, RawImage, Reader, image_ext, list_images, read_bytes


def _class_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


class ImageFolder(Reader):
    """``<root>/<class>/<image>``; one split, named by the caller (default ``train``).

    If ``<root>/<split>/`` exists the classes are read from there, so a root holding
    ``train/`` and ``val/`` trees works with ``--split train --split val``.
    """

    name = "imagefolder"

    def __init__(self, root, split_names: tuple[str, ...] = ("train",)) -> None:
        super().__init__(root)
        self._splits = list(split_names)
        self._dirs = {
            s: self.root / s if (self.root / s).is_dir() else self.root for s in self._splits
        }
        classes = {s: [p.name for p in _class_dirs(d)] for s, d in self._dirs.items()}
        first = classes[self._splits[0]]
        if not first:
            raise FormatError(
                f"{self.root} holds no class folders; imagefolder expects <root>/<class>/<image>"
            )
        self._classes = sorted(set().union(*classes.values()))

    def splits(self) -> list[str]:
        return self._splits

    def class_names(self) -> list[str]:
        return self._classes

    def entries(self, split: str) -> list[Entry]:
        self.check_split(split)
        base = self._dirs[split]
        out = []
        for label, name in enumerate(self._classes):
            folder = base / name
            if folder.is_dir():
                out += [_entry(base, p, label) for p in list_images(folder)]
        return out

    def load(self, split: str, entry: Entry) -> RawImage:
        path = Path(entry.ref)
        return RawImage(data=read_bytes(path), ext=image_ext(path), meta={"source": str(path)})


def _entry(base: Path, path: Path, label: int) -> Entry:
    return Entry(str(path.relative_to(base).with_suffix("")), label, str(path))


class ImageNet(Reader):
    """ILSVRC-2012: ``train/<wnid>/*.JPEG``; ``val/<wnid>/*.JPEG`` or a flat ``val/`` plus
    ``LOC_val_solution.csv`` (ImageId,PredictionString with the wnid first)."""

    name = "imagenet"

    def __init__(self, root, val_labels: str | Path | None = None) -> None:
        super().__init__(root)
        train = self.root / "train"
        if not train.is_dir() or not _class_dirs(train):
            raise FormatError(
                f"{self.root} is not an ILSVRC-2012 folder: expected train/<wnid>/*.JPEG"
            )
        self._classes = [p.name for p in _class_dirs(train)]
        self._val_csv = Path(val_labels) if val_labels else self.root / "LOC_val_solution.csv"

    def splits(self) -> list[str]:
        return ["train", "val"] if (self.root / "val").is_dir() else ["train"]

    def class_names(self) -> list[str]:
        return self._classes

    def source_files(self) -> list[Path]:
        return [self._val_csv] if self._val_csv.is_file() else []

    def entries(self, split: str) -> list[Entry]:
        self.check_split(split)
        base = self.root / split
        index = {name: i for i, name in enumerate(self._classes)}
        if _class_dirs(base):
            return [
                _entry(base, p, index[d.name])
                for d in _class_dirs(base)
                if d.name in index
                for p in list_images(d)
            ]
        return self._flat_val(base, index)

    def _flat_val(self, base: Path, index: dict[str, int]) -> list[Entry]:
        if not self._val_csv.is_file():
            raise FormatError(
                f"{base} is flat but no ground truth was found at {self._val_csv}; "
                "pass --val-labels LOC_val_solution.csv"
            )
        labels = {}
        with self._val_csv.open() as f:
            for row in csv.DictReader(f):
                wnid = row["PredictionString"].split()[0]
                if wnid not in index:
                    raise FormatError(f"{self._val_csv}: unknown wnid {wnid} for {row['ImageId']}")
                labels[row["ImageId"]] = index[wnid]
        out = []
        for p in list_images(base):
            if p.stem not in labels:
                raise FormatError(f"{p.name} has no label in {self._val_csv}")
            out.append(_entry(base, p, labels[p.stem]))
        return out

    load = ImageFolder.load


class TinyImageNet(Reader):
    """``tiny-imagenet-200/``: train/<wnid>/images, val/images + val_annotations.txt, test/."""

    name = "tinyimagenet"

    def __init__(self, root) -> None:
        super().__init__(root)
        if (self.root / "tiny-imagenet-200").is_dir():
            self.root = self.root / "tiny-imagenet-200"
        wnids = self.root / "wnids.txt"
        if not wnids.is_file() or not (self.root / "train").is_dir():
            raise FormatError(
                f"{self.root} is not tiny-imagenet-200/: expected wnids.txt and train/<wnid>/images"
            )
        self._wnids = [w.strip() for w in wnids.read_text().splitlines() if w.strip()]
        words = self.root / "words.txt"
        names = {}
        if words.is_file():
            for line in words.read_text().splitlines():
                wnid, _, text = line.partition("\t")
                names[wnid] = text.split(",")[0].strip()
        self._names = [names.get(w, w) for w in self._wnids]

    def splits(self) -> list[str]:
        return [s for s in ("train", "val", "test") if (self.root / s).is_dir()]

    def class_names(self) -> list[str]:
        return self._names

    def source_files(self) -> list[Path]:
        return [
            p
            for p in (self.root / "wnids.txt", self.root / "val/val_annotations.txt")
            if p.is_file()
        ]

    def entries(self, split: str) -> list[Entry]:
        self.check_split(split)
        base = self.root / split
        index = {w: i for i, w in enumerate(self._wnids)}
        if split == "train":
            return [
                _entry(base, p, index[w])
                for w in self._wnids
                if (base / w / "images").is_dir()
                for p in list_images(base / w / "images")
            ]
        labels = {}
        annotations = base / "val_annotations.txt"
        if split == "val":
            if not annotations.is_file():
                raise FormatError(f"{annotations} is missing; the val labels live there")
            for line in annotations.read_text().splitlines():
                parts = line.split("\t")
                if len(parts) >= 2:
                    labels[parts[0]] = index[parts[1]]
        return [_entry(base, p, labels.get(p.name, -1)) for p in list_images(base / "images")]

    load = ImageFolder.load
