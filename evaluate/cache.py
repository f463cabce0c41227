"""Feature cache: dataclasses of arrays stored as ``.npz``, keyed by what they depend on.

The key hashes the checkpoint file, the dataset and the exact shards of the split, and the
extraction protocol (M_val sweep, seed, ...), so a cache entry is reused only when the features
would come out the same.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from .loading import EvalModel

FORMAT_VERSION = 2  # 2: sequence features record the draw of each row


def cache_key(em: EvalModel, shards: str | Path, index, split: str, **protocol) -> str:
    """Hash of everything the cached arrays depend on."""
    content = {
        "format": FORMAT_VERSION,
        "checkpoint": em.sha256,  # covers the model and the config its sequences follow
        "dataset": index.dataset,
        "shards": [dataclasses.asdict(s) for s in index.splits[split].shards],
        "split": split,
        **protocol,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def save_arrays(obj, path: Path) -> Path:
    """Write a dataclass of arrays atomically as an uncompressed ``.npz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:  # a file object: np.savez would append ".npz" to a name
        np.savez(f, **{fd.name: getattr(obj, fd.name) for fd in dataclasses.fields(obj)})
    tmp.replace(path)
    return path


def load_arrays(cls, path: Path):
    with np.load(path, allow_pickle=False) as data:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})


def cached(cls, path: Path, compute):
    """Load ``path`` if present, else compute, save and return; second value: cache hit."""
    if path.is_file():
        return load_arrays(cls, path), True
    obj = compute()
    save_arrays(obj, path)
    return obj, False
