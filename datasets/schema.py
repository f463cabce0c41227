"""The shard schema: the single source of truth shared by the shard writer and the loader.

Sample ids are ``<dataset>/<split>/<key>`` (DESIGN.md §2.1). In a tar, a sample's members are
named ``<__key__>.<member>``; WebDataset splits a member name at the first dot of its basename,
so ``__key__`` must not contain dots. We therefore keep the id's ``/`` (WebDataset treats it as
part of the key, so plain ``wds.WebDataset`` yields ``__key__ == id``) and percent-escape ``.``
and ``%`` inside the id. (DESIGN.md suggests replacing ``/`` by ``.``: that makes WebDataset
merge every sample of a shard into one, so we do not.)

Object samples (schema version 2) keep all their views in ONE member, ``views.bin``: the tar
reader pays per member (header parsing, grouping), and 50 ``viewKK.jpg`` members made reading
cost more than decoding. ``views.bin`` is the magic ``SJVIEWS1``, the view count K (uint32 LE),
K+1 byte offsets (uint64 LE, the first 0, the last the payload length) and the payload, the
encoded views back to back, each byte for byte what a ``viewKK.jpg`` member held. Version 1
shards (one ``viewKK.<ext>`` member per view) stay readable: :func:`object_views` serves both.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: one member per object view; 2: all views in VIEWS
INDEX_FILE = "index.json"
SAMPLES_FILE = "samples.parquet"

Kind = Literal["objects", "images"]

# Member names (the part after "<__key__>.").
CLS = "cls"
META = "json"
VIEWS = "views.bin"  # objects: every view of the object, packed (see the module docstring)
LATENTS = "latents.npy"  # objects: float32 (K, 7), the original 3DIEBench latent layout
SALIENCY = "sal.npy"  # images: float16 (H, W) log-density with logsumexp 0
IMAGE_EXTS = ("jpg", "png", "webp", "ppm")  # ppm: uncompressed, for decoded pixel sources
LATENT_FIELDS = ("rot_x", "rot_y", "rot_z", "floor_hue", "spot_theta", "spot_phi", "spot_hue")


_VIEWS_MAGIC = b"SJVIEWS1"
_VIEWS_HEAD = struct.Struct("<8sI")


def view_member(position: int, ext: str = "jpg") -> str:
    """Schema version 1 name of the ``position``-th view of an object sample (its original view
    id is in json); version 2 packs the views into :data:`VIEWS`."""
    return f"view{position:02d}.{ext}"


def pack_views(views: Sequence[bytes]) -> bytes:
    """The :data:`VIEWS` member holding ``views`` (encoded images) in this order."""
    offsets = np.zeros(len(views) + 1, dtype="<u8")
    np.cumsum([len(v) for v in views], out=offsets[1:])
    return b"".join([_VIEWS_HEAD.pack(_VIEWS_MAGIC, len(views)), offsets.tobytes(), *views])


def object_views(
    members: Mapping[str, bytes], positions: Iterable[int] | None = None
) -> list[bytes]:
    """Encoded views of an object sample (all, or those at ``positions``), for both layouts.

    Views are slices of the member: ``bytes``, or ``memoryview``s when the loader hands the
    member over as a view of the mapped shard.

    Raises ``ValueError`` when the sample holds no views, a packed member is damaged or a
    position is out of range.
    """
    packed = members.get(VIEWS)
    if packed is None:  # schema version 1: one member per view
        names = {
            int(stem[4:]): name
            for name in members
            for stem in [name.partition(".")[0]]
            if stem.startswith("view") and stem[4:].isdigit()
        }
        if not names:
            raise ValueError(f"sample holds no object views (neither {VIEWS} nor viewKK members)")
        if positions is None:
            positions = sorted(names)
        try:
            return [members[names[int(i)]] for i in positions]
        except KeyError as exc:
            raise ValueError(f"sample has no view at position {exc}") from None
    if len(packed) < _VIEWS_HEAD.size or packed[:8] != _VIEWS_MAGIC:
        raise ValueError(f"{VIEWS} is not a packed view member")
    count = _VIEWS_HEAD.unpack_from(packed)[1]
    start = _VIEWS_HEAD.size + 8 * (count + 1)
    if len(packed) < start:
        raise ValueError(f"{VIEWS} is truncated")
    offsets = struct.unpack_from(f"<{count + 1}Q", packed, _VIEWS_HEAD.size)
    if offsets[0] != 0 or offsets[-1] != len(packed) - start:
        raise ValueError(f"{VIEWS} has an inconsistent offset table")
    out = []
    for i in range(count) if positions is None else positions:
        i = int(i)
        if not 0 <= i < count:
            raise ValueError(f"sample has no view at position {i} (it holds {count})")
        a, b = start + offsets[i], start + offsets[i + 1]
        if a > b:
            raise ValueError(f"{VIEWS} has an inconsistent offset table")
        out.append(packed[a:b])
    return out


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


_NPY_HEADERS: dict[bytes, tuple[np.dtype, tuple[int, ...], str]] = {}


def decode_npy(data: bytes) -> np.ndarray:
    """A writable array from ``.npy`` bytes, never unpickling.

    ``np.load`` spends ~0.1 ms parsing the header (a Python literal) of every small array; the
    loader decodes one per sample, so headers already parsed by ``np.load`` are remembered and
    the data of a known header is read with ``np.frombuffer`` (same bytes → same array).
    """
    if data[:8] == b"\x93NUMPY\x01\x00" and len(data) >= 10:
        start = 10 + int.from_bytes(data[8:10], "little")
        header = bytes(data[:start])  # data may be a view of a mapped shard: keep no reference
        known = _NPY_HEADERS.get(header)
        if known is not None:
            dtype, shape, order = known
            flat = np.frombuffer(data, dtype, math.prod(shape), start)
            return flat.reshape(shape, order=order).copy(order="K")
        array = np.load(io.BytesIO(data), allow_pickle=False)
        if len(_NPY_HEADERS) >= 1024:  # many distinct shapes (variable image sizes)
            _NPY_HEADERS.clear()
        order = "F" if array.ndim > 1 and array.flags.f_contiguous else "C"
        _NPY_HEADERS[header] = (array.dtype, array.shape, order)
        return array
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
        if raw.get("schema_version") not in READABLE_VERSIONS:
            raise ValueError(
                f"{path} has schema version {raw.get('schema_version')}, this seqjepa reads "
                f"{', '.join(map(str, READABLE_VERSIONS))}; re-shard with this version"
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


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file read in 1 MiB chunks: shards (the index records each one's),
    checkpoints and weights are large."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()
