"""Small layers of the DeepGaze IIE read-out and finaliser.

They reproduce the published model's arithmetic and parameter names (so ``deepgaze2e.pth`` loads
strictly), not its code: the LayerNorm here normalises each sample over channels *and* space, the
Gaussian blur has a learnable σ whose kernel width follows σ, and a few one-child containers exist
only to keep upstream's key names.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LAYERNORM_EPS = 1e-12


class Normalizer(nn.Module):
    """RGB in 0–255 → ImageNet-normalised input; the first element of every DeepGaze backbone.

    The buffers are non-persistent: the published checkpoint has no keys for them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.empty(3, 1, 1), persistent=False)
        self.register_buffer("std", torch.empty(3, 1, 1), persistent=False)
        self.reset_buffers()

    def reset_buffers(self, device: torch.device | str | None = None) -> None:
        """(Re)set the constants, e.g. after ``to_empty`` (loading a checkpoint never sets them)."""
        device = self.mean.device if device is None else device
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=device).view(3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x / 255.0 - self.mean) / self.std


class LayerNorm(nn.Module):
    """Normalise each sample over (C, H, W) jointly, then apply a per-channel affine map.

    Unlike ``nn.LayerNorm`` over the channel axis, the statistics span the whole map, so a
    sample's output depends on every pixel: never pad images to batch them. eps is 1e-12 as in
    the published model.
    """

    def __init__(self, channels: int, eps: float = LAYERNORM_EPS) -> None:
        super().__init__()
        self.channels = channels
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x, x.shape[1:], eps=self.eps)
        return x * self.weight[:, None, None] + self.bias[:, None, None]

    def extra_repr(self) -> str:
        return f"{self.channels}, eps={self.eps}"


class Bias(nn.Module):
    """Add a learned per-channel offset (the read-out convolutions themselves have no bias)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bias[:, None, None]


class FirstPart(nn.Module):
    """Hold one module under the attribute ``<prefix>_part0``.

    Upstream's fixation-selection network takes a (saliency, scanpath) pair and keeps one layer per
    input; IIE has no scanpath input, so only part 0 exists. This container keeps the key names
    (``layernorm0.layernorm_part0.weight``, ``conv0.conv_part0.weight``) with a plain tensor input.
    """

    def __init__(self, prefix: str, module: nn.Module) -> None:
        super().__init__()
        self.part_name = f"{prefix}_part0"
        self.add_module(self.part_name, module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, self.part_name)(x)


def gaussian_kernel_size(sigma: float, truncate: float = 3.0) -> int:
    """Odd kernel width 2·ceil(truncate·σ) + 1, recomputed from the current (learned) σ."""
    return 2 * math.ceil(truncate * sigma) + 1


def gaussian_kernels(sigmas: torch.Tensor, truncate: float = 3.0) -> torch.Tensor:
    """(K, width) normalised 1-d Gaussians, one per σ in ``sigmas`` (K,), centred in one odd width.

    A narrower kernel is zero outside its own ±ceil(truncate·σ) support, so convolving a
    replicate-padded signal with it gives exactly the result of its own width and padding. The
    values stay differentiable in σ (the widths are not).
    """
    sizes = [gaussian_kernel_size(s, truncate) for s in sigmas.detach().cpu().tolist()]
    width = max(sizes)
    grid = torch.arange(width, device=sigmas.device, dtype=sigmas.dtype) - (width - 1) / 2
    half = torch.tensor([(k - 1) / 2 for k in sizes], device=sigmas.device, dtype=sigmas.dtype)
    kernel = torch.exp(-0.5 * (grid[None, :] / sigmas[:, None]) ** 2)
    kernel = kernel * (grid.abs()[None, :] <= half[:, None])
    return kernel / kernel.sum(dim=1, keepdim=True)


def blur_channels(x: torch.Tensor, sigmas: torch.Tensor, truncate: float = 3.0) -> torch.Tensor:
    """Separable Gaussian blur of each channel of (B, K, H, W) with its own σ, replicate padding.

    One grouped convolution per axis instead of K single-channel ones.
    """
    kernel = gaussian_kernels(sigmas.to(x.dtype), truncate)
    channels, width = kernel.shape
    if x.shape[1] != channels:
        raise ValueError(f"{x.shape[1]} channels but {channels} sigmas")
    pad = (width - 1) // 2
    x = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    x = F.conv2d(x, kernel.view(channels, 1, width, 1), groups=channels)
    return F.conv2d(x, kernel.view(channels, 1, 1, width), groups=channels)


class GaussianBlur(nn.Module):
    """Separable Gaussian blur over (H, W) with a learnable σ (a 0-d parameter, as published).

    The kernel spans ±ceil(truncate·σ) pixels and the border is replicated.
    """

    def __init__(self, sigma: float, truncate: float = 3.0) -> None:
        super().__init__()
        self.sigma = nn.Parameter(torch.tensor(float(sigma)))
        self.truncate = truncate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        out = blur_channels(x.reshape(b * c, 1, h, w), self.sigma.view(1), self.truncate)
        return out.reshape(b, c, h, w)

    def extra_repr(self) -> str:
        return f"truncate={self.truncate}"
