"""Backbone encoders.

The paper trains every method on a ResNet-18 from scratch and reads the 512-d global-average-pooled
feature (no projector after the encoder). Small inputs (32 px CIFAR images and STL-10 foveal
patches) use the CIFAR stem: a 3x3 stride-1 first convolution and no max-pool, so the last feature
map is not reduced to a single pixel.
"""

from __future__ import annotations

from torch import nn
from torchvision.models import resnet18

BACKBONES = ("resnet18",)


def build_backbone(name: str = "resnet18", cifar_stem: bool = False) -> tuple[nn.Module, int]:
    """Return ``(encoder, feature_dim)``: (N, 3, H, W) images → (N, feature_dim) features."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    net = resnet18(weights=None, zero_init_residual=True)
    if cifar_stem:
        net.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        net.maxpool = nn.Identity()
    feature_dim = net.fc.in_features
    net.fc = nn.Identity()
    return net, feature_dim
