"""EfficientNet-B5 pads like efficientnet_pytorch 0.6.3 (fixed amounts), whatever the input size."""

import pytest
import torch
import torch.nn.functional as F
from efficientnet_pytorch import EfficientNet

from seqjepa.preprocess.saliency.backbones import (
    BACKBONES,
    FeatureExtractor,
    StaticSamePadConv2d,
    build_efficientnet_b5,
    vendored_same_padding,
)

READOUT = BACKBONES[1].readout_layers


@pytest.fixture(scope="module")
def ours():
    torch.manual_seed(0)
    return build_efficientnet_b5().eval()


@pytest.fixture(scope="module")
def dynamic(ours):
    """The pip package's TF-same padding for the actual input size, with the same weights."""
    net = EfficientNet.from_name("efficientnet-b5", image_size=None).eval()
    net.load_state_dict(ours.state_dict(), strict=True)
    return net


@pytest.mark.parametrize(
    ("kernel", "stride", "expected"),
    [(3, 2, (0, 1)), (5, 2, (1, 2)), (3, 1, (1, 1)), (5, 1, (2, 2)), (1, 1, (0, 0))],
)
def test_vendored_rule(kernel, stride, expected):
    assert vendored_same_padding(kernel, stride) == expected


def test_every_conv_is_replaced_with_the_rule(ours):
    convs = [m for m in ours.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(isinstance(m, StaticSamePadConv2d) for m in convs)
    pads = {(m.kernel_size[0], m.stride[0]): m.same_pad for m in convs}
    assert pads == {
        (3, 2): (0, 1, 0, 1),
        (5, 2): (1, 2, 1, 2),
        (3, 1): (1, 1, 1, 1),
        (5, 1): (2, 2, 2, 2),
        (1, 1): (0, 0, 0, 0),
    }


def test_padding_is_fixed_on_odd_sizes():
    torch.manual_seed(0)
    conv = StaticSamePadConv2d(2, 2, 3, stride=2, bias=False, groups=2)
    for size in (15, 16, 93):
        x = torch.randn(1, 2, size, size)
        expected = F.conv2d(F.pad(x, (0, 1, 0, 1)), conv.weight, stride=2, groups=2)
        torch.testing.assert_close(conv(x), expected, rtol=0, atol=0)
    assert conv(torch.randn(1, 2, 93, 93)).shape[-1] == 46  # TF-same for 93 px would give 47


def test_identical_to_dynamic_padding_when_all_sizes_are_even(ours, dynamic):
    x = torch.randn(1, 3, 64, 64)  # 64 → 32 → 16 → 8 → 4 → 2: TF-same pads (0, 1)/(1, 2) too
    with torch.inference_mode():
        torch.testing.assert_close(ours(x), dynamic(x))


def test_odd_intermediate_size_follows_the_vendored_rule(ours, dynamic):
    # Stride-2 convs before the read-outs: stem k3, blocks 3 (k3), 8 (k5), 13 (k3); block 27 (k5).
    # 0.6.3: n → (n + pad − k) // 2 + 1 with pad 1 (k3) or 3 (k5): 93 → 46 → 23 → 11 → 5 → 2.
    # TF-same for the real size: n → ceil(n / 2): 93 → 47 → 24 → 12 → 6 → 3.
    x = torch.randn(1, 3, 93, 93)
    with torch.inference_mode():
        a, b = FeatureExtractor(ours, READOUT)(x), FeatureExtractor(dynamic, READOUT)(x)
    assert [tuple(t.shape[-2:]) for t in a] == [(5, 5), (5, 5), (2, 2)]
    assert [tuple(t.shape[-2:]) for t in b] == [(6, 6), (6, 6), (3, 3)]
