"""Saccade fixations: sample ∝ saliency with inhibition of return (IoR), and cut foveal patches.

Two implementations draw from the same distribution:

* :func:`sample_fixations_reference`, one image at a time with numpy (readable, the spec);
* :func:`sample_fixations`, a whole batch at once with torch on any device: per fixation step it
  inverts the masked mass of every map in two stages (a row, then a column within it) with
  pre-drawn uniforms, so there is no per-sample Python loop and the uniforms can be drawn per
  sample id on the host (keeping sequences deterministic given seed, epoch and sample id).

IoR zeroes a disk (the paper) or a square box (the authors' code) of ``radius`` pixels around
every previous fixation. When IoR has removed all saliency mass, the next fixation is uniform
over the pixels not yet inhibited (or over the whole map if none is left). Fixations are
(row, col) map pixels; patches are centred on them (rows r − P/2 … r + P/2 − 1), unlike the
authors' code, which cuts at the transposed location.
"""

from __future__ import annotations

import math
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


def _window(radius: float, ior: IoR, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(row, col) offsets of the pixels IoR inhibits around a fixation."""
    half = max(0, math.floor(radius))
    offsets = torch.arange(-half, half + 1, device=device)
    dr, dc = torch.meshgrid(offsets, offsets, indexing="ij")
    if ior == "disk":
        inside = dr.square() + dc.square() <= radius**2
    else:
        inside = torch.maximum(dr.abs(), dc.abs()) <= radius
    return dr[inside], dc[inside]


def sample_fixations(
    log_density: torch.Tensor | None,
    uniforms: torch.Tensor,
    *,
    ior: IoR = "disk",
    radius: float = 16.0,
    shape: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Batched fixations (B, n, 2) from maps (B, H, W) and uniforms (B, n) in [0, 1).

    Each step inverts the cumulative mass at (1 − u)·total (1 − u is in (0, 1], so the chosen
    pixel always has mass, even where u·total would round up to the total) in two stages: the
    row from the cumulative row masses, then the column from that row's cumulative mass — the
    same categorical draw as one cumulative sum over the map, without a full-map pass per
    fixation. IoR then zeroes the window around the fixation (maps are zero-padded by the
    radius, so windows need no clipping) and recomputes the masses of the rows it touched.
    """
    b, n = uniforms.shape
    device = uniforms.device
    h, w = shape if log_density is None else log_density.shape[-2:]
    half = max(0, math.floor(radius)) if ior != "none" else 0
    rows_p, cols_p = h + 2 * half, w + 2 * half
    mass = torch.zeros(b, rows_p, cols_p, device=device)
    inner = mass[:, half : half + h, half : half + w]
    if log_density is None:
        inner.fill_(1.0)
    else:
        logd = log_density.reshape(b, h, w).float()
        inner.copy_(torch.exp(logd - logd.amax(dim=(1, 2), keepdim=True)))  # max 1: no underflow
    flat = mass.view(b, -1)
    row_mass = mass.sum(2)
    batch = torch.arange(b, device=device)
    if ior != "none":
        dr, dc = _window(radius, ior, device)
        window = dr * cols_p + dc  # flat offsets of the inhibited pixels
        span = torch.arange(-half, half + 1, device=device)  # the rows a window touches
    out = torch.empty(b, n, 2, dtype=torch.long, device=device)
    for t in range(n):
        row_cdf = row_mass.cumsum(1)
        empty = row_cdf[:, -1] <= 0
        if empty.any():  # IoR removed all saliency: uniform over what is not inhibited
            _uniform_over_allowed(mass, row_mass, empty, out[:, :t], half, (h, w), ior, radius)
            row_cdf = row_mass.cumsum(1)
        target = (1 - uniforms[:, t : t + 1].to(torch.float64)).to(row_cdf.dtype) * row_cdf[:, -1:]
        r = torch.searchsorted(row_cdf, target).clamp_(max=rows_p - 1)
        below = torch.where(r > 0, row_cdf.gather(1, (r - 1).clamp_(min=0)), 0.0)
        col_cdf = mass[batch, r[:, 0]].cumsum(1)
        c = torch.searchsorted(col_cdf, torch.minimum(target - below, col_cdf[:, -1:]))
        c.clamp_(max=cols_p - 1)
        out[:, t, 0], out[:, t, 1] = r[:, 0] - half, c[:, 0] - half
        if ior != "none":
            flat.scatter_(1, r * cols_p + c + window, 0.0)
            touched = r + span
            row_mass.scatter_(1, touched, mass[batch[:, None], touched].sum(2))
    return out


def _uniform_over_allowed(mass, row_mass, empty, previous, half, hw, ior, radius) -> None:
    """Replace the exhausted maps by 1 on pixels no previous fixation inhibited (all if none)."""
    (h, w), idx = hw, empty.nonzero().squeeze(1)
    fresh = torch.zeros_like(mass[idx])
    fresh[:, half : half + h, half : half + w] = 1.0
    if ior != "none" and previous.shape[1]:
        dr, dc = _window(radius, ior, mass.device)
        centres = (previous[idx, :, 0] + half) * mass.shape[2] + previous[idx, :, 1] + half
        inhibited = (centres[:, :, None] + dr * mass.shape[2] + dc).flatten(1)
        fresh.view(len(idx), -1).scatter_(1, inhibited, 0.0)
    fresh[fresh.sum((1, 2)) <= 0, half : half + h, half : half + w] = 1.0
    mass[idx] = fresh
    row_mass[idx] = fresh.sum(2)


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

    Exact integer crops (no resampling): one gather from the view of every P×P window of the
    padded images, so a patch is copied whole; outside the image the patch is ``fill``.
    """
    half = size // 2
    padded = F.pad(images, (half, size - half, half, size - half), value=fill)
    windows = padded.unfold(2, size, 1).unfold(3, size, 1)  # (B, C, H+1, W+1, P, P), a view
    batch = torch.arange(images.shape[0], device=images.device)[:, None]
    # Window (r, c) of the padded image starts at image pixel (r - half, c - half).
    return windows[batch, :, centres[..., 0], centres[..., 1]]  # (B, n, C, P, P)
