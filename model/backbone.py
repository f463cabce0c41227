"""Backbone encoders, registered by name in :data:`BACKBONES`.

The paper trains every method on a ResNet-18 from scratch and reads the 512-d global-average-pooled
feature (no projector after the encoder). Small inputs (32 px CIFAR images and STL-10 foveal
patches) use the CIFAR stem: a 3x3 stride-1 first convolution and no max-pool, so the last feature
map is not reduced to a single pixel.

The ``convnet-*`` backbones are for CPU-scale experiments (the ``configs/repro/`` presets): a
plain VGG-style network of four stages (two 3x3 conv-BN-ReLU layers each, the first of stages 2-4
with stride 2) and global average pooling, about 30x cheaper than ResNet-18 at the same input size.
Everything downstream of the encoder is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn
from torchvision.models import resnet18


def _resnet18(cifar_stem: bool) -> tuple[nn.Module, int]:
    net = resnet18(weights=None, zero_init_residual=True)
    if cifar_stem:
        net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
    feature_dim = net.fc.in_features
    net.fc = nn.Identity()
    return net, feature_dim


def _conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


def _convnet(base: int) -> Callable[[bool], tuple[nn.Module, int]]:
    """Widths base, 2·base, 4·base, 8·base; ``cifar_stem`` is accepted and has no effect (the
    first stage already keeps full resolution)."""

    def build(cifar_stem: bool) -> tuple[nn.Module, int]:
        del cifar_stem
        widths = [base, 2 * base, 4 * base, 8 * base]
        layers: list[nn.Module] = []
        c_in = 3
        for i, width in enumerate(widths):
            layers += _conv_bn_relu(c_in, width, stride=1 if i == 0 else 2)
            layers += _conv_bn_relu(width, width)
            c_in = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        return nn.Sequential(*layers), widths[-1]

    return build


BACKBONES: dict[str, Callable[[bool], tuple[nn.Module, int]]] = {
    "resnet18": _resnet18,
    "convnet-small": _convnet(32),  # 256-d features
    "convnet-tiny": _convnet(16),  # 128-d features
}


def build_backbone(name: str = "resnet18", cifar_stem: bool = False) -> tuple[nn.Module, int]:
    """Return ``(encoder, feature_dim)``: (N, 3, H, W) images → (N, feature_dim) features."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    return BACKBONES[name](cifar_stem)
