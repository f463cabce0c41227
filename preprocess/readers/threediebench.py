"""3DIEBench trees: ``<synset>/<object>/image_K.jpg`` + ``latent_K.npy`` and split index files.

Works for the published dataset (50 views per object, ``train_images.npy`` / ``val_images.npy``
holding ``'/<synset>/<object>/'`` strings, ``*_labels.npy`` = rank of the synset in sorted order)
and for trees written by ``seqjepa-prep render`` (any subset of view ids, its own split files).
Without split files every object forms one split ``all``, labelled by sorted synset.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .base import CorruptSample, Entry, FormatError, RawObject, Reader, read_bytes

_VIEW = re.compile(r"image_(\d+)\.jpg$")


class ThreeDIEBench(Reader):
    name = "3diebench"
    kind = "objects"

    def __init__(self, root, splits_dir: str | Path | None = None) -> None:
        super().__init__(root)
        self.splits_dir = Path(splits_dir) if splits_dir else self.root
        self._split_files = {
            p.name[: -len("_images.npy")]: p for p in sorted(self.splits_dir.glob("*_images.npy"))
        }
        self._synsets = sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and p.name.isdigit()
        )
        if not self._synsets:
            raise FormatError(
                f"{self.root} is not a 3DIEBench tree: expected <synset>/<object>/image_K.jpg"
            )

    def splits(self) -> list[str]:
        return list(self._split_files) or ["all"]

    def class_names(self) -> list[str]:
        return self._synsets

    def source_files(self) -> list[Path]:
        return list(self._split_files.values()) + [
            p.with_name(p.name.replace("_images", "_labels")) for p in self._split_files.values()
        ]

    def entries(self, split: str) -> list[Entry]:
        self.check_split(split)
        if split == "all":
            return [
                Entry(f"{s}/{o.name}", i, f"{s}/{o.name}")
                for i, s in enumerate(self._synsets)
                for o in sorted((self.root / s).iterdir())
                if o.is_dir()
            ]
        images_file = self._split_files[split]
        labels_file = images_file.with_name(f"{split}_labels.npy")
        try:
            objects = np.load(images_file, allow_pickle=False)
            labels = np.load(labels_file, allow_pickle=False) if labels_file.is_file() else None
        except (ValueError, OSError) as exc:
            raise FormatError(f"{images_file}: not a readable split file ({exc})") from None
        if labels is not None and len(labels) != len(objects):
            raise FormatError(f"{labels_file} has {len(labels)} labels for {len(objects)} objects")
        index = {s: i for i, s in enumerate(self._synsets)}
        out = []
        for i, raw in enumerate(objects):
            rel = str(raw).strip("/")
            synset = rel.split("/")[0]
            if labels is not None:
                label = int(labels[i])
            elif synset in index:
                label = index[synset]
            else:
                raise FormatError(
                    f"{images_file}: synset {synset} of {rel} is not under {self.root}"
                )
            out.append(Entry(rel, label, rel))
        return out

    def load(self, split: str, entry: Entry) -> RawObject:
        folder = self.root / entry.ref
        if not folder.is_dir():
            raise CorruptSample(f"{folder} is missing")
        view_ids = sorted(int(m.group(1)) for p in folder.iterdir() if (m := _VIEW.match(p.name)))
        if not view_ids:
            raise CorruptSample(f"{folder} holds no image_K.jpg views")
        views, latents = [], []
        for k in view_ids:
            latent_path = folder / f"latent_{k}.npy"
            try:
                latent = np.load(latent_path, allow_pickle=False)
            except (OSError, ValueError) as exc:
                raise CorruptSample(f"{latent_path}: {exc}") from None
            if latent.shape != (7,):
                raise CorruptSample(f"{latent_path} has shape {latent.shape}, expected (7,)")
            views.append(read_bytes(folder / f"image_{k}.jpg"))
            latents.append(latent)
        synset, obj = entry.ref.split("/", 1)
        meta = {"synset": synset, "object": obj, "source": str(folder)}
        return RawObject(views, view_ids, np.stack(latents).astype(np.float32), meta)
