"""DeepGaze IIE's state dict equals the published deepgaze2e.pth layout and loads strictly.

The expected layout comes from the reference notes (5461 keys, 104,572,367 numbers, per-backbone
counts and parameter totals, 23 read-out keys per head) and from independently built torchvision
and efficientnet_pytorch networks; random weights, no checkpoint needed.
"""

import hashlib

import pytest
import torch
from efficientnet_pytorch import EfficientNet
from torchvision import models as tvm

from seqjepa.preprocess.saliency import build_saliency_model
from seqjepa.preprocess.saliency.deepgaze import (
    CheckpointMismatchError,
    DeepGazeIIE,
    load_deepgaze_weights,
)

CHANNELS = (2048, 2416, 2048, 2560)
BACKBONE_KEYS = (320, 854, 1207, 320)
BACKBONE_PARAMS = (25_557_032, 30_389_784, 20_013_928, 25_028_904)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return DeepGazeIIE().eval()


@pytest.fixture(scope="module")
def state(model):
    return model.state_dict()


@pytest.fixture(scope="module")
def checkpoint(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "deepgaze2e.pth"
    torch.save(model.state_dict(), path)
    yield path
    path.unlink()


def readout_layout(channels: int) -> dict[str, tuple[int, ...]]:
    """The 23 keys of one read-out head, as listed in the reference notes."""
    sal = {
        "layernorm0.weight": (channels,),
        "layernorm0.bias": (channels,),
        "conv0.weight": (8, channels, 1, 1),
        "bias0.bias": (8,),
        "layernorm1.weight": (8,),
        "layernorm1.bias": (8,),
        "conv1.weight": (16, 8, 1, 1),
        "bias1.bias": (16,),
        "layernorm2.weight": (16,),
        "layernorm2.bias": (16,),
        "conv2.weight": (1, 16, 1, 1),
        "bias2.bias": (1,),
    }
    sel = {
        "layernorm0.layernorm_part0.weight": (1,),
        "layernorm0.layernorm_part0.bias": (1,),
        "conv0.conv_part0.weight": (128, 1, 1, 1),
        "bias0.bias": (128,),
        "layernorm1.weight": (128,),
        "layernorm1.bias": (128,),
        "conv1.weight": (16, 128, 1, 1),
        "bias1.bias": (16,),
        "conv2.weight": (1, 16, 1, 1),
    }
    fin = {"center_bias_weight": (1,), "gauss.sigma": ()}
    return {
        **{f"saliency_networks.{{k}}.{n}": s for n, s in sal.items()},
        **{f"fixation_selection_networks.{{k}}.{n}": s for n, s in sel.items()},
        **{f"finalizers.{{k}}.{n}": s for n, s in fin.items()},
    }


def reference_backbone_shapes() -> list[dict[str, tuple[int, ...]]]:
    """Key → shape of the four published backbones, from the original libraries (on meta)."""
    with torch.device("meta"):
        nets = [
            {f"module.{k}": v for k, v in tvm.resnet50().state_dict().items()},
            EfficientNet.from_name("efficientnet-b5").state_dict(),
            tvm.densenet201().state_dict(),
            tvm.resnext50_32x4d().state_dict(),
        ]
    return [{k: tuple(v.shape) for k, v in net.items()} for net in nets]


def test_totals_match_published_checkpoint(state):
    assert len(state) == 5461
    assert sum(k.endswith("num_batches_tracked") for k in state) == 423
    assert sum(v.numel() for v in state.values()) == 104_572_367
    assert all(v.dtype in (torch.float32, torch.int64) for v in state.values())


def test_backbone_keys_and_shapes(state):
    for i, reference in enumerate(reference_backbone_shapes()):
        prefix = f"models.{i}.features.features.1."
        ours = {k[len(prefix) :]: tuple(v.shape) for k, v in state.items() if k.startswith(prefix)}
        assert len(ours) == BACKBONE_KEYS[i]
        assert ours == reference
    examples = [
        "models.0.features.features.1.module.layer3.0.conv2.weight",
        "models.1.features.features.1._blocks.24._depthwise_conv.weight",
        "models.2.features.features.1.features.denseblock4.denselayer32.norm1.running_var",
        "models.3.features.features.1.layer4.2.conv2.weight",
        "models.0.features.features.1.module.fc.weight",
        "models.1.features.features.1._fc.weight",
        "models.2.features.features.1.classifier.weight",
    ]
    assert all(k in state for k in examples)


def test_readout_keys_and_shapes(state):
    for i, channels in enumerate(CHANNELS):
        expected = {
            f"models.{i}.{template.format(k=k)}": shape
            for template, shape in readout_layout(channels).items()
            for k in range(30)
        }
        prefix = f"models.{i}."
        ours = {
            k: tuple(v.shape)
            for k, v in state.items()
            if k.startswith(prefix) and not k.startswith(prefix + "features.")
        }
        assert len(ours) == 690
        assert ours == expected


def test_parameter_counts_per_backbone(model):
    for i, sub in enumerate(model.models):
        backbone = sum(p.numel() for p in sub.features.parameters())
        readout = sum(p.numel() for p in sub.parameters()) - backbone
        assert backbone == BACKBONE_PARAMS[i]
        assert readout == 30 * (10 * CHANNELS[i] + 2813)


def test_only_normalizer_constants_are_outside_the_state_dict(model, state):
    # Building from a file skips initialisation: whatever the file does not set must be rebuilt.
    outside = {name for name, _ in model.named_buffers()} - state.keys()
    assert outside == {
        f"models.{i}.features.features.0.{c}" for i in range(4) for c in ("mean", "std")
    }


def test_initial_head_values(state):
    assert float(state["models.0.finalizers.0.gauss.sigma"]) == 8.0
    assert float(state["models.3.finalizers.29.center_bias_weight"]) == 1.0


def test_checkpoint_round_trips_strictly(model, checkpoint):
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
    with torch.no_grad():
        for name in (
            "models.0.finalizers.3.gauss.sigma",
            "models.1.features.features.1._blocks.35._project_conv.weight",
            "models.2.features.features.1.features.norm5.running_mean",
            "models.3.saliency_networks.7.conv0.weight",
        ):
            tensor = model.state_dict()[name]
            tensor.add_(1.0)
            assert not torch.equal(tensor, saved[name])
    load_deepgaze_weights(model, checkpoint)
    reloaded = model.state_dict()
    assert reloaded.keys() == saved.keys()
    assert all(torch.equal(reloaded[k], saved[k]) for k in saved)


def test_model_from_weights_file_matches_and_records_hash(model, checkpoint):
    loaded = build_saliency_model("deepgaze-iie", weights=checkpoint)
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    prov = loaded.provenance()
    assert prov["model"] == "deepgaze-iie"
    assert prov["weights"] == str(checkpoint)
    assert prov["weights_sha256"] == digest
    assert prov["input_scale"] == "0-255"
    images = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    with torch.inference_mode():
        expected = model(images.float(), torch.full((64, 64), -torch.log(torch.tensor(4096.0))))
    torch.testing.assert_close(loaded(images), expected)


def test_wrong_keys_give_one_line_error(model, tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"state_dict": torch.zeros(3)}, path)
    with pytest.raises(CheckpointMismatchError) as info:
        load_deepgaze_weights(model, path)
    message = str(info.value)
    assert "\n" not in message
    assert "not a deepgaze2e.pth checkpoint" in message
    assert "5461 missing keys (first: models.0.features.features.1.module.conv1.weight)" in message
    assert "1 unexpected keys (first: state_dict)" in message


def test_wrong_shape_is_named(model, state, tmp_path):
    # Zero-stride views keep the file tiny: one stored number per tensor.
    fake = {k: torch.zeros((), dtype=v.dtype).expand(v.shape) for k, v in state.items()}
    fake["models.2.saliency_networks.4.conv0.weight"] = torch.zeros(()).expand(8, 7, 1, 1)
    path = tmp_path / "shapes.pth"
    torch.save(fake, path)
    assert path.stat().st_size < 20_000_000
    with pytest.raises(CheckpointMismatchError, match=r"1 shape mismatches \(first: models\.2"):
        load_deepgaze_weights(model, path)


def test_unreadable_or_pickled_files_are_refused(model, tmp_path):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointMismatchError, match="cannot read"):
        load_deepgaze_weights(model, garbage)
    pickled = tmp_path / "pickled.pth"
    torch.save({"x": object()}, pickled)  # needs full unpickling: refused by weights_only
    with pytest.raises(CheckpointMismatchError, match="cannot read"):
        load_deepgaze_weights(model, pickled)
