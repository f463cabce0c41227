"""Read-out layers: whole-map LayerNorm, Gaussian blur with learnable σ, normaliser."""

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from seqjepa.preprocess.saliency.layers import (
    GaussianBlur,
    LayerNorm,
    Normalizer,
    blur_channels,
    gaussian_kernel_size,
)


def test_layernorm_uses_statistics_of_the_whole_map():
    torch.manual_seed(0)
    ln = LayerNorm(3)
    with torch.no_grad():
        ln.weight.copy_(torch.tensor([1.0, 2.0, 3.0]))
        ln.bias.copy_(torch.tensor([0.0, 1.0, -1.0]))
    x = torch.randn(2, 3, 4, 5) * 7 + 3
    flat = x.flatten(1)
    mean, var = flat.mean(1), flat.var(1, unbiased=False)
    normed = (x - mean[:, None, None, None]) / (var[:, None, None, None] + 1e-12).sqrt()
    expected = normed * ln.weight[:, None, None] + ln.bias[:, None, None]
    torch.testing.assert_close(ln(x), expected, rtol=1e-5, atol=1e-5)
    # one pixel changes every output: the statistics span channels and space
    y = x.clone()
    y[0, 0, 0, 0] += 10
    assert not torch.allclose(ln(y)[0, 2, 3, 4], ln(x)[0, 2, 3, 4])


@pytest.mark.parametrize("sigma", [8.0, 2.5])
def test_blur_matches_scipy_with_replicated_border(sigma):
    # scipy's radius int(truncate·σ + 0.5) equals ceil(truncate·σ) for these σ
    assert gaussian_kernel_size(sigma) == 2 * int(3 * sigma + 0.5) + 1
    rng = np.random.default_rng(0)
    image = rng.normal(size=(40, 30)).astype(np.float32)
    image[5:9, 20:25] += 10
    blur = GaussianBlur(sigma)
    out = blur(torch.from_numpy(image)[None, None])[0, 0].detach().numpy()
    expected = gaussian_filter(image.astype(np.float64), sigma, truncate=3.0, mode="nearest")
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_grouped_blur_equals_one_blur_per_channel():
    torch.manual_seed(0)
    sigmas = torch.tensor([1.3, 8.0, 4.2])
    x = torch.randn(2, 3, 33, 21)
    grouped = blur_channels(x, sigmas)
    for k, sigma in enumerate(sigmas.tolist()):
        single = GaussianBlur(sigma)(x[:, k : k + 1])
        torch.testing.assert_close(grouped[:, k : k + 1], single, rtol=1e-5, atol=1e-6)


def test_blur_sigma_is_learnable_and_a_scalar():
    blur = GaussianBlur(8.0)
    assert blur.sigma.shape == ()
    x = torch.zeros(1, 1, 21, 21)
    x[0, 0, 10, 10] = 1.0
    blur(x)[0, 0, 10, 10].backward()
    assert blur.sigma.grad is not None and blur.sigma.grad < 0  # wider blur, lower peak


def test_normalizer_expects_0_255():
    x = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
    torch.testing.assert_close(Normalizer()(x), torch.zeros(1, 3, 1, 1), atol=1e-6, rtol=0)
    assert Normalizer().state_dict() == {}
