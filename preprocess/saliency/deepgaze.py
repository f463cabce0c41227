"""DeepGaze IIE (Linardos, Kümmerer, Press & Bethge, ICCV 2021), written for this project.

The model is a uniform mixture of 4 backbones × 30 read-out heads (3 seeds × 10 cross-validation
folds). Per backbone: downsample the 0–255 RGB image by 2 (nearest), read six or fewer backbone
layers, resize them to a stride-32 grid (nearest) and concatenate; per head, a saliency network and
a fixation-selection network of 1×1 convolutions give a one-channel read-out, and a finaliser
blurs it at half resolution, adds the weighted centre bias, upsamples (nearest) and normalises.

Module and parameter names equal those of the published ``deepgaze2e.pth`` (5461 keys,
104,572,367 numbers), so it loads with ``strict=True`` and ``weights_only=True``
(:func:`load_deepgaze_weights`). The weights have no licence: users supply the file, nothing is
downloaded, and this code shares no source with upstream.

Computation order: upstream upsamples each head's map to full resolution, normalises it and mixes
120 full-size maps. Nearest upsampling only replicates pixels, so the same mixture is computed on
the half-resolution grid, with each pixel weighted by how many full-resolution pixels it becomes,
and upsampled once at the end (:meth:`DeepGazeMixture.half_resolution_mixture`; equal to the
per-head :class:`Finalizer` path for even and odd sizes, see the tests). Likewise the 30 heads
run as grouped 1×1 convolutions (:meth:`DeepGazeMixture.readouts`, ≥4× faster on the CPU than
head by head) and their 30 blurs as one grouped convolution. Smallest input: 64×64 (DenseNet-201's
last transition needs a 32-px backbone input).
"""

from __future__ import annotations

import math
import pickle
import zipfile
from collections import OrderedDict
from os import PathLike

import torch
import torch.nn.functional as F
from torch import nn

from .backbones import BACKBONES, BackboneSpec, FeatureExtractor
from .layers import (
    LAYERNORM_EPS,
    Bias,
    FirstPart,
    GaussianBlur,
    LayerNorm,
    Normalizer,
    blur_channels,
)

NUM_COMPONENTS = 30  # read-out heads per backbone: 3 training seeds × 10 cross-validation folds
DOWNSAMPLE = 2  # the image is halved before the backbones see it
READOUT_FACTOR = 16  # read-out grid stride relative to the downsampled image (32 overall)
SALIENCY_MAP_FACTOR = 2  # the finaliser works at half the image resolution
INITIAL_SIGMA = 8.0  # blur σ at initialisation, in half-resolution pixels (trained values differ)
BLUR_TRUNCATE = 3.0
NUM_STATE_KEYS = 5461  # of deepgaze2e.pth, 423 of them BatchNorm ``num_batches_tracked``
MIN_INPUT_SIZE = 64


def build_saliency_network(channels: int) -> nn.Sequential:
    """Read-out features (C) → one non-negative map: three LN → 1×1 conv → bias → softplus."""
    return nn.Sequential(
        OrderedDict(
            [
                ("layernorm0", LayerNorm(channels)),
                ("conv0", nn.Conv2d(channels, 8, 1, bias=False)),
                ("bias0", Bias(8)),
                ("softplus0", nn.Softplus()),
                ("layernorm1", LayerNorm(8)),
                ("conv1", nn.Conv2d(8, 16, 1, bias=False)),
                ("bias1", Bias(16)),
                ("softplus1", nn.Softplus()),
                ("layernorm2", LayerNorm(16)),
                ("conv2", nn.Conv2d(16, 1, 1, bias=False)),
                ("bias2", Bias(1)),
                ("softplus2", nn.Softplus()),
            ]
        )
    )


def build_fixation_selection_network() -> nn.Sequential:
    """Saliency map (1 channel) → read-out logits; the last conv has neither bias nor softplus."""
    return nn.Sequential(
        OrderedDict(
            [
                ("layernorm0", FirstPart("layernorm", LayerNorm(1))),
                ("conv0", FirstPart("conv", nn.Conv2d(1, 128, 1, bias=False))),
                ("bias0", Bias(128)),
                ("softplus0", nn.Softplus()),
                ("layernorm1", LayerNorm(128)),
                ("conv1", nn.Conv2d(128, 16, 1, bias=False)),
                ("bias1", Bias(16)),
                ("softplus1", nn.Softplus()),
                ("conv2", nn.Conv2d(16, 1, 1, bias=False)),
            ]
        )
    )


def _shrink(centerbias: torch.Tensor) -> torch.Tensor:
    """(b, H, W) → (b, H//2, W//2) by nearest interpolation, i.e. the even rows and columns."""
    return F.interpolate(
        centerbias[:, None],
        scale_factor=1 / SALIENCY_MAP_FACTOR,
        mode="nearest",
        recompute_scale_factor=False,
    )[:, 0]


def _upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, h, w) → (B, H, W) by nearest interpolation."""
    return F.interpolate(maps[:, None], size=size, mode="nearest")[:, 0]


def _log_replication(small: int, full: int, device, dtype) -> torch.Tensor:
    """log of how many of the ``full`` output rows nearest upsampling copies from each input row."""
    source = torch.arange(small, device=device, dtype=dtype).view(1, 1, small)
    index = F.interpolate(source, size=full, mode="nearest").view(full).long()
    return torch.bincount(index, minlength=small).to(dtype).log()


class Finalizer(nn.Module):
    """One head's read-out → log-density at the image size (upstream's order of operations).

    Blur at half resolution with the learned σ, add ``center_bias_weight`` × the halved centre
    bias, upsample by nearest interpolation and subtract the logsumexp. :class:`DeepGazeMixture`
    uses the parameters through a faster equivalent path; this forward is the reference for it.
    """

    def __init__(self, sigma: float = INITIAL_SIGMA) -> None:
        super().__init__()
        self.gauss = GaussianBlur(sigma, truncate=BLUR_TRUNCATE)
        self.center_bias_weight = nn.Parameter(torch.ones(1))

    def forward(self, readout: torch.Tensor, centerbias: torch.Tensor) -> torch.Tensor:
        """readout (B, 1, h, w), centerbias (B, H, W) → (B, H, W) log-density."""
        small_bias = _shrink(centerbias)
        out = F.interpolate(readout, size=small_bias.shape[-2:], mode="nearest")
        out = self.gauss(out)[:, 0] + self.center_bias_weight * small_bias
        out = _upsample(out, centerbias.shape[-2:])
        return out - out.logsumexp(dim=(1, 2), keepdim=True)


def _stack(heads: nn.ModuleList, name: str) -> torch.Tensor:
    """The parameter ``name`` of every head, stacked along a new first axis."""
    return torch.stack([head.get_parameter(name) for head in heads])


def _grouped_block(
    x: torch.Tensor, heads: nn.ModuleList, norm: str, conv: str, bias: str, k: int
) -> torch.Tensor:
    """Per head: LayerNorm over its channels and space → 1×1 conv → bias → softplus.

    ``x`` is (B, K·c, h, w) with head k's channels contiguous; returns (B, K·c', h, w).
    """
    b, channels, h, w = x.shape
    x = F.layer_norm(x.view(b, k, channels // k, h, w), (channels // k, h, w), eps=LAYERNORM_EPS)
    scale, shift = _stack(heads, f"{norm}.weight"), _stack(heads, f"{norm}.bias")
    x = (x * scale[..., None, None] + shift[..., None, None]).view(b, channels, h, w)
    x = F.conv2d(x, _stack(heads, f"{conv}.weight").flatten(0, 1), groups=k)
    return F.softplus(x + _stack(heads, f"{bias}.bias").flatten()[:, None, None])


class DeepGazeMixture(nn.Module):
    """One backbone with its 30 read-out heads; the heads' log-densities are averaged as densities.

    The backbone is frozen and always in eval mode (BatchNorm uses its running statistics).
    """

    def __init__(self, spec: BackboneSpec, components: int = NUM_COMPONENTS) -> None:
        super().__init__()
        self.spec = spec
        self.features = FeatureExtractor(spec.build(), spec.readout_layers)
        for p in self.features.parameters():
            p.requires_grad_(False)
        self.saliency_networks = nn.ModuleList(
            build_saliency_network(spec.channels) for _ in range(components)
        )
        self.fixation_selection_networks = nn.ModuleList(
            build_fixation_selection_network() for _ in range(components)
        )
        self.finalizers = nn.ModuleList(Finalizer() for _ in range(components))
        self.features.eval()

    def train(self, mode: bool = True) -> DeepGazeMixture:
        super().train(mode)
        self.features.eval()
        return self

    def readout_input(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) 0–255 RGB → (B, C, ceil(H/32), ceil(W/32)) concatenated backbone maps."""
        h, w = images.shape[-2:]
        x = F.interpolate(
            images, scale_factor=1 / DOWNSAMPLE, mode="nearest", recompute_scale_factor=False
        )
        grid = (
            math.ceil(h / DOWNSAMPLE / READOUT_FACTOR),
            math.ceil(w / DOWNSAMPLE / READOUT_FACTOR),
        )
        maps = [F.interpolate(m, size=grid, mode="nearest") for m in self.features(x)]
        return torch.cat(maps, dim=1)

    def readouts_per_head(self, readout_input: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) → (B, K, h, w), running each head's two networks in turn (reference)."""
        return torch.cat(
            [
                select(saliency(readout_input))
                for saliency, select in zip(
                    self.saliency_networks, self.fixation_selection_networks, strict=True
                )
            ],
            dim=1,
        )

    def readouts(self, readout_input: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) → (B, K, h, w): all heads at once, as grouped 1×1 convolutions.

        Same arithmetic as :meth:`readouts_per_head` (the first layer's per-head LayerNorm affine
        is folded into its convolution) in ~15 operations instead of ~20 per head: the read-out
        grid is tiny (16×16 at 512²), so per-operation overhead is what costs here.
        """
        sal, sel = self.saliency_networks, self.fixation_selection_networks
        k = len(sal)
        x = F.layer_norm(readout_input, readout_input.shape[1:], eps=LAYERNORM_EPS)
        w0 = _stack(sal, "conv0.weight")[..., 0, 0]  # (K, 8, C)
        gamma, beta = _stack(sal, "layernorm0.weight"), _stack(sal, "layernorm0.bias")  # (K, C)
        weight = (w0 * gamma[:, None, :]).flatten(0, 1)[..., None, None]
        bias = (w0 @ beta[..., None])[..., 0] + _stack(sal, "bias0.bias")
        x = F.softplus(F.conv2d(x, weight, bias.flatten()))
        x = _grouped_block(x, sal, "layernorm1", "conv1", "bias1", k)
        x = _grouped_block(x, sal, "layernorm2", "conv2", "bias2", k)
        x = _grouped_block(x, sel, "layernorm0.layernorm_part0", "conv0.conv_part0", "bias0", k)
        x = _grouped_block(x, sel, "layernorm1", "conv1", "bias1", k)
        return F.conv2d(x, _stack(sel, "conv2.weight").flatten(0, 1), groups=k)

    def half_resolution_mixture(
        self, readouts: torch.Tensor, centerbias: torch.Tensor
    ) -> torch.Tensor:
        """(B, K, h, w) read-outs, (b, H, W) centre bias → (B, H//2, W//2) mixture log-density.

        Its nearest upsampling to (H, W) is the mixture of the K finalisers' outputs, normalised.
        """
        size = centerbias.shape[-2:]
        small_bias = _shrink(centerbias)[:, None]
        maps = F.interpolate(readouts, size=small_bias.shape[-2:], mode="nearest")
        sigmas = torch.stack([f.gauss.sigma for f in self.finalizers])
        weights = torch.cat([f.center_bias_weight for f in self.finalizers])
        maps = blur_channels(maps, sigmas, BLUR_TRUNCATE) + weights[:, None, None] * small_bias
        dtype, device = maps.dtype, maps.device
        replication = (
            _log_replication(maps.shape[-2], size[0], device, dtype)[:, None]
            + _log_replication(maps.shape[-1], size[1], device, dtype)[None, :]
        )
        log_norm = torch.logsumexp((maps + replication).flatten(2), dim=2)
        maps = maps - log_norm[:, :, None, None]
        return torch.logsumexp(maps, dim=1) - math.log(maps.shape[1])

    def forward(self, images: torch.Tensor, centerbias: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) 0–255 RGB, (H, W) or (B, H, W) centre bias → (B, H, W) log-density."""
        centerbias = _batch_centerbias(images, centerbias)
        mixture = self.half_resolution_mixture(
            self.readouts(self.readout_input(images)), centerbias
        )
        return _normalise(_upsample(mixture, centerbias.shape[-2:]))


class DeepGazeIIE(nn.Module):
    """The 4-backbone ensemble: a uniform mixture of all 120 heads.

    ``forward(images, centerbias)`` takes float32 RGB in 0–255, (B, 3, H, W) with H, W ≥ 64, and a
    centre-bias log-density (H, W) or (B, H, W); it returns a (B, H, W) float32 log-density with
    logsumexp 0 per image (upstream returns (B, 1, H, W)). Input checks and the 0–255 contract are
    in :class:`seqjepa.preprocess.saliency.models.DeepGazeIIEModel`.
    """

    def __init__(self, components: int = NUM_COMPONENTS) -> None:
        super().__init__()
        self.models = nn.ModuleList(DeepGazeMixture(spec, components) for spec in BACKBONES)

    def forward(self, images: torch.Tensor, centerbias: torch.Tensor) -> torch.Tensor:
        if min(images.shape[-2:]) < MIN_INPUT_SIZE:
            raise ValueError(
                f"DeepGaze IIE needs images of at least {MIN_INPUT_SIZE}×{MIN_INPUT_SIZE}"
            )
        centerbias = _batch_centerbias(images, centerbias)
        mixtures = [
            model.half_resolution_mixture(model.readouts(model.readout_input(images)), centerbias)
            for model in self.models
        ]
        ensemble = torch.logsumexp(torch.stack(mixtures), dim=0) - math.log(len(mixtures))
        return _normalise(_upsample(ensemble, centerbias.shape[-2:]))


def _batch_centerbias(images: torch.Tensor, centerbias: torch.Tensor) -> torch.Tensor:
    if centerbias.dim() == 2:
        centerbias = centerbias[None]
    if centerbias.dim() != 3 or centerbias.shape[-2:] != images.shape[-2:]:
        raise ValueError(
            f"centre bias of shape {tuple(centerbias.shape)} does not fit images of shape "
            f"{tuple(images.shape)}"
        )
    return centerbias.to(device=images.device, dtype=images.dtype)


def _normalise(log_density: torch.Tensor) -> torch.Tensor:
    return log_density - log_density.logsumexp(dim=(-2, -1), keepdim=True)


class CheckpointMismatchError(ValueError):
    """The file does not hold the DeepGaze IIE state dict this code builds."""


def read_checkpoint(path: str | PathLike) -> dict[str, torch.Tensor]:
    """``torch.load`` with ``weights_only=True`` (no pickled code runs), memory-mapped if it can."""
    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # files in the legacy (non-zip) format cannot be memory-mapped
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointMismatchError(
            f"cannot read {path} as a weights-only torch checkpoint: {exc}".splitlines()[0]
        ) from exc
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointMismatchError(
            f"{path} is not a deepgaze2e.pth checkpoint: expected a flat state dict of tensors"
        )
    return state


def check_state_dict(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Raise :class:`CheckpointMismatchError` (one line) unless keys and shapes match exactly."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys (first: {missing[0]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys (first: {unexpected[0]})")
    if wrong:
        k = wrong[0]
        problems.append(
            f"{len(wrong)} shape mismatches (first: {k} is {tuple(state[k].shape)}, "
            f"expected {tuple(expected[k].shape)})"
        )
    if problems:
        raise CheckpointMismatchError(
            f"{source} is not a deepgaze2e.pth checkpoint: {'; '.join(problems)}"
        )


def load_deepgaze_weights(model: DeepGazeIIE, path: str | PathLike) -> None:
    """Fill ``model`` from a ``deepgaze2e.pth`` file, strictly (every key, every shape)."""
    state = read_checkpoint(path)
    check_state_dict(model, state, str(path))
    model.load_state_dict(state, strict=True)


def build_deepgaze_iie(weights: str | PathLike | None = None) -> DeepGazeIIE:
    """DeepGaze IIE in eval mode: random weights, or those of ``weights`` (``deepgaze2e.pth``).

    With a file the network is built on the meta device and filled by the strict load, which sets
    every parameter and persistent buffer; this skips ~3 s of random initialisation. The only
    non-persistent buffers, the Normalizers' constants, are set afterwards.
    """
    if weights is None:
        return DeepGazeIIE().eval()
    with torch.device("meta"):
        model = DeepGazeIIE()
    model.to_empty(device="cpu")
    for module in model.modules():
        if isinstance(module, Normalizer):
            module.reset_buffers("cpu")
    load_deepgaze_weights(model, weights)
    return model.eval()
