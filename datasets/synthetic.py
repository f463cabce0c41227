"""A built-in synthetic view-action set: textured images seen under known 2-D rotations.

It needs no files, so the demo and tests can exercise the full model and trainer before any data
is sharded. Each sample is a class-dependent random texture; its views are rotations of the
texture by random angles, and the relative action between consecutive views is the rotation
increment encoded as (cos Δ, sin Δ) - a continuous, learnable equivariance target.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, IterableDataset, get_worker_info

ACTION_DIM = 2


class SyntheticRotations(Dataset):
    def __init__(
        self,
        num_samples: int,
        num_views: int,
        image_size: int = 32,
        num_classes: int = 10,
        seed: int = 0,
    ) -> None:
        self.num_samples = num_samples
        self.num_views = num_views
        self.image_size = image_size
        self.num_classes = num_classes
        self.seed = seed

    def __len__(self) -> int:
        return self.num_samples

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng((self.seed, index))
        label = index % self.num_classes
        base = self._texture(rng, label)
        angles = rng.uniform(-math.pi, math.pi, size=self.num_views)
        views = torch.stack([_rotate(base, a) for a in angles])
        deltas = np.diff(angles)
        actions = np.stack([np.cos(deltas), np.sin(deltas)], axis=-1).astype(np.float32)
        return {
            "views": (views.clamp(0, 1) * 255).to(torch.uint8),
            "actions": torch.from_numpy(actions),
            "label": label,
            "key": f"synthetic/train/{index}",
        }

    def _texture(self, rng: np.random.Generator, label: int) -> torch.Tensor:
        """Low-frequency colour noise whose dominant frequency depends on the class."""
        s = self.image_size
        freq = 2 + label % 5
        coarse = torch.from_numpy(rng.random((3, freq, freq), dtype=np.float32))
        img = F.interpolate(coarse[None], size=(s, s), mode="bicubic", align_corners=False)[0]
        xx = torch.linspace(-1, 1, s).expand(s, s)
        stripe = 0.5 + 0.5 * torch.sin((label + 1) * math.pi * xx)  # breaks rotation symmetry
        return (0.6 * img + 0.4 * stripe).clamp(0, 1)


def _rotate(img: torch.Tensor, angle: float) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    theta = torch.tensor([[c, -s, 0.0], [s, c, 0.0]], dtype=img.dtype)
    grid = F.affine_grid(theta[None], [1, *img.shape], align_corners=False)
    return F.grid_sample(img[None], grid, padding_mode="reflection", align_corners=False)[0]


class SyntheticStream(IterableDataset):
    """Batches of :class:`SyntheticRotations` in a (seed, epoch)-seeded order, with the same
    epoch/skip/worker semantics as the shard stream, so synthetic runs resume exactly too."""

    def __init__(
        self,
        dataset: SyntheticRotations,
        batch_size: int,
        seed: int,
        start_epoch: int = 0,
        skip_batches: int = 0,
    ) -> None:
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self.start_epoch, self.skip_batches, self._passes = start_epoch, skip_batches, 0

    def __len__(self) -> int:
        return len(self.dataset) // self.batch_size

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        epoch = self.start_epoch + self._passes
        skip = self.skip_batches if self._passes == 0 else 0
        self._passes += 1
        order = np.random.default_rng((self.seed, epoch)).permutation(len(self.dataset))
        for b in range(skip, len(self)):
            if b % workers != worker:
                continue
            items = [
                self.dataset[int(i)] for i in order[b * self.batch_size : (b + 1) * self.batch_size]
            ]
            yield {
                "views": torch.stack([it["views"] for it in items]),
                "actions": torch.stack([it["actions"] for it in items]),
                "label": torch.tensor([it["label"] for it in items]),
                "key": [it["key"] for it in items],
                "epoch": torch.tensor(epoch),
            }
