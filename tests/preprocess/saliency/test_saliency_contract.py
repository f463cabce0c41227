"""The shared input contract (RGB 0–255) and log-density helpers."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqjepa.preprocess.saliency import (
    INPUT_SCALE_AUTHORS_BUG,
    normalize_log_density,
    prepare_images,
    resize_log_density,
)


def test_uint8_and_0_255_floats_pass_unchanged():
    images = torch.randint(0, 256, (2, 3, 8, 9), dtype=torch.uint8)
    out = prepare_images(images)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, images.float())
    torch.testing.assert_close(prepare_images(images.double()), images.float())
    np.testing.assert_array_equal(prepare_images(images.numpy()).numpy(), images.float().numpy())


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (torch.rand(1, 3, 8, 8), "0–1"),
        (torch.zeros(1, 3, 8, 8), "0–1"),
        (torch.randn(1, 3, 8, 8) * 2, "0–255"),
        (torch.full((1, 3, 8, 8), 300.0), "0–255"),
        (torch.full((1, 3, 8, 8), float("nan")), "NaN"),
        (torch.rand(3, 8, 8) * 255, "RGB batch"),
        (torch.rand(1, 4, 8, 8) * 255, "RGB batch"),
        (torch.ones(1, 3, 8, 8, dtype=torch.int32), "uint8 or float"),
    ],
)
def test_bad_inputs_are_refused(images, message):
    with pytest.raises(ValueError, match=message):
        prepare_images(images)


def test_authors_bug_scale_keeps_unit_values():
    images = torch.rand(1, 3, 8, 8)
    torch.testing.assert_close(prepare_images(images, INPUT_SCALE_AUTHORS_BUG), images)
    as_uint8 = (images * 255).round().to(torch.uint8)
    torch.testing.assert_close(
        prepare_images(as_uint8, INPUT_SCALE_AUTHORS_BUG), as_uint8.float() / 255
    )
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        prepare_images(images * 255, INPUT_SCALE_AUTHORS_BUG)
    with pytest.raises(ValueError, match="input_scale"):
        prepare_images(images, "unit")


def test_resize_log_density_is_bilinear_in_log_space_then_normalised():
    torch.manual_seed(0)
    logd = normalize_log_density(torch.randn(2, 64, 48))
    out = resize_log_density(logd, 16)
    assert out.shape == (2, 16, 16) and out.dtype == torch.float32
    torch.testing.assert_close(out.flatten(1).logsumexp(1), torch.zeros(2), atol=1e-5, rtol=0)
    manual = F.interpolate(logd[:, None], size=(16, 16), mode="bilinear", align_corners=False)
    manual = manual[:, 0] - manual[:, 0].flatten(1).logsumexp(1)[:, None, None]
    torch.testing.assert_close(out, manual)
    single = resize_log_density(logd[0].numpy(), (20, 30))
    assert single.shape == (20, 30)
    torch.testing.assert_close(single, resize_log_density(logd, (20, 30))[0])


def test_resize_of_uniform_stays_uniform():
    uniform = torch.full((1, 512, 512), -math.log(512 * 512))
    torch.testing.assert_close(
        resize_log_density(uniform, 96), torch.full((1, 96, 96), -math.log(96 * 96))
    )
