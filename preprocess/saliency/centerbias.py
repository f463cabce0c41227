"""Centre-bias priors: log-densities that say where people look regardless of the image.

Three kinds, all float32 (H, W) log-densities with logsumexp 0, computed once per size (an LRU
cache, since native-resolution ImageNet has thousands of sizes):

- ``file``: a user-supplied template such as DeepGaze's ``centerbias_mit1003.npy`` (1024×1024
  log-density fitted on MIT1003 fixations). It is stretched to (H, W) exactly as the DeepGaze
  README and the seq-JEPA scripts do, ``scipy.ndimage.zoom(order=0, mode="nearest")`` (corner to
  corner, so not the same as slicing every other pixel), then renormalised.
- ``uniform``: log(1 / (H·W)) everywhere; what DeepGaze gets without a file (the upstream README
  allows a zero template).
- ``gaussian``: an axis-aligned Gaussian at the image centre with σ a fixed fraction of the height
  and width (default 0.25, so σ = 24 px on a 96² image); stretched with the aspect ratio, like the
  MIT1003 template. The ``center`` fallback uses it when no file is given.
"""

from __future__ import annotations

from collections import OrderedDict
from os import PathLike
from typing import Any

import numpy as np
import torch
from scipy.ndimage import zoom
from scipy.special import logsumexp

from seqjepa.datasets.schema import sha256_file

DEFAULT_SIGMA_FRACTION = 0.25


class CenterBias:
    """A centre-bias prior; :meth:`log_density` gives it at any size."""

    def __init__(
        self,
        kind: str,
        template: np.ndarray | None = None,
        source: str | None = None,
        sha256: str | None = None,
        sigma_fraction: float = DEFAULT_SIGMA_FRACTION,
        cache_size: int = 32,
    ) -> None:
        if kind not in ("file", "uniform", "gaussian"):
            raise ValueError(f"unknown centre-bias kind {kind!r}")
        if kind == "file" and template is None:
            raise ValueError("a file centre bias needs its template")
        if kind == "gaussian" and not sigma_fraction > 0:
            raise ValueError("sigma_fraction must be positive")
        self.kind = kind
        self.template = template
        self.source = source
        self.sha256 = sha256
        self.sigma_fraction = sigma_fraction
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[int, int], torch.Tensor] = OrderedDict()

    @classmethod
    def from_file(cls, path: str | PathLike, cache_size: int = 32) -> CenterBias:
        """Load a 2-d log-density template from ``.npy`` (no pickle) and hash the file."""
        template = np.load(path, allow_pickle=False)
        if template.ndim != 2 or not np.issubdtype(template.dtype, np.floating):
            raise ValueError(
                f"{path}: expected a 2-d float log-density template, got {template.dtype} "
                f"{template.shape}"
            )
        template = template.astype(np.float64)
        if np.isnan(template).any() or np.isposinf(template).any():
            raise ValueError(f"{path}: the centre-bias template contains NaN or +inf")
        return cls(
            "file", template, source=str(path), sha256=sha256_file(path), cache_size=cache_size
        )

    @classmethod
    def uniform(cls) -> CenterBias:
        return cls("uniform")

    @classmethod
    def gaussian(cls, sigma_fraction: float = DEFAULT_SIGMA_FRACTION) -> CenterBias:
        return cls("gaussian", sigma_fraction=sigma_fraction)

    def log_density(self, height: int, width: int) -> torch.Tensor:
        """(height, width) float32 log-density on the CPU; computed once per size."""
        key = (int(height), int(width))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        value = torch.from_numpy(self._compute(*key).astype(np.float32))
        self._cache[key] = value
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return value

    def _compute(self, height: int, width: int) -> np.ndarray:
        if self.kind == "uniform":
            return np.full((height, width), -np.log(height * width))
        if self.kind == "gaussian":
            ys = ((np.arange(height) + 0.5) / height - 0.5) / self.sigma_fraction
            xs = ((np.arange(width) + 0.5) / width - 0.5) / self.sigma_fraction
            logp = -0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2)
            return logp - logsumexp(logp)
        th, tw = self.template.shape
        resized = zoom(self.template, (height / th, width / tw), order=0, mode="nearest")
        if resized.shape != (height, width):  # pragma: no cover - scipy rounds the output size
            raise RuntimeError(f"zoom gave {resized.shape}, expected {(height, width)}")
        return resized - logsumexp(resized)

    def provenance(self) -> dict[str, Any]:
        if self.kind == "file":
            description = self.source
        elif self.kind == "gaussian":
            description = f"gaussian(sigma={self.sigma_fraction:g} of height and width)"
        else:
            description = "uniform"
        return {"centerbias": description, "centerbias_sha256": self.sha256}


def as_center_bias(value: CenterBias | str | PathLike | None, default: CenterBias) -> CenterBias:
    """A :class:`CenterBias` from an instance, a ``.npy`` path, or ``None`` (→ ``default``)."""
    if value is None:
        return default
    if isinstance(value, CenterBias):
        return value
    return CenterBias.from_file(value)
