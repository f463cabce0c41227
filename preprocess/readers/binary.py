"""Array-file formats: the STL-10 binary release and the CIFAR-100 python pickles.

Keys are the record index in the raw file, so ids match torchvision's order. CIFAR pickles are
read with an unpickler that only admits the numpy array reconstruction calls the files contain:
a pickle that asks for anything else is refused, not executed.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from .base import CorruptSample, Entry, FormatError, RawImage, Reader

STL_SIDE = 96
STL_BYTES = 3 * STL_SIDE * STL_SIDE


class STL10(Reader):
    """``stl10_binary/{train,test,unlabeled}_X.bin`` + ``_y.bin`` (1-based) + class_names.txt."""

    name = "stl10"

    def __init__(self, root) -> None:
        super().__init__(root)
        if (self.root / "stl10_binary").is_dir():
            self.root = self.root / "stl10_binary"
        self._splits = [
            s for s in ("train", "test", "unlabeled") if (self.root / f"{s}_X.bin").is_file()
        ]
        if not self._splits:
            raise FormatError(
                f"{self.root} is not the STL-10 binary release: no {{train,test,unlabeled}}_X.bin"
            )
        names = self.root / "class_names.txt"
        self._classes = (
            names.read_text().split() if names.is_file() else [str(i) for i in range(10)]
        )

    def splits(self) -> list[str]:
        return self._splits

    def class_names(self) -> list[str]:
        return self._classes

    def source_files(self) -> list[Path]:
        return [p for p in self.root.glob("*.bin")]

    def entries(self, split: str) -> list[Entry]:
        self.check_split(split)
        x = self.root / f"{split}_X.bin"
        size = x.stat().st_size
        if size % STL_BYTES:
            raise FormatError(f"{x} is truncated: {size} bytes is not a multiple of {STL_BYTES}")
        n = size // STL_BYTES
        y = self.root / f"{split}_y.bin"
        labels = np.full(n, -1, dtype=np.int64)
        if y.is_file():
            raw = np.fromfile(y, dtype=np.uint8)
            if len(raw) != n:
                raise FormatError(f"{y} has {len(raw)} labels for {n} images in {x.name}")
            labels = raw.astype(np.int64) - 1
        return [Entry(str(i), int(labels[i]), i) for i in range(n)]

    def load(self, split: str, entry: Entry) -> RawImage:
        images = np.memmap(self.root / f"{split}_X.bin", dtype=np.uint8, mode="r")
        record = images[entry.ref * STL_BYTES : (entry.ref + 1) * STL_BYTES]
        # Stored channel-major and column-major: (3, W, H) → (H, W, 3).
        pixels = np.ascontiguousarray(record.reshape(3, STL_SIDE, STL_SIDE).transpose(2, 1, 0))
        return RawImage(pixels=pixels, meta={"source": f"{split}_X.bin[{entry.ref}]"})


_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 spell bytes
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def load_safe_pickle(path: Path) -> dict:
    """Load a CIFAR-style pickle (dicts, lists, bytes, numbers, numpy arrays) and nothing else."""
    try:
        with path.open("rb") as f:
            obj = _ArrayOnlyUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise FormatError(f"{path} is not a readable CIFAR pickle: {exc}") from None
    if not isinstance(obj, dict):
        raise FormatError(f"{path} holds a {type(obj).__name__}, expected a dict")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}


class CIFAR100(Reader):
    """``cifar-100-python/{train,test,meta}``; label = fine label (100 classes)."""

    name = "cifar100"

    def __init__(self, root) -> None:
        super().__init__(root)
        if (self.root / "cifar-100-python").is_dir():
            self.root = self.root / "cifar-100-python"
        if not (self.root / "meta").is_file() or not (self.root / "train").is_file():
            raise FormatError(
                f"{self.root} is not cifar-100-python/: expected train, test and meta"
            )
        meta = load_safe_pickle(self.root / "meta")
        self._classes = [
            n.decode() if isinstance(n, bytes) else n for n in meta["fine_label_names"]
        ]
        self._cache: dict[str, dict] = {}

    def splits(self) -> list[str]:
        return [s for s in ("train", "test") if (self.root / s).is_file()]

    def class_names(self) -> list[str]:
        return self._classes

    def source_files(self) -> list[Path]:
        return [self.root / s for s in ("train", "test", "meta") if (self.root / s).is_file()]

    def _split(self, split: str) -> dict:
        if split not in self._cache:
            raw = load_safe_pickle(self.root / split)
            data = np.asarray(raw.get("data"))
            labels = np.asarray(raw.get("fine_labels"))
            if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
                raise FormatError(f"{self.root / split}: expected data (N, 3072) and N fine_labels")
            self._cache[split] = {"data": data.astype(np.uint8), "labels": labels.astype(np.int64)}
        return self._cache[split]

    def entries(self, split: str) -> list[Entry]:
        self.check_split(split)
        labels = self._split(split)["labels"]
        return [Entry(str(i), int(label), i) for i, label in enumerate(labels)]

    def load(self, split: str, entry: Entry) -> RawImage:
        record = self._split(split)["data"][entry.ref]
        if record.size != 3072:
            raise CorruptSample(f"{split}[{entry.ref}] has {record.size} values")
        pixels = np.ascontiguousarray(record.reshape(3, 32, 32).transpose(1, 2, 0))
        return RawImage(pixels=pixels, meta={"source": f"{split}[{entry.ref}]"})

    def __getstate__(self):  # do not ship decoded arrays to Ray tasks
        return {**self.__dict__, "_cache": {}}
