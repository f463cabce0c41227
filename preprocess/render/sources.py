"""Which objects to render: ShapeNetCore v2 discovery, split files and class lists.

Everything here is checked before anything is written, and every problem is an ``InputError``
whose message is one line naming what is wrong, where, and what to do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

MODEL_RELPATH = Path("models") / "model_normalized.obj"
_ENTRY = re.compile(r"^/?([^/\s]+)/([^/\s]+)/?$")

ObjectKey = tuple[str, str]  # (synset, object id)


class InputError(ValueError):
    """Bad user input, with a message fit to print as a one-line CLI error."""


def model_path(root: Path, synset: str, obj: str) -> Path:
    return Path(root) / synset / obj / MODEL_RELPATH


def synsets_in(root: Path) -> list[str]:
    """Sorted synset folders of a ShapeNet-style root (hidden folders and files ignored)."""
    return sorted(p.name for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith("."))


def check_root(root: Path) -> None:
    """Fail unless ``root`` looks like ShapeNetCore v2: <synset>/<object>/models/*.obj."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(
            f"ShapeNet root {root} does not exist; pass --shapenet pointing at ShapeNetCore.v2 "
            "(or 'builtin' for the built-in object set)"
        )
    for synset in synsets_in(root):
        for obj_dir in (root / synset).iterdir():
            if (obj_dir / MODEL_RELPATH).is_file():
                return
    raise InputError(
        f"ShapeNet root {root} holds no <synset>/<object>/{MODEL_RELPATH.as_posix()}; "
        "point --shapenet at the ShapeNetCore.v2 folder itself"
    )


def objects_of_synsets(
    root: Path, synsets: Iterable[str], limit: int | None = None
) -> tuple[list[ObjectKey], int]:
    """All objects with a model in the given synsets, sorted; also how many folders lacked one."""
    root = Path(root)
    known = synsets_in(root)
    out: list[ObjectKey] = []
    skipped = 0
    for synset in synsets:
        if synset not in known:
            hint = ", ".join(known[:8]) + (" ..." if len(known) > 8 else "")
            raise InputError(
                f"unknown synset {synset!r}: no folder {root / synset} (found: {hint})"
            )
        found = []
        for obj_dir in sorted(p for p in (root / synset).iterdir() if p.is_dir()):
            if (obj_dir / MODEL_RELPATH).is_file():
                found.append((synset, obj_dir.name))
            else:
                skipped += 1
        out.extend(found[:limit] if limit is not None else found)
    return out, skipped


def parse_synsets(values: Sequence[str]) -> list[str]:
    """``--synsets a,b --synsets c`` → [a, b, c], order kept, duplicates dropped."""
    names = [s.strip() for v in values for s in v.split(",") if s.strip()]
    return list(dict.fromkeys(names))


def read_split_file(path: Path) -> list[ObjectKey]:
    """Objects listed by a split file, order kept, duplicates dropped.

    Accepts 3DIEBench's ``*_images.npy`` (strings ``'/<synset>/<object>/'``), an (N, 2) string
    array, or a text file with one ``<synset>/<object>`` per line (blank lines and ``#`` comments
    ignored).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"split file {path} not found; pass --objects an existing file")
    if path.suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise InputError(
                f"split file {path} is not a readable .npy string array: {exc}"
            ) from None
        if arr.dtype.kind not in "US":
            raise InputError(
                f"split file {path} holds {arr.dtype} values; expected strings like "
                "'/<synset>/<object>/' (3DIEBench *_images.npy)"
            )
        arr = arr.astype(str)
        if arr.ndim == 2 and arr.shape[1] == 2:
            lines = [f"{a}/{b}" for a, b in arr]
        elif arr.ndim == 1:
            lines = list(arr)
        else:
            raise InputError(f"split file {path} has shape {arr.shape}; expected (N,) or (N, 2)")
        numbered = list(enumerate(lines))
    else:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"split file {path} is not a readable text file: {exc}") from None
        numbered = [
            (i, ln.split("#", 1)[0].strip())
            for i, ln in enumerate(text.splitlines())
            if ln.split("#", 1)[0].strip()
        ]
    out: dict[ObjectKey, None] = {}
    for i, entry in numbered:
        m = _ENTRY.match(str(entry).strip())
        if m is None:
            raise InputError(
                f"split file {path} entry {i + 1} is {entry!r}; expected '<synset>/<object>'"
            )
        out[(m.group(1), m.group(2))] = None
    if not out:
        raise InputError(f"split file {path} lists no objects")
    return list(out)


def check_objects(root: Path, objects: Sequence[ObjectKey], source: str) -> None:
    """Fail if any listed object has no model under ``root``; name the first and count all."""
    root = Path(root)
    known = set(synsets_in(root))
    unknown = sorted({s for s, _ in objects if s not in known})
    if unknown:
        raise InputError(
            f"{source} names synset(s) {', '.join(unknown[:5])} that are not under {root}; "
            "check the split file against the ShapeNet root"
        )
    missing = [(s, o) for s, o in objects if not model_path(root, s, o).is_file()]
    if missing:
        s, o = missing[0]
        raise InputError(
            f"{source} lists {len(missing)} object(s) without a model under {root} "
            f"(first: {model_path(root, s, o)}); check the split file against the ShapeNet root"
        )


def read_class_list(path: Path) -> list[str]:
    """Synset ids from a text file (one per line), a JSON list, or a ShapeNet taxonomy.json.

    From a taxonomy.json only top-level synsets count (not those listed as another's children).
    Returned sorted: labels index the sorted list, as in 3DIEBench (0 = 02691156 airplane).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"class list {path} not found; pass --classes an existing file")
    try:
        if path.suffix == ".json":
            data = json.loads(path.read_text())
            if not isinstance(data, list):
                raise ValueError("not a JSON list")
            children = {c for d in data if isinstance(d, dict) for c in d.get("children", [])}
            ids = [d["synsetId"] if isinstance(d, dict) else str(d) for d in data]
            ids = [i for i in ids if i not in children]  # taxonomy.json: top-level synsets only
        else:
            ids = [ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines()]
    except (ValueError, KeyError, OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"class list {path} is unreadable ({exc}); expected one synset per line"
        ) from None
    classes = sorted({i for i in ids if i})
    if not classes:
        raise InputError(f"class list {path} names no synsets")
    return classes
