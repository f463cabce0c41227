"""Saliency models by name, with one call convention (see :mod:`.contract`).

``build_saliency_model(name, weights=None, centerbias=None, ...)`` returns an object that maps an
RGB batch (B, 3, H, W), uint8 or float 0–255, to a float32 (B, H, W) log-density, and reports
``provenance()`` for the shard index: model name, weights path and SHA-256, centre bias and its
SHA-256, input scale.

=====================  ==========================  ==============================================
name                   needs                       what
=====================  ==========================  ==============================================
``deepgaze-iie``       ``deepgaze2e.pth``          DeepGaze IIE, 4 backbones × 30 heads
``center``             nothing                     the centre prior alone
``spectral-residual``  nothing                     spectral residual × centre prior
=====================  ==========================  ==============================================
"""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from typing import Any

import torch

from seqjepa.datasets.schema import sha256_file

from .centerbias import CenterBias, as_center_bias
from .contract import INPUT_SCALE_0_255, INPUT_SCALES, SaliencyModel
from .fallback import CenterModel, SpectralResidualModel


class DeepGazeIIEModel(SaliencyModel):
    """DeepGaze IIE behind the shared contract: input checks, centre bias per size, provenance.

    ``weights``: path to ``deepgaze2e.pth``, loaded strictly; ``None`` keeps random weights, which
    only tests and benchmarks want (``build_saliency_model`` refuses it unless asked).
    ``centerbias`` defaults to a uniform prior. ``input_scale="unit-authors-bug"`` feeds 0–1
    images as if they were 0–255, reproducing the seq-JEPA scripts' maps.
    """

    name = "deepgaze-iie"

    def __init__(
        self,
        weights: str | PathLike | None = None,
        centerbias: CenterBias | None = None,
        input_scale: str = INPUT_SCALE_0_255,
        device: str | torch.device = "cpu",
    ) -> None:
        from .deepgaze import build_deepgaze_iie

        if input_scale not in INPUT_SCALES:
            raise ValueError(f"input_scale must be one of {INPUT_SCALES}, not {input_scale!r}")
        self.input_scale = input_scale
        self.centerbias = centerbias if centerbias is not None else CenterBias.uniform()
        self.weights = None if weights is None else str(weights)
        self.weights_sha256 = None if weights is None else sha256_file(weights)
        self.network = build_deepgaze_iie(weights).requires_grad_(False)
        self.to(device)

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def to(self, device: str | torch.device) -> DeepGazeIIEModel:
        self.network.to(device)
        return self

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        h, w = images.shape[-2:]
        centerbias = self.centerbias.log_density(h, w).to(images.device)
        return self.network(images, centerbias)

    def provenance(self) -> dict[str, Any]:
        name = self.name if self.weights is not None else f"{self.name}[random-weights]"
        return {
            **self._base_provenance(),
            "model": name,
            "weights": self.weights,
            "weights_sha256": self.weights_sha256,
            **self.centerbias.provenance(),
        }


def _build_deepgaze(weights, centerbias, input_scale, device, allow_random_weights=False):
    if weights is None and not allow_random_weights:
        raise ValueError(
            "deepgaze-iie needs its weights: pass --weights deepgaze2e.pth (from the DeepGaze "
            "v1.0.0 release; nothing is downloaded), or use the 'center' or 'spectral-residual' "
            "model, which need none"
        )
    return DeepGazeIIEModel(
        weights, as_center_bias(centerbias, CenterBias.uniform()), input_scale, device
    )


def _fallback(cls) -> Callable[..., SaliencyModel]:
    def build(weights, centerbias, input_scale, device, **options):
        if weights is not None:
            raise ValueError(f"{cls.name} takes no weights")
        if input_scale != INPUT_SCALE_0_255:
            raise ValueError(f"input_scale={input_scale!r} only applies to deepgaze-iie")
        model = cls(as_center_bias(centerbias, CenterBias.gaussian()), **options)
        return model.to(device)

    return build


SALIENCY_MODELS: dict[str, Callable[..., SaliencyModel]] = {
    "deepgaze-iie": _build_deepgaze,
    "center": _fallback(CenterModel),
    "spectral-residual": _fallback(SpectralResidualModel),
}


def build_saliency_model(
    name: str,
    weights: str | PathLike | None = None,
    centerbias: CenterBias | str | PathLike | None = None,
    *,
    input_scale: str = INPUT_SCALE_0_255,
    device: str | torch.device = "cpu",
    **options: Any,
) -> SaliencyModel:
    """Build saliency model ``name`` (one of :data:`SALIENCY_MODELS`).

    ``centerbias``: a ``.npy`` log-density template (e.g. ``centerbias_mit1003.npy``), a
    :class:`CenterBias`, or ``None`` (uniform for DeepGaze, Gaussian for the fallbacks).
    ``options``: model-specific settings (``allow_random_weights=True`` for DeepGaze in tests and
    benchmarks; ``epsilon``, ``work_size``, ``blur_sigma`` for spectral-residual).
    """
    if name not in SALIENCY_MODELS:
        raise ValueError(
            f"unknown saliency model {name!r}; choose one of {', '.join(SALIENCY_MODELS)}"
        )
    return SALIENCY_MODELS[name](weights, centerbias, input_scale, device, **options)
