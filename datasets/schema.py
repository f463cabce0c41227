"""The shard schema: the single source of truth shared by the shard writer and the loader.

Sample ids are ``<dataset>/<split>/<key>`` (DESIGN.md §2.1). In a tar, a sample's members are
named ``<__key__>.<member>``; WebDataset splits a member name at the first dot of its basename,
so ``__key__`` must not contain dots. We therefore keep the id's ``/`` (WebDataset treats it as
part of the key, so plain ``wds.WebDataset`` yields ``__key__ == id``) and percent-escape ``.``
and ``%`` inside the id. (DESIGN.md suggests replacing ``/`` by ``.``: that makes WebDataset
merge every sample of a shard into one, so we do not.)
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

SCHEMA_VERSION = 1
INDEX_FILE = "index.json"
SAMPLES_FILE = "samples.parquet"

Kind = Literal["objects", "images"]

# Member names (the part after "<__key__>.").
CLS = "cls"
META = "json"
LATENTS = "latents.npy"  # objects: float32 (K, 7), the original 3DIEBench latent layout
SALIENCY = "sal.npy"  # images: float16 (H, W) log-density with logsumexp 0
IMAGE_EXTS = ("jpg", "png", "webp")
LATENT_FIELDS = ("rot_x", "rot_y", "rot_z", "floor_hue", "spot_theta", "spot_phi", "spot_hue")


def view_member(position: int, ext: str = "jpg") -> str:
    """Name of the ``position``-th view of an object sample (its original view id is in json)."""
    return f"view{position:02d}.{ext}"


def shard_name(split: str, index: int) -> str:
    return f"{split}-{index:06d}.tar"


def sample_id(dataset: str, split: str, key: str) -> str:
    return f"{dataset}/{split}/{key}"


def key_from_id(sid: str) -> str:
    """WebDataset ``__key__`` for a sample id: dot-free, reversible."""
    return sid.replace("%", "%25").replace(".", "%2E")


def id_from_key(key: str) -> str:
    return key.replace("%2E", ".").replace("%25", "%")


def split_member_name(name: str) -> tuple[str, str]:
    """``"<key>.<member>"`` → (key, member), splitting at the first dot of the basename."""
    directory, _, base = name.rpartition("/")
    stem, _, member = base.partition(".")
    return (f"{directory}/{stem}" if directory else stem), member


def encode_npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def decode_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


def encode_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class ShardInfo:
    name: str
    samples: int
    bytes: int
    sha256: str


@dataclass
class SplitInfo:
    samples: int = 0
    skipped: int = 0
    shards: list[ShardInfo] = field(default_factory=list)


@dataclass
class DatasetIndex:
    """index.json of a shard directory."""

    dataset: str
    kind: Kind
    class_names: list[str]
    options: dict[str, Any]
    provenance: dict[str, Any]
    splits: dict[str, SplitInfo] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def write(self, directory: str | Path) -> Path:
        path = Path(directory) / INDEX_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))
        tmp.replace(path)
        return path

    @classmethod
    def read(cls, directory: str | Path) -> DatasetIndex:
        path = Path(directory) / INDEX_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: {directory} is not a shard directory "
                "(create one with `seqjepa-prep shard`)"
            )
        raw = json.loads(path.read_text())
        if raw.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(
                f"{path} has schema version {raw.get('schema_version')}, this seqjepa reads "
                f"{SCHEMA_VERSION}; re-shard with this version"
            )
        splits = {
            name: SplitInfo(s["samples"], s["skipped"], [ShardInfo(**x) for x in s["shards"]])
            for name, s in raw.pop("splits").items()
        }
        return cls(splits=splits, **raw)

    def shard_paths(self, directory: str | Path, split: str) -> list[Path]:
        if split not in self.splits:
            raise KeyError(
                f"split {split!r} is not in {directory}; available: {', '.join(self.splits)}"
            )
        return [Path(directory) / s.name for s in self.splits[split].shards]
