"""`seqjepa-prep preview DIR --out grid.png`: look at a few samples.

Objects: one row per object, its views titled with their rotation (XYZ Euler, degrees).
Images: a grid of images with the saliency map overlaid when the shards carry one.
"""

from __future__ import annotations

import io
from itertools import islice
from pathlib import Path

import numpy as np
from PIL import Image

from seqjepa.datasets import schema
from seqjepa.datasets.shards import iter_shard


def _image(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def preview(
    directory: str | Path, out: str | Path, split: str | None = None, count: int = 8
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = Path(directory)
    index = schema.DatasetIndex.read(directory)
    split = split or next(iter(index.splits))
    paths = index.shard_paths(directory, split)
    samples = list(islice((s for p in paths for s in iter_shard(p)), count))
    if not samples:
        raise ValueError(f"split {split!r} of {directory} holds no samples")
    if index.kind == "objects":
        views = max(len(schema.object_views(members)) for _, members in samples)
        fig, axes = plt.subplots(
            len(samples), views, figsize=(2 * views, 2.2 * len(samples)), squeeze=False
        )
        for row, (sid, members) in zip(axes, samples, strict=True):
            latents = schema.decode_npy(members[schema.LATENTS])
            for ax, view, latent in zip(row, schema.object_views(members), latents, strict=False):
                ax.imshow(_image(view))
                ax.set_title(
                    "rot " + " ".join(f"{np.degrees(a):.0f}" for a in latent[:3]), fontsize=7
                )
            row[0].set_ylabel(sid.split("/", 2)[-1], fontsize=6)
    else:
        cols = min(4, len(samples))
        rows = -(-len(samples) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), squeeze=False)
        for ax, (sid, members) in zip(axes.flat, samples, strict=False):
            ext = next(m for m in members if m in schema.IMAGE_EXTS)
            img = _image(members[ext])
            ax.imshow(img)
            if schema.SALIENCY in members:
                logd = schema.decode_npy(members[schema.SALIENCY]).astype(np.float32)
                ax.imshow(
                    np.exp(logd - logd.max()),
                    cmap="jet",
                    alpha=0.45,
                    extent=(0, img.shape[1], img.shape[0], 0),
                )
            ax.set_title(f"{sid.split('/', 2)[-1]} · class {int(members[schema.CLS])}", fontsize=7)
    for ax in fig.axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
