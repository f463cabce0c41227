"""The output tree, in the 3DIEBench layout, written so a crash never leaves a half-done object.

::

    OUT/<synset>/<object>/image_<k>.jpg   256×256 JPEG, quality 95, written by OpenCV
    OUT/<synset>/<object>/latent_<k>.npy  float64 (7,), see ``poses``
    OUT/<synset>/<object>/.done           written last: the object's views and settings hash
    OUT/<split>_images.npy                '/<synset>/<object>/' strings ('<U..'), as 3DIEBench
    OUT/<split>_labels.npy                int64 index of the synset in the sorted class list
    OUT/render.json                       settings and provenance, per-object status

Every file goes to a hidden temporary name first and is renamed into place; an object counts as
rendered only when its ``.done`` marker exists, names the same settings, and all its files exist.

Colour channels: SIE and seq-JEPA passed BlenderProc's RGB arrays to ``cv2.imwrite``, which
expects BGR, so the published JPEGs most likely hold R and B swapped (a floor of hue h is stored
with hue ≈ (2/3 − h) mod 1). ``channel_order="3diebench"`` reproduces that, so new splits match
the data models are trained on; ``"rgb"`` stores true colours. This is inferred from the code and
has not been checked against the published files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from seqjepa.datasets.schema import encode_npy

from ..files import atomic_write

CHANNEL_ORDERS = ("3diebench", "rgb")
MANIFEST = "render.json"
DONE = ".done"
FORMAT = "seqjepa-render/1"
CHANNEL_NOTE = {
    "3diebench": "R and B swapped on disk, as SIE/seq-JEPA wrote BlenderProc RGB with cv2.imwrite",
    "rgb": "true colours: a standard RGB JPEG",
}


def encode_view(rgb: np.ndarray, channel_order: str, quality: int = 95) -> bytes:
    """JPEG bytes of an RGB uint8 image, stored in ``channel_order`` (see the module doc)."""
    if channel_order not in CHANNEL_ORDERS:
        raise ValueError(f"channel order {channel_order!r} is not one of {CHANNEL_ORDERS}")
    # cv2 treats the array as BGR: handing it RGB unchanged is exactly what SIE did.
    arr = rgb if channel_order == "3diebench" else rgb[..., ::-1]
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(arr), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    return buf.tobytes()


def decode_view(data: bytes | Path, channel_order: str) -> np.ndarray:
    """The true-colour RGB image of a stored view (undoes the swap of ``"3diebench"``)."""
    raw = Path(data).read_bytes() if isinstance(data, (str, Path)) else data
    bgr = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("not a decodable image")
    return np.ascontiguousarray(bgr if channel_order == "3diebench" else bgr[..., ::-1])


class OutputTree:
    """Paths and atomic writes under one output directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def object_dir(self, synset: str, obj: str) -> Path:
        return self.root / synset / obj

    def image_path(self, synset: str, obj: str, view: int) -> Path:
        return self.object_dir(synset, obj) / f"image_{view}.jpg"

    def latent_path(self, synset: str, obj: str, view: int) -> Path:
        return self.object_dir(synset, obj) / f"latent_{view}.npy"

    def is_done(self, synset: str, obj: str, views: Sequence[int], fingerprint: str) -> bool:
        marker = self.object_dir(synset, obj) / DONE
        try:
            info = json.loads(marker.read_text())
        except (OSError, ValueError):
            return False
        if info.get("settings") != fingerprint or info.get("views") != list(views):
            return False
        return all(
            self.image_path(synset, obj, k).is_file() and self.latent_path(synset, obj, k).is_file()
            for k in views
        )

    def write_object(
        self,
        synset: str,
        obj: str,
        views: Sequence[int],
        images: Sequence[bytes],
        latents: np.ndarray,
        fingerprint: str,
    ) -> None:
        """Write all views of one object, then its ``.done`` marker."""
        if not len(views) == len(images) == len(latents):
            raise ValueError("views, images and latents must have the same length")
        folder = self.object_dir(synset, obj)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / DONE).unlink(missing_ok=True)
        for k, jpg, lat in zip(views, images, latents, strict=True):
            atomic_write(self.image_path(synset, obj, k), jpg)
            atomic_write(self.latent_path(synset, obj, k), encode_npy(np.asarray(lat, np.float64)))
        marker = {"views": list(views), "settings": fingerprint}
        atomic_write(folder / DONE, json.dumps(marker).encode())

    def write_split(
        self, name: str, objects: Sequence[tuple[str, str]], classes: Sequence[str]
    ) -> tuple[Path, Path]:
        """``<name>_images.npy`` and ``<name>_labels.npy`` in 3DIEBench's format."""
        index = {c: i for i, c in enumerate(classes)}
        images = np.array([f"/{s}/{o}/" for s, o in objects], dtype=str)
        if images.size == 0:
            images = np.zeros(0, dtype="<U1")
        labels = np.array([index[s] for s, _ in objects], dtype=np.int64)
        paths = (self.root / f"{name}_images.npy", self.root / f"{name}_labels.npy")
        atomic_write(paths[0], encode_npy(images))
        atomic_write(paths[1], encode_npy(labels))
        return paths

    # -- render.json -------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def read_manifest(self) -> dict | None:
        try:
            return json.loads(self.manifest_path.read_text())
        except FileNotFoundError:
            return None

    def write_manifest(self, manifest: dict) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write(self.manifest_path, (json.dumps(manifest, indent=1) + "\n").encode())
