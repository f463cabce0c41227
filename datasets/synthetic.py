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
from torch.utils.data import Dataset

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
