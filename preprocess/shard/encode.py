"""Turn one raw sample into its tar members.

Encoded sources are copied byte for byte when no resize is asked (after a cheap reduced-size
decode proves they are readable). Decoded pixels (the STL-10 and CIFAR binaries) are stored
losslessly as binary PPM by default: uncompressed, so the loader's decode is a copy (decoding
96 px PNGs was the largest per-sample cost of the STL-10 loader), or as PNG with
``pixels="png"`` for smaller shards. A resize sets the shorter side with PIL's antialiased
bilinear filter (what torchvision's Resize does on PIL images, the paper's 256 → 128 for
3DIEBench) and re-encodes in the source's family.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from seqjepa.datasets import schema

from ..readers import CorruptSample, RawImage, RawObject


@dataclass(frozen=True)
class EncodeOptions:
    size: int | None = None  # shorter side after resize; None keeps the source size
    quality: int = 95  # JPEG quality when (re-)encoding JPEG
    pixels: str = "ppm"  # lossless format for decoded pixels: "ppm" (fast to read) or "png"


def _open(data: bytes, draft: bool) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(data))
        if draft and img.format == "JPEG":
            img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))
        img.load()
        return img
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise CorruptSample(f"undecodable image ({exc})") from None


def _resize(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    scale = size / min(w, h)
    target = (max(1, round(w * scale)), max(1, round(h * scale)))
    return img.convert("RGB").resize(target, Image.BILINEAR)


def _encode(img: Image.Image, ext: str, quality: int) -> bytes:
    buf = io.BytesIO()
    if ext == "jpg":
        img.convert("RGB").save(buf, format="JPEG", quality=quality)
    elif ext == "ppm":
        img.convert("RGB").save(buf, format="PPM")
    else:
        img.convert("RGB").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def encode_image(data: bytes, ext: str, opts: EncodeOptions) -> tuple[bytes, str, tuple[int, int]]:
    """Return (bytes, ext, (height, width)) of one encoded source image."""
    if opts.size is None:
        _open(data, draft=True)  # proves the bytes decode; they are then copied unchanged
        w, h = Image.open(io.BytesIO(data)).size
        return data, ext, (h, w)
    img = _resize(_open(data, draft=False), opts.size)
    out_ext = "jpg" if ext == "jpg" else "png"
    return _encode(img, out_ext, opts.quality), out_ext, (img.height, img.width)


def encode_pixels(pixels: np.ndarray, opts: EncodeOptions) -> tuple[bytes, str, tuple[int, int]]:
    img = Image.fromarray(pixels)
    if opts.size is not None:
        img = _resize(img, opts.size)
    return _encode(img, opts.pixels, opts.quality), opts.pixels, (img.height, img.width)


def image_members(
    raw: RawImage, sid: str, label: int, opts: EncodeOptions, saliency: np.ndarray | None
) -> dict[str, bytes]:
    if raw.data is not None:
        data, ext, hw = encode_image(raw.data, raw.ext or "jpg", opts)
    else:
        data, ext, hw = encode_pixels(raw.pixels, opts)
    members = {
        ext: data,
        schema.CLS: str(label).encode(),
        schema.META: schema.encode_json({"id": sid, "size": list(hw), **raw.meta}),
    }
    if saliency is not None:
        members[schema.SALIENCY] = schema.encode_npy(saliency.astype(np.float16))
    return members


def object_members(raw: RawObject, sid: str, label: int, opts: EncodeOptions) -> dict[str, bytes]:
    members = {
        schema.CLS: str(label).encode(),
        schema.LATENTS: schema.encode_npy(raw.latents.astype(np.float32)),
        schema.META: schema.encode_json({"id": sid, "view_ids": raw.view_ids, **raw.meta}),
    }
    # All views in one member (schema v2): a tar member costs the loader more than a decode.
    members[schema.VIEWS] = schema.pack_views([encode_image(v, "jpg", opts)[0] for v in raw.views])
    return members
