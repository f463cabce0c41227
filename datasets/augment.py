"""The EquiMod augmentation protocol as the paper uses it, sampled per view and applied per batch.

Per view: random resized crop (scale 0.2–1, ratio 3/4–4/3) + horizontal flip (p 0.5), colour
jitter (brightness 0.4, contrast 0.4, saturation 0.2, hue 0.1, random order) with p 0.8,
grayscale p 0.2, Gaussian blur σ ~ U(0.1, 2) (p 1.0 on observed views, 0.1 on the predicted
view) and solarize (p 0 on observed views, 0.2 on the predicted view), as in the authors' code.

Parameters are drawn per sample (numpy, seeded by sample id) and recorded per view:
``[top, left, height, width]`` as fractions of the image, ``[brightness, contrast, saturation,
hue]`` factors ((1, 1, 1, 0) when jitter is off), ``σ`` (0 when not blurred), then the flags
flip, grayscale, solarize, and the jitter order. :func:`apply` renders a whole batch of views from
these parameters with vectorised torch ops (any device), so re-applying recorded parameters
reproduces a view exactly. Crops are resampled bilinearly with ``roi_align``, averaging
``ceil(crop/output)`` samples per pixel (an antialiased downscale; torchvision's PIL pipeline
uses bicubic: the difference is interpolation detail only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import roi_align

PARAM_NAMES = (
    "top",
    "left",
    "height",
    "width",
    "brightness",
    "contrast",
    "saturation",
    "hue",
    "sigma",
    "flip",
    "grayscale",
    "solarize",
)
ACTION_SLICES = {"crop": slice(0, 4), "jitter": slice(4, 8), "blur": slice(8, 9)}
JITTER = (0.4, 0.4, 0.2, 0.1)


def action_columns(action: str) -> list[int]:
    """Parameter columns of an action spec such as ``crop``, ``crop+jitter`` or ``all``."""
    names = ["crop", "jitter", "blur"] if action == "all" else action.split("+")
    unknown = [n for n in names if n not in ACTION_SLICES]
    if unknown or not names:
        raise ValueError(
            f"unknown augmentation action {action!r}; "
            "use all, crop, jitter, blur or a '+' combination"
        )
    return [c for n in names for c in range(9)[ACTION_SLICES[n]]]


@dataclass(frozen=True)
class Protocol:
    scale: tuple[float, float] = (0.2, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    jitter_p: float = 0.8
    gray_p: float = 0.2
    blur_p: tuple[float, float] = (1.0, 0.1)  # (observed views, predicted view)
    solarize_p: tuple[float, float] = (0.0, 0.2)
    sigma: tuple[float, float] = (0.1, 2.0)


def sample_params(rng: np.random.Generator, num_views: int, size: int, p: Protocol = Protocol()):
    """(params (V, 12) float32, jitter order (V, 4) int64) for one sample's V views."""
    v = num_views
    params = np.zeros((v, 12), dtype=np.float32)
    # RandomResizedCrop: 10 attempts, first that fits, else the central crop (torchvision's rule).
    area = rng.uniform(*p.scale, (v, 10))
    log_ratio = rng.uniform(math.log(p.ratio[0]), math.log(p.ratio[1]), (v, 10))
    ratio = np.exp(log_ratio)
    w = np.round(np.sqrt(area * ratio) * size)
    h = np.round(np.sqrt(area / ratio) * size)
    fits = (w > 0) & (h > 0) & (w <= size) & (h <= size)
    first = np.argmax(fits, axis=1)
    ok = fits[np.arange(v), first]
    w = np.where(ok, w[np.arange(v), first], size)
    h = np.where(ok, h[np.arange(v), first], size)
    top = np.floor(rng.uniform(0, 1, v) * (size - h + 1))
    left = np.floor(rng.uniform(0, 1, v) * (size - w + 1))
    params[:, 0:4] = np.stack([top, left, h, w], 1) / size
    jitter = rng.random(v) < p.jitter_p
    factors = np.stack(
        [
            rng.uniform(1 - JITTER[0], 1 + JITTER[0], v),
            rng.uniform(1 - JITTER[1], 1 + JITTER[1], v),
            rng.uniform(1 - JITTER[2], 1 + JITTER[2], v),
            rng.uniform(-JITTER[3], JITTER[3], v),
        ],
        1,
    )
    params[:, 4:8] = np.where(jitter[:, None], factors, [1.0, 1.0, 1.0, 0.0])
    last = np.arange(v) == v - 1
    blur = rng.random(v) < np.where(last, p.blur_p[1], p.blur_p[0])
    params[:, 8] = np.where(blur, rng.uniform(*p.sigma, v), 0.0)
    params[:, 9] = rng.random(v) < p.flip_p
    params[:, 10] = rng.random(v) < p.gray_p
    params[:, 11] = rng.random(v) < np.where(last, p.solarize_p[1], p.solarize_p[0])
    order = np.argsort(rng.random((v, 4)), axis=1)
    return params, order


def blur_kernel_size(image_size: int) -> int:
    """EquiMod's kernel: 2·round((S − 10)/20) + 1, i.e. 3 at 32 px and 7 at 64 px."""
    return max(3, 2 * round((image_size - 10) / 20) + 1)


def _gray(x: torch.Tensor) -> torch.Tensor:
    return (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)


def _rgb_to_hsv(x):
    r, g, b = x.unbind(1)
    maxc, _ = x.max(1)
    minc, _ = x.min(1)
    delta = maxc - minc
    s = torch.where(maxc > 0, delta / maxc.clamp(min=1e-12), torch.zeros_like(maxc))
    dc = delta.clamp(min=1e-12)
    h = torch.where(
        maxc == r, (g - b) / dc, torch.where(maxc == g, 2 + (b - r) / dc, 4 + (r - g) / dc)
    )
    h = torch.where(delta > 0, (h / 6) % 1.0, torch.zeros_like(h))
    return torch.stack([h, s, maxc], 1)


def _hsv_to_rgb(x):
    """Branch-free HSV → RGB: channel n = v − v·s·clamp(min(k, 4 − k), 0, 1), k = (n + 6h) mod 6."""
    h, s, v = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    n = torch.tensor([5.0, 3.0, 1.0], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    k = (n + 6 * h) % 6
    return v - v * s * torch.minimum(k, 4 - k).clamp(0, 1)


def _jitter_op(x: torch.Tensor, op: int, factor: torch.Tensor) -> torch.Tensor:
    f = factor.view(-1, 1, 1, 1)
    if op == 0:  # brightness
        return (x * f).clamp(0, 1)
    if op == 1:  # contrast: blend with the mean grey level
        mean = _gray(x).mean(dim=(1, 2, 3), keepdim=True)
        return (mean + f * (x - mean)).clamp(0, 1)
    if op == 2:  # saturation: blend with the grey image
        gray = _gray(x)
        return (gray + f * (x - gray)).clamp(0, 1)
    hsv = _rgb_to_hsv(x)
    hsv = torch.stack([(hsv[:, 0] + factor.view(-1, 1, 1)) % 1.0, hsv[:, 1], hsv[:, 2]], 1)
    return _hsv_to_rgb(hsv)


def _blur(x: torch.Tensor, sigma: torch.Tensor, k: int) -> torch.Tensor:
    n, c, h, w = x.shape
    radius = k // 2
    offsets = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (offsets[None] / sigma.clamp(min=1e-6)[:, None]) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (n*c, k)
    flat = F.pad(x.reshape(1, n * c, h, w), (radius, radius, radius, radius), mode="reflect")
    flat = F.conv2d(flat, kernel.view(n * c, 1, k, 1), groups=n * c)
    flat = F.conv2d(flat, kernel.view(n * c, 1, 1, k), groups=n * c)
    return flat.view(n, c, h, w)


def apply(
    images: torch.Tensor, params: torch.Tensor, order: torch.Tensor, size: int
) -> torch.Tensor:
    """Render views: images (N, 3, H, W), params (N, 12), order (N, 4) → uint8 (N, 3, S, S)."""
    n, _, h, w = images.shape
    x = images.float() / 255
    top, left, ch, cw = (params[:, i] for i in range(4))
    boxes = torch.stack(
        [
            torch.arange(n, device=x.device, dtype=x.dtype),
            left * w,
            top * h,
            (left + cw) * w,
            (top + ch) * h,
        ],
        1,
    )
    x = roi_align(x, boxes, output_size=size, spatial_scale=1.0, sampling_ratio=0, aligned=True)
    x = torch.where(params[:, 9].bool().view(-1, 1, 1, 1), x.flip(-1), x)
    for position in range(4):
        for op in range(4):
            rows = (order[:, position] == op).nonzero().squeeze(1)
            if rows.numel():
                x[rows] = _jitter_op(x[rows], op, params[rows, 4 + op])
    gray = params[:, 10].bool().view(-1, 1, 1, 1)
    x = torch.where(gray, _gray(x).expand(-1, 3, -1, -1), x)
    blurred = (params[:, 8] > 0).nonzero().squeeze(1)
    if blurred.numel():
        x[blurred] = _blur(x[blurred], params[blurred, 8], blur_kernel_size(size))
    sol = params[:, 11].bool().view(-1, 1, 1, 1)
    x = torch.where(sol & (x >= 0.5), 1.0 - x, x)
    return (x * 255).round_().clamp_(0, 255).to(torch.uint8)


def relative_actions(
    params: torch.Tensor, columns: list[int], paper_norm: bool = False
) -> torch.Tensor:
    """Differences of consecutive views' parameters (B, V, 12) → (B, V-1, len(columns)).

    ``paper_norm`` first L2-normalises each parameter across the V views, as the authors' code
    does (it couples every view's action to the rest of the sequence).
    """
    p = params[..., columns]
    if paper_norm:
        p = F.normalize(p, p=2, dim=1)
    return p[:, 1:] - p[:, :-1]
