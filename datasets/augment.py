"""The EquiMod augmentation protocol as the paper uses it, sampled per view and applied per batch.

Per view: random resized crop (scale 0.2–1, ratio 3/4–4/3) + horizontal flip (p 0.5), colour
jitter (brightness 0.4, contrast 0.4, saturation 0.2, hue 0.1, random order) with p 0.8,
grayscale p 0.2, Gaussian blur σ ~ U(0.1, 2) (p 1.0 on observed views, 0.1 on the predicted
view) and solarize (p 0 on observed views, 0.2 on the predicted view), as in the authors' code.

Parameters are computed per batch (:func:`params_from_uniforms`, in the collate step) from
uniforms keyed by (seed, epoch, sample id), and recorded per view:
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
NEUTRAL = (1.0, 1.0, 1.0, 0.0)  # jitter factors that change nothing


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


UNIFORMS = 36  # uniforms per view consumed by :func:`params_from_uniforms`


def params_from_uniforms(u: np.ndarray, size: int, p: Protocol = Protocol()):
    """Per-view parameters from uniforms ``u`` (..., V, UNIFORMS) in [0, 1), vectorised.

    The loader draws the uniforms per sample (keyed by seed, epoch and sample id) and turns a
    whole batch into parameters here; the last of the V views is the predicted one. Returns
    (params (..., V, 12) float32, jitter order (..., V, 4) int64).
    """
    u = np.asarray(u, dtype=np.float64)
    shape = u.shape[:-1]
    params = np.zeros((*shape, 12), dtype=np.float32)
    # RandomResizedCrop: 10 attempts, first that fits, else the central crop (torchvision's rule).
    area = p.scale[0] + (p.scale[1] - p.scale[0]) * u[..., 0:10]
    lo, hi = math.log(p.ratio[0]), math.log(p.ratio[1])
    ratio = np.exp(lo + (hi - lo) * u[..., 10:20])
    w = np.round(np.sqrt(area * ratio) * size)
    h = np.round(np.sqrt(area / ratio) * size)
    fits = (w > 0) & (h > 0) & (w <= size) & (h <= size)
    first = np.argmax(fits, axis=-1)[..., None]
    ok = np.take_along_axis(fits, first, -1)[..., 0]
    w = np.where(ok, np.take_along_axis(w, first, -1)[..., 0], size)
    h = np.where(ok, np.take_along_axis(h, first, -1)[..., 0], size)
    top = np.floor(u[..., 20] * (size - h + 1))
    left = np.floor(u[..., 21] * (size - w + 1))
    params[..., 0:4] = np.stack([top, left, h, w], -1) / size
    jitter = u[..., 22] < p.jitter_p
    spread = np.array(JITTER)
    factors = np.array(NEUTRAL) + spread * (2 * u[..., 23:27] - 1)
    params[..., 4:8] = np.where(jitter[..., None], factors, NEUTRAL)
    last = np.arange(shape[-1]) == shape[-1] - 1
    blur = u[..., 27] < np.where(last, p.blur_p[1], p.blur_p[0])
    params[..., 8] = np.where(blur, p.sigma[0] + (p.sigma[1] - p.sigma[0]) * u[..., 28], 0.0)
    params[..., 9] = u[..., 29] < p.flip_p
    params[..., 10] = u[..., 30] < p.gray_p
    params[..., 11] = u[..., 31] < np.where(last, p.solarize_p[1], p.solarize_p[0])
    order = np.argsort(u[..., 32:36], axis=-1)
    return params, order


def blur_kernel_size(image_size: int) -> int:
    """EquiMod's kernel: 2·round((S − 10)/20) + 1, i.e. 3 at 32 px and 7 at 64 px."""
    return max(3, 2 * round((image_size - 10) / 20) + 1)


def _gray(x: torch.Tensor) -> torch.Tensor:
    return (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)


def _shift_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """RGB → HSV, hue + shift, → RGB (torchvision's ``adjust_hue``) without materialising HSV.

    A hue shift keeps V = max and V·S = max − min, so with the shifted hue h (in sixths),
    channel n = max − (max − min)·clamp(min(k, 4 − k), 0, 1), k = (n + h) mod 6 (n = 5, 3, 1):
    the branch-free HSV → RGB formula, about 4× cheaper than the round trip.
    """
    r, g, b = x.unbind(1)
    maxc = x.amax(1)
    delta = maxc - x.amin(1)
    at_r, at_g = maxc == r, maxc == g
    num = torch.where(at_r, g - b, torch.where(at_g, b - r, r - g))
    sector = torch.where(at_r, 0.0, torch.where(at_g, 2.0, 4.0))
    h6 = num.div_(delta.clamp(min=1e-12)).add_(sector).add_(6 * shift.view(-1, 1, 1))
    n = torch.tensor([5.0, 3.0, 1.0], device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    k = (h6.unsqueeze(1) + n).remainder_(6)
    k = torch.minimum(k, 4 - k).clamp_(0, 1)
    return maxc.unsqueeze(1) - delta.unsqueeze(1) * k


def _jitter_op(x: torch.Tensor, op: int, factor: torch.Tensor) -> torch.Tensor:
    f = factor.view(-1, 1, 1, 1)
    if op == 0:  # brightness
        return (x * f).clamp(0, 1)
    if op == 1:  # contrast: blend with the mean grey level
        mean = _gray(x).mean(dim=(1, 2, 3), keepdim=True)
        return torch.lerp(mean.expand_as(x), x, f).clamp_(0, 1)
    if op == 2:  # saturation: blend with the grey image
        return torch.lerp(_gray(x).expand_as(x), x, f).clamp_(0, 1)
    return _shift_hue(x, factor)


def _rows(mask: torch.Tensor) -> torch.Tensor:
    return mask.nonzero().squeeze(1)


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
    images: torch.Tensor,
    params: torch.Tensor,
    order: torch.Tensor,
    size: int,
    image_index: torch.Tensor | None = None,
) -> torch.Tensor:
    """Render views: images (N, 3, H, W), params (N, 12), order (N, 4) → uint8 (N, 3, S, S).

    With ``image_index`` (N,), view i is cut from ``images[image_index[i]]`` (several views of
    one image without repeating the image).
    """
    n, (h, w) = len(params), images.shape[-2:]
    x = images.float() / 255
    top, left, ch, cw = params[:, :4].to(x.dtype).unbind(1)
    if image_index is None:
        image_index = torch.arange(n, device=x.device)
    boxes = torch.stack(
        [image_index.to(x.dtype), left * w, top * h, (left + cw) * w, (top + ch) * h], 1
    )
    x = roi_align(x, boxes, output_size=size, spatial_scale=1.0, sampling_ratio=0, aligned=True)
    # Every step touches only the views it changes (a neutral jitter factor is skipped), and
    # gathers with index_select/index_copy_ (plain x[rows] indexing costs ~2x more).
    _update(x, _rows(params[:, 9].bool()), lambda v, rows: v.flip(-1))
    neutral = torch.tensor(NEUTRAL, device=x.device, dtype=params.dtype)
    changes = params[:, 4:8] != neutral
    for position in range(4):
        for op in range(4):
            rows = _rows((order[:, position] == op) & changes[:, op])
            _update(x, rows, lambda v, rows, op=op: _jitter_op(v, op, params[rows, 4 + op]))
    _update(x, _rows(params[:, 10].bool()), lambda v, rows: _gray(v).expand(-1, 3, -1, -1))
    k = blur_kernel_size(size)
    _update(x, _rows(params[:, 8] > 0), lambda v, rows: _blur(v, params[rows, 8], k))
    _update(x, _rows(params[:, 11].bool()), lambda v, rows: torch.where(v >= 0.5, 1.0 - v, v))
    return x.mul_(255).round_().clamp_(0, 255).to(torch.uint8)


def _update(x: torch.Tensor, rows: torch.Tensor, fn) -> None:
    """x[rows] = fn(x[rows], rows), in place."""
    if rows.numel():
        x.index_copy_(0, rows, fn(x.index_select(0, rows), rows).to(x.dtype))


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
