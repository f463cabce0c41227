"""Centre-bias priors: the DeepGaze template recipe, caching, Gaussian and uniform priors."""

import hashlib

import numpy as np
import pytest
import torch
from scipy.ndimage import zoom
from scipy.special import logsumexp
from scipy.stats import truncnorm

from seqjepa.preprocess.saliency import CenterBias


@pytest.fixture
def template_file(tmp_path):
    ys, xs = np.mgrid[0:1024, 0:1024]
    rng = np.random.default_rng(0)
    logp = -((ys - 500.0) ** 2 + (xs - 530.0) ** 2) / (2 * 200.0**2) + 0.1 * rng.random(
        (1024, 1024)
    )
    path = tmp_path / "centerbias_mit1003.npy"
    np.save(path, logp - logsumexp(logp))
    return path


def assert_normalised_float32(logp, shape):
    assert logp.shape == shape and logp.dtype == torch.float32
    assert torch.isfinite(logp).all()
    assert abs(float(torch.logsumexp(logp.double().flatten(), 0))) < 1e-5


def test_file_template_follows_the_deepgaze_recipe(template_file):
    bias = CenterBias.from_file(template_file)
    template = np.load(template_file)
    for h, w in [(512, 512), (375, 500), (96, 96)]:
        out = bias.log_density(h, w)
        assert_normalised_float32(out, (h, w))
        expected = zoom(template, (h / 1024, w / 1024), order=0, mode="nearest")
        expected = (expected - logsumexp(expected)).astype(np.float32)
        np.testing.assert_array_equal(out.numpy(), expected)
    # scipy's order-0 zoom maps corner to corner: not every other pixel
    assert not np.array_equal(bias.log_density(512, 512).numpy(), template[::2, ::2])


def test_file_provenance_and_cache(template_file):
    bias = CenterBias.from_file(template_file)
    assert bias.provenance() == {
        "centerbias": str(template_file),
        "centerbias_sha256": hashlib.sha256(template_file.read_bytes()).hexdigest(),
    }
    assert bias.log_density(64, 80) is bias.log_density(64, 80)
    small = CenterBias.from_file(template_file, cache_size=2)
    first = small.log_density(10, 10)
    small.log_density(11, 11)
    small.log_density(12, 12)
    assert small.log_density(10, 10) is not first  # evicted, recomputed
    torch.testing.assert_close(small.log_density(10, 10), first)


def test_bad_templates_are_refused(tmp_path):
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="allow_pickle"):
        CenterBias.from_file(objects)
    flat = tmp_path / "flat.npy"
    np.save(flat, np.zeros(10))
    with pytest.raises(ValueError, match="2-d"):
        CenterBias.from_file(flat)
    nan = tmp_path / "nan.npy"
    np.save(nan, np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="NaN"):
        CenterBias.from_file(nan)


def test_gaussian_prior_is_centred_with_sigma_a_fraction_of_the_size():
    bias = CenterBias.gaussian(0.25)
    out = bias.log_density(96, 128)
    assert_normalised_float32(out, (96, 128))
    p = out.double().exp()
    ys = torch.arange(96, dtype=torch.float64) + 0.5
    xs = torch.arange(128, dtype=torch.float64) + 0.5
    mean_y, mean_x = (p.sum(1) * ys).sum(), (p.sum(0) * xs).sum()
    assert abs(mean_y - 48) < 1e-6 and abs(mean_x - 64) < 1e-6
    std_y = ((p.sum(1) * (ys - 48) ** 2).sum()).sqrt()
    # the image border cuts the Gaussian at ±2σ
    assert abs(std_y - truncnorm(-2, 2).std() * 0.25 * 96) < 0.05
    assert bias.provenance()["centerbias_sha256"] is None


def test_uniform_prior():
    out = CenterBias.uniform().log_density(5, 7)
    assert_normalised_float32(out, (5, 7))
    assert torch.all(out == out[0, 0])
