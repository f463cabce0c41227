"""What every saliency model shares: the input contract, the output convention, provenance.

Input: an RGB batch (B, 3, H, W), uint8 or float in 0–255 (DESIGN.md §2.4). A float batch whose
maximum is ≤ 1 looks like ``ToTensor()`` output and is refused: the seq-JEPA extraction scripts
fed exactly that to DeepGaze, which divides by 255 itself, so their maps were computed on images
dimmed 255×. Reproducing that is possible only by naming it: ``input_scale="unit-authors-bug"``.

Output: a float32 log-density (B, H, W) at the input resolution, logsumexp 0 over (H, W) for
each image. :func:`resize_log_density` brings it to another grid (e.g. 512² model output → 96²
STL-10 maps) the way the authors' STL-10 script did: bilinear in log space, then renormalised.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

INPUT_SCALE_0_255 = "0-255"
INPUT_SCALE_AUTHORS_BUG = "unit-authors-bug"
INPUT_SCALES = (INPUT_SCALE_0_255, INPUT_SCALE_AUTHORS_BUG)
_PROVENANCE_SCALE = {INPUT_SCALE_0_255: "0-255", INPUT_SCALE_AUTHORS_BUG: "unit (authors' bug)"}


def prepare_images(
    images: torch.Tensor | np.ndarray, input_scale: str = INPUT_SCALE_0_255
) -> torch.Tensor:
    """Check an RGB batch against the contract; return it as float32 (B, 3, H, W).

    ``"0-255"``: uint8, or float in [0, 255] with a maximum above 1; returned unchanged in value.
    ``"unit-authors-bug"``: float in [0, 1] (or uint8, divided by 255 as ``ToTensor`` would),
    returned in 0–1 so that a model dividing by 255 sees what the authors' scripts gave it.
    """
    if input_scale not in INPUT_SCALES:
        raise ValueError(f"input_scale must be one of {INPUT_SCALES}, not {input_scale!r}")
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"expected a tensor or array of images, got {type(images).__name__}")
    if images.dim() != 4 or images.shape[1] != 3 or images.shape[0] == 0:
        raise ValueError(f"expected an RGB batch (B, 3, H, W), got shape {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        x = images.float()
        return x / 255.0 if input_scale == INPUT_SCALE_AUTHORS_BUG else x
    if not images.is_floating_point():
        raise ValueError(f"expected uint8 or float images, got {images.dtype}")
    x = images.float()
    lo, hi = float(x.amin()), float(x.amax())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("images contain NaN or infinite values")
    if input_scale == INPUT_SCALE_AUTHORS_BUG:
        if lo < 0 or hi > 1:
            raise ValueError(
                f"input_scale='{INPUT_SCALE_AUTHORS_BUG}' expects floats in [0, 1], got "
                f"[{lo:.3g}, {hi:.3g}]"
            )
        return x
    if lo < 0 or hi > 255:
        raise ValueError(
            f"expected RGB values in 0–255, got [{lo:.3g}, {hi:.3g}] (ImageNet-normalised input?)"
        )
    if hi <= 1.0:
        raise ValueError(
            "images look like 0–1 data (float maximum ≤ 1); saliency models take RGB in 0–255: "
            "multiply by 255 or pass uint8. To reproduce the seq-JEPA scripts' maps computed on "
            f"0–1 input, pass input_scale='{INPUT_SCALE_AUTHORS_BUG}'."
        )
    return x


def normalize_log_density(log_density: torch.Tensor) -> torch.Tensor:
    """Subtract the logsumexp over the last two axes, so exp sums to 1 per map."""
    return log_density - log_density.logsumexp(dim=(-2, -1), keepdim=True)


def resize_log_density(
    log_density: torch.Tensor | np.ndarray, size: int | tuple[int, int], antialias: bool = False
) -> torch.Tensor:
    """Resize (H, W) or (B, H, W) log-densities to ``size``; bilinear in log space, renormalised.

    This is the STL-10 pipeline of the seq-JEPA scripts (512² model output → 96²). The input must
    be finite (a −inf would spread NaNs). Returns float32 with the input's leading shape.
    """
    x = torch.as_tensor(log_density, dtype=torch.float32)
    if x.dim() not in (2, 3):
        raise ValueError(f"expected (H, W) or (B, H, W) log-densities, got {tuple(x.shape)}")
    size = (size, size) if isinstance(size, int) else tuple(size)
    batch = x if x.dim() == 3 else x[None]
    out = F.interpolate(
        batch[:, None], size=size, mode="bilinear", align_corners=False, antialias=antialias
    )[:, 0]
    out = normalize_log_density(out)
    return out if x.dim() == 3 else out[0]


class SaliencyModel(ABC):
    """Uniform interface: ``model(images)`` → (B, H, W) float32 log-density; ``provenance()``.

    Subclasses implement :meth:`predict` on checked float32 input and describe themselves in
    :meth:`provenance`. Calls run without autograd.
    """

    name: str = ""
    input_scale: str = INPUT_SCALE_0_255

    @abstractmethod
    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """float32 (B, 3, H, W), already checked and scaled → (B, H, W) log-density."""

    @abstractmethod
    def provenance(self) -> dict[str, Any]:
        """At least: model, weights, weights_sha256, centerbias_sha256, input_scale."""

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def to(self, device: str | torch.device) -> SaliencyModel:
        if torch.device(device).type != "cpu":
            raise ValueError(f"{self.name} runs on the CPU only")
        return self

    def __call__(self, images: torch.Tensor | np.ndarray) -> torch.Tensor:
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(np.ascontiguousarray(images))
        if isinstance(images, torch.Tensor):
            images = images.to(self.device)  # before the float cast: uint8 moves 4× fewer bytes
        x = prepare_images(images, self.input_scale)
        with torch.inference_mode():
            out = self.predict(x)
        return out.float()

    def _base_provenance(self) -> dict[str, Any]:
        return {"model": self.name, "input_scale": _PROVENANCE_SCALE[self.input_scale]}
