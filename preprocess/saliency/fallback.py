"""Saliency models that need no weights: the centre prior alone, and spectral residual × centre.

For users without ``deepgaze2e.pth`` and for the embedded demo. Both follow the shared contract
(RGB 0–255 in, (B, H, W) float32 log-density out) and name themselves in the provenance.

- ``center``: the centre-bias prior alone (a ``.npy`` template if given, else a Gaussian with σ =
  0.25 of height and width). Image-independent by design; on MIT300 a centre Gaussian already
  scores an AUC of about 0.78.
- ``spectral-residual`` (Hou & Zhang, CVPR 2007): on the luminance, shrunk so the longer side is
  64 px, keep the phase of the Fourier spectrum and replace the log amplitude by its difference
  from a 3×3 local average; the squared inverse transform, blurred, marks what is unexpected in
  the image. OpenCV's implementation lives in the contrib wheel, which conflicts with the
  ``opencv-python-headless`` this project depends on, so it is written here in numpy/cv2. The map
  s (scaled to max 1) is combined with the centre prior as p ∝ centre · (ε + s), ε = 0.1, so a
  salient spot outweighs a bland one about elevenfold at equal prior.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch
from scipy.ndimage import uniform_filter

from .centerbias import CenterBias
from .contract import INPUT_SCALE_0_255, SaliencyModel, normalize_log_density

LUMA = (0.299, 0.587, 0.114)


def spectral_residual(gray: np.ndarray, work_size: int = 64, blur_sigma: float = 3.0) -> np.ndarray:
    """Spectral-residual saliency of a (H, W) image → (H, W) float32 map in [0, 1].

    ``work_size``: longer side of the working image in pixels; ``blur_sigma``: Gaussian σ of the
    final smoothing in working pixels. A flat image gives an all-zero map.
    """
    h, w = gray.shape
    scale = work_size / max(h, w)
    wh, ww = max(8, round(h * scale)), max(8, round(w * scale))
    small = cv2.resize(gray.astype(np.float32), (ww, wh), interpolation=cv2.INTER_AREA)
    small = small.astype(np.float64)
    if small.std() < 1e-6 * max(1.0, np.abs(small).max()):
        return np.zeros((h, w), np.float32)
    spectrum = np.fft.fft2(small)
    amplitude = np.abs(spectrum)
    # Floor at 1e-5 of the peak: synthetic images have exact spectral zeros, whose log spikes
    # throw the peak to periodic artefacts far from the object; natural images rarely reach it.
    log_amplitude = np.log(amplitude + 1e-5 * amplitude.max())
    residual = log_amplitude - uniform_filter(log_amplitude, size=3, mode="wrap")
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spectrum)))) ** 2
    saliency = cv2.GaussianBlur(saliency, (0, 0), blur_sigma, borderType=cv2.BORDER_REFLECT)
    saliency = cv2.resize(saliency.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    peak = float(saliency.max())
    return np.clip(saliency / peak, 0.0, 1.0) if peak > 0 else np.zeros((h, w), np.float32)


class CenterModel(SaliencyModel):
    """The centre-bias prior for every image (image-independent)."""

    name = "center"

    def __init__(self, centerbias: CenterBias | None = None) -> None:
        self.centerbias = centerbias if centerbias is not None else CenterBias.gaussian()
        self.input_scale = INPUT_SCALE_0_255

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        b, _, h, w = images.shape
        return self.centerbias.log_density(h, w).expand(b, h, w).clone()

    def provenance(self) -> dict[str, Any]:
        return {
            **self._base_provenance(),
            "weights": None,
            "weights_sha256": None,
            **self.centerbias.provenance(),
        }


class SpectralResidualModel(SaliencyModel):
    """normalise(centre prior × (ε + spectral-residual map)) as a log-density."""

    name = "spectral-residual"

    def __init__(
        self,
        centerbias: CenterBias | None = None,
        epsilon: float = 0.1,
        work_size: int = 64,
        blur_sigma: float = 3.0,
    ) -> None:
        if not epsilon > 0:
            raise ValueError("epsilon must be positive (it keeps the log-density finite)")
        self.centerbias = centerbias if centerbias is not None else CenterBias.gaussian()
        self.epsilon = epsilon
        self.work_size = work_size
        self.blur_sigma = blur_sigma
        self.input_scale = INPUT_SCALE_0_255

    def saliency_maps(self, images: torch.Tensor) -> np.ndarray:
        """(B, 3, H, W) float 0–255 → (B, H, W) spectral-residual maps in [0, 1]."""
        luma = torch.tensordot(torch.tensor(LUMA), images.float().cpu(), dims=([0], [1]))
        return np.stack(
            [spectral_residual(g, self.work_size, self.blur_sigma) for g in luma.numpy()]
        )

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        _, _, h, w = images.shape
        maps = torch.from_numpy(self.saliency_maps(images))
        return normalize_log_density(
            self.centerbias.log_density(h, w) + (maps + self.epsilon).log()
        )

    def provenance(self) -> dict[str, Any]:
        return {
            **self._base_provenance(),
            "weights": None,
            "weights_sha256": None,
            **self.centerbias.provenance(),
            "epsilon": self.epsilon,
            "work_size": self.work_size,
            "blur_sigma": self.blur_sigma,
        }
