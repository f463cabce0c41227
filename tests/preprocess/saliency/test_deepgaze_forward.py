"""DeepGaze IIE forward pass with random weights: output convention, 0–255 contract, fast paths.

The read-out heads get random (non-initial) parameters so that the vectorised head and
half-resolution mixture paths are compared with the per-head reference on non-trivial values.
Full-model calls share one input shape (2×3×64×64): on the CPU every new shape pays oneDNN's
primitive set-up for ~500 convolutions, which costs more than the forward pass itself here.
"""

import math

import pytest
import torch

from seqjepa.preprocess.saliency import INPUT_SCALE_AUTHORS_BUG, build_saliency_model
from seqjepa.preprocess.saliency.deepgaze import _upsample


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    wrapped = build_saliency_model("deepgaze-iie", allow_random_weights=True)
    with torch.no_grad():
        for name, p in wrapped.network.named_parameters():
            if ".features." in f".{name}":
                continue
            if name.endswith("gauss.sigma"):
                p.uniform_(2.0, 10.0)
            else:
                p.add_(0.3 * torch.randn_like(p))
    return wrapped


def random_images(batch, height, width, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, 3, height, width), dtype=torch.uint8, generator=g)


@pytest.fixture(scope="module")
def images():
    return random_images(2, 64, 64)


@pytest.fixture(scope="module")
def output(model, images):
    return model(images)


def assert_log_density(out, shape):
    assert out.shape == shape
    assert out.dtype == torch.float32
    assert torch.isfinite(out).all()
    torch.testing.assert_close(
        out.flatten(1).logsumexp(1), torch.zeros(shape[0]), atol=1e-5, rtol=0
    )


def test_output_is_normalised_log_density_per_image(model, output):
    assert_log_density(output, (2, 64, 64))
    assert not torch.allclose(output[0], output[1])  # image-dependent
    odd = model(random_images(1, 67, 97, seed=1))
    assert_log_density(odd, (1, 67, 97))


def test_uint8_and_float_0_255_agree_and_unit_floats_are_refused(model, images, output):
    torch.testing.assert_close(model(images.float()), output)
    with pytest.raises(ValueError, match="0–1"):
        model(images.float() / 255)
    with pytest.raises(ValueError, match="0–255"):
        model(images.float() - 128)


def test_authors_bug_mode_feeds_unit_values_unscaled(model, images, output, monkeypatch):
    unit = images.float() / 255
    monkeypatch.setattr(model, "input_scale", INPUT_SCALE_AUTHORS_BUG)
    assert model.provenance()["input_scale"] == "unit (authors' bug)"
    buggy = model(unit)
    uniform = torch.full((64, 64), -math.log(64 * 64))
    with torch.inference_mode():
        expected = model.network(unit, uniform)
    torch.testing.assert_close(buggy, expected)
    assert not torch.allclose(buggy, output, atol=1e-3)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model(images.float())


def test_random_weights_are_labelled_in_provenance(model):
    prov = model.provenance()
    assert prov["model"] == "deepgaze-iie[random-weights]"
    assert prov["weights"] is None and prov["weights_sha256"] is None
    assert prov["centerbias"] == "uniform" and prov["centerbias_sha256"] is None


def test_small_images_and_mismatched_centre_bias_are_refused(model):
    with pytest.raises(ValueError, match="at least 64"):
        model(random_images(1, 48, 64))
    with pytest.raises(ValueError, match="centre bias"):
        model.network(random_images(1, 64, 64).float(), torch.zeros(64, 65))


def test_centre_bias_enters_the_prediction(model, images):
    peaked = torch.full((64, 64), -60.0)
    peaked[:16, :16] = 0.0
    with torch.inference_mode():
        out = model.network(images.float(), peaked)
    for single in out:
        row, col = divmod(int(single.argmax()), 64)
        assert row < 16 and col < 16


def test_vectorised_heads_equal_per_head_reference(model):
    torch.manual_seed(1)
    for sub in model.network.models:
        x = torch.randn(2, sub.spec.channels, 3, 4)
        with torch.inference_mode():
            fast, reference = sub.readouts(x), sub.readouts_per_head(x)
        assert fast.shape == (2, 30, 3, 4)
        torch.testing.assert_close(fast, reference, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("size", [(64, 96), (67, 99)])
def test_half_resolution_mixture_equals_upstream_order(model, size):
    sub = model.network.models[0]
    h, w = size
    torch.manual_seed(2)
    readouts = torch.randn(2, 30, math.ceil(h / 32), math.ceil(w / 32))
    centerbias = torch.randn(2, h, w)
    with torch.inference_mode():
        fast = _upsample(sub.half_resolution_mixture(readouts, centerbias), size)
        per_head = torch.stack(
            [fin(readouts[:, k : k + 1], centerbias) for k, fin in enumerate(sub.finalizers)]
        )
    reference = per_head.logsumexp(0) - math.log(30)
    torch.testing.assert_close(fast, reference, atol=1e-5, rtol=1e-5)


TAILS = (
    ("module.layer4.2.conv3", "module.fc"),
    ("_blocks.36", "_conv_head", "_fc"),
    ("features.denseblock4.denselayer32.conv2", "features.norm5", "classifier"),
    ("layer4.2.conv3", "fc"),
)


def run_recording(net, names, fn, x):
    """``fn(x)`` with hooks on modules ``names`` of ``net``; returns (result, {name: output})."""
    seen = {}

    def hook_for(name):
        def hook(_module, _args, out):
            seen[name] = out.clone()  # returns None, so the network's own output is left alone

        return hook

    handles = [net.get_submodule(name).register_forward_hook(hook_for(name)) for name in names]
    try:
        with torch.inference_mode():
            result = fn(x)
    finally:
        for handle in handles:
            handle.remove()
    return result, seen


def test_backbones_stop_after_last_readout_layer_with_identical_features(model):
    x = torch.rand(2, 3, 32, 32) * 255  # what the backbones see of the 2×64² test batch
    for sub, tail in zip(model.network.models, TAILS, strict=True):
        net = sub.features.features[1]
        early, tail_ran = run_recording(net, tail, sub.features, x)
        assert tail_ran == {}
        names = sub.spec.readout_layers + tail
        _, full = run_recording(net, names, sub.features.features, x)  # whole network
        assert set(full) == set(names)
        for name, feature in zip(sub.spec.readout_layers, early, strict=True):
            torch.testing.assert_close(feature, full[name], rtol=0, atol=0)
        assert sum(f.shape[1] for f in early) == sub.spec.channels


def test_densenet_norm1_is_read_before_its_inplace_relu(model):
    dense = model.network.models[2]
    with torch.inference_mode():
        norm1 = dense.features(torch.rand(2, 3, 32, 32) * 255)[0]
    assert norm1.min() < 0
