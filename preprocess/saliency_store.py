"""The saliency store: float16 log-density maps keyed by sample id.

Written by ``seqjepa-prep saliency`` in chunks (``<split>-NNNNNN.npy`` maps of shape (n, H, W)
plus ``<split>-NNNNNN.json`` with their sample ids), each chunk written atomically so a killed
job resumes at chunk granularity; samples the job could not read are listed (id → reason) in
``<split>-NNNNNN.unreadable.json``: they count as covered, and the shard job skips them too.
``store.json`` holds the map size and provenance (model, weights hash).
``seqjepa-prep shard --saliency STORE`` joins the maps into shards by sample id.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from seqjepa.datasets.schema import encode_npy

from .files import atomic_write

STORE_FILE = "store.json"
FORMAT = "seqjepa-saliency-store"


class SaliencyStoreWriter:
    def __init__(self, root: str | Path, dataset: str, map_size: tuple[int, int], provenance: dict):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": FORMAT,
            "dataset": dataset,
            "map_size": list(map_size),
            "dtype": "float16",
            "provenance": provenance,
        }
        existing = self.root / STORE_FILE
        if existing.is_file():
            old = json.loads(existing.read_text())
            if {k: old.get(k) for k in meta} != meta:
                raise ValueError(
                    f"{self.root} holds saliency maps made with other settings "
                    f"({old.get('provenance', {}).get('model')}, {old.get('map_size')}); "
                    "use a new --out or remove it"
                )
        else:
            atomic_write(existing, json.dumps(meta, indent=2, sort_keys=True).encode())
        self.map_size = tuple(map_size)

    def chunk_done(self, split: str, index: int) -> bool:
        return (self.root / f"{split}-{index:06d}.json").is_file()

    def write_chunk(
        self,
        split: str,
        index: int,
        ids: list[str],
        maps: np.ndarray,
        unreadable: dict[str, str] | None = None,
    ) -> None:
        """Write one chunk; ``unreadable`` (id → reason) lists its samples absent on purpose."""
        if maps.shape != (len(ids), *self.map_size):
            raise ValueError(
                f"chunk maps {maps.shape} do not match {len(ids)} ids × {self.map_size}"
            )
        name = f"{split}-{index:06d}"
        buf = encode_npy(maps.astype(np.float16))
        atomic_write(self.root / f"{name}.npy", buf)
        if unreadable:
            atomic_write(self.root / f"{name}.unreadable.json", json.dumps(unreadable).encode())
        # The id list is written last: its presence marks the chunk complete.
        atomic_write(self.root / f"{name}.json", json.dumps(ids).encode())


class SaliencyStore:
    """Read side: ``store[sample_id]`` → float16 (H, W) log-density."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        meta_path = self.root / STORE_FILE
        if not meta_path.is_file():
            raise FileNotFoundError(
                f"{self.root} is not a saliency store (no {STORE_FILE}); "
                "create one with `seqjepa-prep saliency`"
            )
        self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        if self.meta.get("format") != FORMAT:
            raise ValueError(f"{meta_path} is not a seqjepa saliency store")
        self._where: dict[str, tuple[Path, int]] = {}
        self.unreadable: dict[str, str] = {}  # id → why the saliency job could not read it
        for ids_path in sorted(self.root.glob("*-[0-9][0-9][0-9][0-9][0-9][0-9].json")):
            ids = json.loads(ids_path.read_text())
            maps_path = ids_path.with_suffix(".npy")
            self._where.update({sid: (maps_path, row) for row, sid in enumerate(ids)})
            unreadable = ids_path.with_suffix(".unreadable.json")
            if unreadable.is_file():
                self.unreadable.update(json.loads(unreadable.read_text()))
        self._maps: dict[Path, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, sid: str) -> bool:
        return sid in self._where

    def missing(self, ids: list[str]) -> list[str]:
        """Ids with no map, not counting samples the saliency job found unreadable."""
        return [sid for sid in ids if sid not in self._where and sid not in self.unreadable]

    def __getitem__(self, sid: str) -> np.ndarray:
        path, row = self._where[sid]
        if path not in self._maps:
            self._maps[path] = np.load(path, mmap_mode="r", allow_pickle=False)
        return np.asarray(self._maps[path][row])

    def fingerprint(self) -> dict[str, Any]:
        digest = hashlib.sha256((self.root / STORE_FILE).read_bytes()).hexdigest()
        return {"store": str(self.root.resolve()), "meta_sha256": digest, **self.meta["provenance"]}

    def __getstate__(self):  # memory maps are reopened in each task
        return {**self.__dict__, "_maps": {}}
