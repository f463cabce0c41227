"""The four frozen ImageNet backbones of DeepGaze IIE and the feature extractor that reads them.

Each backbone is built with the module names of the network the published checkpoint was saved
from, so ``deepgaze2e.pth`` fills them with strict loading and nothing is downloaded:

=====================  ==========================================  ====  ============
backbone               built from                                  keys  read-out C
=====================  ==========================================  ====  ============
Shape-ResNet-50        torchvision ``resnet50`` under ``module.``   320  2048
EfficientNet-B5        ``efficientnet_pytorch`` 0.7.1 (see below)   854  2416
DenseNet-201           torchvision ``densenet201``                 1207  2048
ResNeXt-50 32x4d       torchvision ``resnext50_32x4d``              320  2560
=====================  ==========================================  ====  ============

The Shape-ResNet (Geirhos et al.'s SIN+IN, fine-tuned on IN) was saved from a DataParallel
wrapper, hence the extra ``module.`` level. Classifier heads (``fc``, ``_fc``, ``classifier``) and
every layer after the last read-out are kept so the key set is complete, but
:class:`FeatureExtractor` stops the forward pass at the last read-out layer. Measured with
``torch.utils.flop_counter`` at a 512² image (256² backbone input), that skips 1.57 of the
backbones' 39.1 GFLOPs (4 %; the whole model measures 40.5, upstream 41.9): EfficientNet-B5
1.15 (blocks 36–38 and the head, 19 % of that backbone), ResNeXt-50 0.27 and ResNet-50 0.14
(layer4.2's conv3, pooling, fc), DenseNet-201 0.01 (the last conv2, norm5, classifier).

EfficientNet padding: the checkpoint was trained with lukemelas' EfficientNet-PyTorch 0.6.3, whose
"static same" padding is computed once for a 456-px input and then applied to *every* convolution
whatever the real size: k3/s2 pads (0, 1), k5/s2 pads (1, 2), stride 1 pads k//2 on both sides.
0.7.1 either tracks the size per block (static mode: wrong at blocks 13 and 27) or pads TF-same
for the actual input (dynamic mode: right only while every intermediate size is even). The
convolutions are therefore replaced by :class:`StaticSamePadConv2d` with the 0.6.3 rule, which
keeps their parameters and key names.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from .layers import Normalizer

EFFICIENTNET_REFERENCE_SIZE = 456  # the image size efficientnet_pytorch 0.6.3 padded every conv for


class ModuleHolder(nn.Module):
    """Stand-in for ``nn.DataParallel``: holds the network as ``module`` and just calls it."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)


def vendored_same_padding(
    kernel_size: int, stride: int, dilation: int = 1, reference: int = EFFICIENTNET_REFERENCE_SIZE
) -> tuple[int, int]:
    """(before, after) padding of one axis: TF "same" padding for a ``reference``-px input.

    For 456 this gives k3/s2 → (0, 1), k5/s2 → (1, 2) and k//2 on both sides at stride 1.
    """
    out = math.ceil(reference / stride)
    total = max((out - 1) * stride + (kernel_size - 1) * dilation + 1 - reference, 0)
    return total // 2, total - total // 2


class StaticSamePadConv2d(nn.Conv2d):
    """Conv2d padding by efficientnet_pytorch 0.6.3's fixed amounts, whatever the input size."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        top, bottom = vendored_same_padding(self.kernel_size[0], self.stride[0], self.dilation[0])
        left, right = vendored_same_padding(self.kernel_size[1], self.stride[1], self.dilation[1])
        self.same_pad = (left, right, top, bottom)

    @classmethod
    def replacing(cls, conv: nn.Conv2d) -> StaticSamePadConv2d:
        """A padded copy of ``conv`` sharing its parameters (built on meta, so nothing is new)."""
        new = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            stride=conv.stride,
            dilation=conv.dilation,
            groups=conv.groups,
            bias=conv.bias is not None,
            device="meta",
        )
        new.weight = conv.weight
        new.bias = conv.bias
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.same_pad):
            x = F.pad(x, self.same_pad)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", same_pad={self.same_pad}"


def build_shape_resnet50() -> nn.Module:
    from torchvision.models import resnet50

    return ModuleHolder(resnet50(weights=None))


def build_efficientnet_b5() -> nn.Module:
    try:
        from efficientnet_pytorch import EfficientNet
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "DeepGaze IIE needs efficientnet-pytorch for its EfficientNet-B5 backbone: "
            "pip install 'seqjepa[saliency]'"
        ) from exc
    # from_name builds the architecture only; from_pretrained would download weights.
    net = EfficientNet.from_name("efficientnet-b5", image_size=None)
    net.set_swish(memory_efficient=False)  # plain x·sigmoid(x): same values, traceable
    convs = [(n, m) for n, m in net.named_modules() if isinstance(m, nn.Conv2d)]
    for name, conv in convs:
        if conv.padding not in ((0, 0), "valid"):
            raise RuntimeError(f"unexpected explicit padding in EfficientNet layer {name}")
        parent_name, _, child = name.rpartition(".")
        setattr(net.get_submodule(parent_name), child, StaticSamePadConv2d.replacing(conv))
    return net


def build_densenet201() -> nn.Module:
    from torchvision.models import densenet201

    return densenet201(weights=None)


def build_resnext50() -> nn.Module:
    from torchvision.models import resnext50_32x4d

    return resnext50_32x4d(weights=None)


@dataclass(frozen=True)
class BackboneSpec:
    """One backbone: how to build it, which layers the read-out reads (in concat order), and
    the total number of channels those layers give."""

    name: str
    build: Callable[[], nn.Module]
    readout_layers: tuple[str, ...]
    channels: int


BACKBONES: tuple[BackboneSpec, ...] = (
    BackboneSpec(
        "shape-resnet50",
        build_shape_resnet50,
        (
            "module.layer3.0.conv2",
            "module.layer3.3.conv2",
            "module.layer3.5.conv1",
            "module.layer3.5.conv2",
            "module.layer4.1.conv2",
            "module.layer4.2.conv2",
        ),
        2048,
    ),
    BackboneSpec(
        "efficientnet-b5",
        build_efficientnet_b5,
        ("_blocks.24._depthwise_conv", "_blocks.26._depthwise_conv", "_blocks.35._project_conv"),
        2416,
    ),
    BackboneSpec(
        "densenet201",
        build_densenet201,
        (
            "features.denseblock4.denselayer32.norm1",
            "features.denseblock4.denselayer32.conv1",
            "features.denseblock4.denselayer31.conv2",
        ),
        2048,
    ),
    BackboneSpec(
        "resnext50-32x4d",
        build_resnext50,
        ("layer3.5.conv1", "layer3.5.conv2", "layer3.4.conv2", "layer4.2.conv2"),
        2560,
    ),
)


class _StopForward(Exception):
    """Raised by the last read-out hook so the backbone's tail is not computed."""


class _Capture:
    """The read-out outputs of one forward call in progress."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.outputs: dict[str, torch.Tensor] = {}


# One per thread and asyncio task, so concurrent calls (e.g. a threaded HTTP service) never see
# each other's tensors; hooks do nothing when no capture is active (a plain ``features(x)``).
_ACTIVE_CAPTURE: ContextVar[_Capture | None] = ContextVar("saliency_readout", default=None)


def _readout_hook(_module, _args, output: torch.Tensor, *, name: str) -> None:
    """Module-level (not a closure) so the module still deep-copies and pickles."""
    capture = _ACTIVE_CAPTURE.get()
    if capture is None:
        return
    capture.outputs[name] = output.clone()  # the next layer may work in place (DenseNet's ReLU)
    if len(capture.outputs) == capture.expected:
        raise _StopForward


class FeatureExtractor(nn.Module):
    """Normalise 0–255 RGB, run a backbone up to its last read-out layer, return those outputs.

    ``features`` is ``Sequential(Normalizer, net)``, which puts the backbone keys under
    ``features.1.`` as in the checkpoint. Forward hooks copy each read-out layer's raw output
    (before the following BN/ReLU) into the capture of the current call, kept in a context
    variable rather than on the module, and the last one stops the pass.
    """

    def __init__(self, net: nn.Module, readout_layers: tuple[str, ...]) -> None:
        super().__init__()
        self.features = nn.Sequential(Normalizer(), net)
        self.readout_layers = readout_layers
        for name in readout_layers:
            hook = partial(_readout_hook, name=name)
            net.get_submodule(name).register_forward_hook(hook)  # a wrong name fails here

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        capture = _Capture(len(self.readout_layers))
        token = _ACTIVE_CAPTURE.set(capture)
        try:
            self.features(x)
        except _StopForward:
            pass
        finally:
            _ACTIVE_CAPTURE.reset(token)
        missing = [name for name in self.readout_layers if name not in capture.outputs]
        if missing:
            raise RuntimeError(f"read-out layers not reached in the forward pass: {missing}")
        return [capture.outputs[name] for name in self.readout_layers]
