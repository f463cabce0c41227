"""Saliency models for fixation sampling: DeepGaze IIE (user-supplied weights), offline fallbacks.

Every model maps an RGB batch in 0–255 to a float32 log-density at the input resolution and
reports its provenance (DESIGN.md §2.4). DeepGaze IIE and its backbones are imported on first use,
so the fallbacks work without torchvision models or ``efficientnet-pytorch`` being loaded.
"""

from .centerbias import CenterBias
from .contract import (
    INPUT_SCALE_0_255,
    INPUT_SCALE_AUTHORS_BUG,
    INPUT_SCALES,
    SaliencyModel,
    normalize_log_density,
    prepare_images,
    resize_log_density,
)
from .fallback import CenterModel, SpectralResidualModel, spectral_residual
from .models import SALIENCY_MODELS, DeepGazeIIEModel, build_saliency_model

__all__ = [
    "INPUT_SCALES",
    "INPUT_SCALE_0_255",
    "INPUT_SCALE_AUTHORS_BUG",
    "SALIENCY_MODELS",
    "CenterBias",
    "CenterModel",
    "DeepGazeIIEModel",
    "SaliencyModel",
    "SpectralResidualModel",
    "build_saliency_model",
    "normalize_log_density",
    "prepare_images",
    "resize_log_density",
    "spectral_residual",
]
