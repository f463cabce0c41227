"""Models without weights (`center`, `spectral-residual`) and the model registry."""

import numpy as np
import pytest
import torch

from seqjepa.preprocess.saliency import (
    INPUT_SCALE_AUTHORS_BUG,
    SALIENCY_MODELS,
    CenterBias,
    build_saliency_model,
    spectral_residual,
)


def blob_image(row, col, size=96, radius=6):
    image = np.full((1, 3, size, size), 120, np.uint8)
    ys, xs = np.mgrid[:size, :size]
    image[0, :, (ys - row) ** 2 + (xs - col) ** 2 <= radius**2] = 250
    return torch.from_numpy(image)


def assert_log_density(out, shape):
    assert out.shape == shape and out.dtype == torch.float32
    assert torch.isfinite(out).all()
    torch.testing.assert_close(
        out.flatten(1).logsumexp(1), torch.zeros(shape[0]), atol=1e-5, rtol=0
    )


def test_registry_names():
    assert set(SALIENCY_MODELS) == {"deepgaze-iie", "center", "spectral-residual"}
    with pytest.raises(ValueError, match="unknown saliency model"):
        build_saliency_model("itti-koch")


def test_spectral_residual_peaks_at_an_off_centre_blob():
    model = build_saliency_model("spectral-residual")
    for row, col in [(20, 72), (75, 25), (30, 30), (80, 60)]:
        out = model(blob_image(row, col))
        assert_log_density(out, (1, 96, 96))
        peak_row, peak_col = divmod(int(out[0].argmax()), 96)
        assert abs(peak_row - row) <= 6 and abs(peak_col - col) <= 6


def test_spectral_residual_is_image_dependent():
    model = build_saliency_model("spectral-residual")
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (2, 3, 80, 120), dtype=np.uint8))
    out = model(images)
    assert_log_density(out, (2, 80, 120))
    assert (out[0] - out[1]).abs().max() > 0.1
    torch.testing.assert_close(model(images[1:]), out[1:])  # no batch coupling


def test_flat_image_gives_the_centre_prior():
    out = build_saliency_model("spectral-residual")(torch.full((1, 3, 64, 64), 77.0))
    torch.testing.assert_close(out[0], CenterBias.gaussian().log_density(64, 64))
    assert not spectral_residual(np.full((10, 10), 3.0)).any()


def test_center_model_is_the_prior_and_ignores_the_image():
    model = build_saliency_model("center")
    a, b = model(blob_image(20, 72)), model(blob_image(75, 25))
    assert_log_density(a, (1, 96, 96))
    torch.testing.assert_close(a, b)
    assert divmod(int(a[0].argmax()), 96) in {(47, 47), (47, 48), (48, 47), (48, 48)}


def test_fallbacks_use_a_centre_bias_file(tmp_path):
    corner = np.full((32, 32), -30.0)
    corner[:4, :4] = 0.0
    path = tmp_path / "corner.npy"
    np.save(path, corner)
    out = build_saliency_model("center", centerbias=path)(blob_image(50, 50))
    assert divmod(int(out[0].argmax()), 96)[0] < 12
    prov = build_saliency_model("spectral-residual", centerbias=path).provenance()
    assert prov["centerbias"] == str(path) and len(prov["centerbias_sha256"]) == 64


def test_provenance_names_the_model():
    prov = build_saliency_model("spectral-residual").provenance()
    assert prov["model"] == "spectral-residual"
    assert prov["weights"] is None and prov["weights_sha256"] is None
    assert prov["input_scale"] == "0-255"
    assert prov["centerbias"].startswith("gaussian(sigma=0.25")
    assert build_saliency_model("center").provenance()["model"] == "center"


def test_fallbacks_enforce_the_0_255_contract():
    model = build_saliency_model("spectral-residual")
    with pytest.raises(ValueError, match="0–1"):
        model(torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match="only applies to deepgaze-iie"):
        build_saliency_model("center", input_scale=INPUT_SCALE_AUTHORS_BUG)
    with pytest.raises(ValueError, match="takes no weights"):
        build_saliency_model("center", weights="deepgaze2e.pth")


def test_deepgaze_without_weights_is_refused_unless_asked():
    with pytest.raises(ValueError, match=r"--weights deepgaze2e\.pth"):
        build_saliency_model("deepgaze-iie")
