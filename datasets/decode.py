"""Image decoding in the cheapest place: OpenCV, at reduced size straight from the JPEG DCT.

A 256 px JPEG asked for at 128 px is decoded at half scale (``IMREAD_REDUCED_COLOR_2``), which
costs about a quarter of a full decode and needs no separate resize. OpenCV ≥ 4.10 decodes
straight to RGB (no BGR → RGB pass); older versions convert after decoding.
"""

from __future__ import annotations

import cv2
import numpy as np

_RGB = getattr(cv2, "IMREAD_COLOR_RGB", None)
_REDUCED = {
    1: cv2.IMREAD_COLOR,
    2: cv2.IMREAD_REDUCED_COLOR_2,
    4: cv2.IMREAD_REDUCED_COLOR_4,
    8: cv2.IMREAD_REDUCED_COLOR_8,
}
if _RGB is not None:  # the same reductions, decoded to RGB
    _REDUCED = {f: (flag & ~cv2.IMREAD_COLOR) | _RGB for f, flag in _REDUCED.items()}


class DecodeError(ValueError):
    """A member that does not decode as an image."""


def decode_rgb(data: bytes, size: int | None = None, stored: int | None = None) -> np.ndarray:
    """Decode to HxWx3 uint8 RGB; with ``size``, return a ``size``×``size`` image.

    ``stored`` (the side the image was written at, when known) lets JPEGs decode directly at a
    power-of-two reduction.
    """
    factor = 1
    if size is not None and stored is not None and stored > size:
        factor = max(f for f in _REDUCED if stored % f == 0 and stored // f >= size)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), _REDUCED[factor])
    if img is None:
        raise DecodeError("member does not decode as an image")
    if size is not None and img.shape[:2] != (size, size):
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    return img if _RGB is not None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
