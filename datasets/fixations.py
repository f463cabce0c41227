"""Saccade fixations: sample ∝ saliency with inhibition of return (IoR), and cut foveal patches.

Two implementations draw from the same distribution:

* :func:`sample_fixations_reference`, one image at a time with numpy (readable, the spec);
* :func:`sample_fixations`, a whole batch at once with torch on any device: per fixation step it
  builds the masked cumulative mass of every map and inverts it with pre-drawn uniforms, so
  there is no per-sample Python loop and the uniforms can be drawn per sample id on the host
  (keeping sequences deterministic given seed, epoch and sample id).

IoR zeroes a disk (the paper) or a square box (the authors' code) of ``radius`` pixels around
every previous fixation. When IoR has removed all saliency mass, the next fixation is uniform
over the pixels not yet inhibited (or over the whole map if none is left). Fixations are
(row, col) map pixels; patches are centred on them (rows r − P/2 … r + P/2 − 1), unlike the
authors' code, which cuts at the transposed location.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

IoR = Literal["disk", "box", "none"]


def _inhibited_np(
    shape: tuple[int, int], row: int, col: int, radius: float, ior: IoR
) -> np.ndarray:
    rows = np.arange(shape[0])[:, None] - row
    cols = np.arange(shape[1])[None, :] - col
    if ior == "disk":
        return rows**2 + cols**2 <= radius**2
    return (np.abs(rows) <= radius) & (np.abs(cols) <= radius)


def sample_fixations_reference(
    log_density: np.ndarray | None,
    n: int,
    rng: np.random.Generator,
    *,
    ior: IoR = "disk",
    radius: float = 16.0,
    shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """``n`` fixations (n, 2) on one map; ``log_density=None`` samples uniformly (the ablation)."""
    if log_density is None:
        p = np.ones(shape, dtype=np.float64)
    else:
        logd = np.asarray(log_density, dtype=np.float64)
        p = np.exp(logd - logd.max())
    allowed = np.ones(p.shape, dtype=bool)
    out = np.empty((n, 2), dtype=np.int64)
    for t in range(n):
        mass = p * allowed
        if mass.sum() <= 0:
            mass = allowed.astype(np.float64) if allowed.any() else np.ones(p.shape)
        idx = rng.choice(mass.size, p=(mass / mass.sum()).ravel())
        out[t] = divmod(idx, p.shape[1])
        if ior != "none":
            allowed &= ~_inhibited_np(p.shape, *out[t], radius, ior)
    return out


def sample_fixations(
    log_density: torch.Tensor | None,
    uniforms: torch.Tensor,
    *,
    ior: IoR = "disk",
    radius: float = 16.0,
    shape: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Batched fixations (B, n, 2) from maps (B, H, W) and uniforms (B, n) in [0, 1)."""
    b, n = uniforms.shape
    device = uniforms.device
    if log_density is None:
        h, w = shape
        p = torch.ones(b, h * w, device=device)
    else:
        h, w = log_density.shape[-2:]
        logd = log_density.reshape(b, -1).float()
        p = torch.exp(logd - logd.amax(dim=1, keepdim=True))  # max 1: no underflow of the mode
    allowed = torch.ones(b, h * w, dtype=torch.bool, device=device)
    grid_r = torch.arange(h, device=device, dtype=torch.float32).repeat_interleave(w)
    grid_c = torch.arange(w, device=device, dtype=torch.float32).repeat(h)
    out = torch.empty(b, n, 2, dtype=torch.long, device=device)
    for t in range(n):
        cdf = p.cumsum(1)
        empty = cdf[:, -1] <= 0
        if empty.any():  # IoR removed all saliency: uniform over what is not inhibited
            fallback = allowed[empty].float()
            fallback[fallback.sum(1) <= 0] = 1.0
            cdf[empty] = fallback.cumsum(1)
        target = uniforms[:, t : t + 1].to(cdf.dtype) * cdf[:, -1:]
        idx = torch.searchsorted(cdf, target, right=True).clamp_(max=h * w - 1).squeeze(1)
        row, col = idx // w, idx % w
        out[:, t, 0], out[:, t, 1] = row, col
        if ior != "none":
            dr = (grid_r[None] - row[:, None]).abs_()
            dc = (grid_c[None] - col[:, None]).abs_()
            hit = (
                dr.square_().add_(dc.square_()) <= radius**2
                if ior == "disk"
                else (torch.maximum(dr, dc) <= radius)
            )
            p.masked_fill_(hit, 0.0)
            allowed.masked_fill_(hit, False)
    return out


def to_image_pixels(fix: torch.Tensor, map_shape: tuple[int, int], image_shape: tuple[int, int]):
    """Map-grid fixations → image pixel centres (same grid when the sizes agree)."""
    if tuple(map_shape) == tuple(image_shape):
        return fix
    scale = torch.tensor(image_shape, device=fix.device) / torch.tensor(
        map_shape, device=fix.device
    )
    return ((fix.to(torch.float64) + 0.5) * scale).floor().long()


def cut_patches(
    images: torch.Tensor, centres: torch.Tensor, size: int, fill: int = 0
) -> torch.Tensor:
    """Patches (B, n, C, P, P) centred on ``centres`` (B, n, 2) of images (B, C, H, W).

    Exact integer crops by gather (no resampling); outside the image the patch is ``fill``.
    """
    half = size // 2
    padded = F.pad(images, (half, size - half, half, size - half), value=fill)
    hwc = padded.permute(0, 2, 3, 1)
    offsets = torch.arange(size, device=images.device)
    rows = centres[..., 0, None] + offsets  # padded coordinates: (r - half) + half
    cols = centres[..., 1, None] + offsets
    batch = torch.arange(images.shape[0], device=images.device)[:, None, None, None]
    patches = hwc[batch, rows[..., :, None], cols[..., None, :]]  # (B, n, P, P, C)
    return patches.permute(0, 1, 4, 2, 3).contiguous()
