import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from seqjepa.datasets import augment
from seqjepa.datasets.loader import build_loader
from seqjepa.datasets.sequences import AugmentedSequences
from seqjepa.datasets.stream import StreamConfig


def identity_params(n):
    p = torch.zeros(n, 12)
    p[:, 2:4] = 1.0  # full-image crop
    p[:, 4:7] = 1.0  # neutral jitter
    return p


def images(n=4, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)


ORDER = torch.arange(4).repeat(4, 1)


def test_neutral_parameters_leave_the_image_unchanged():
    x = images()
    torch.testing.assert_close(augment.apply(x, identity_params(4), ORDER, 32), x, atol=1, rtol=0)


def test_each_component_matches_its_definition():
    x = images()
    xf = x.float() / 255
    p = identity_params(4)
    p[:, 9] = 1  # flip
    torch.testing.assert_close(augment.apply(x, p, ORDER, 32), x.flip(-1), atol=1, rtol=0)
    p = identity_params(4)
    p[:, 4] = 1.3  # brightness
    expected = (TF.adjust_brightness(xf, 1.3) * 255).round().to(torch.uint8)
    torch.testing.assert_close(augment.apply(x, p, ORDER, 32), expected, atol=1, rtol=0)
    p = identity_params(4)
    p[:, 6] = 0.0  # saturation 0 = grayscale
    gray = augment.apply(x, p, ORDER, 32).float()
    assert (gray.max(1).values - gray.min(1).values).max() <= 1
    p = identity_params(4)
    p[:, 7] = 0.1  # hue shift
    expected = (TF.adjust_hue(xf, 0.1) * 255).round()
    assert (augment.apply(x, p, ORDER, 32).float() - expected).abs().mean() < 1.0
    p = identity_params(4)
    p[:, 11] = 1  # solarize at 128
    expected = torch.where(x >= 128, 255 - x, x)
    torch.testing.assert_close(augment.apply(x, p, ORDER, 32), expected, atol=1, rtol=0)


def test_crop_takes_the_recorded_region():
    x = torch.zeros(1, 3, 32, 32, dtype=torch.uint8)
    x[..., 8:24, 16:32] = 200  # bright block = the region top .25, left .5, h .5, w .5
    p = identity_params(1)
    p[0, :4] = torch.tensor([0.25, 0.5, 0.5, 0.5])
    out = augment.apply(x, p, ORDER[:1], 16)
    assert out.shape == (1, 3, 16, 16) and out.float().mean() > 195


def test_blur_smooths_with_the_recorded_sigma():
    x = images(2)
    p = identity_params(2)
    p[:, 8] = torch.tensor([0.1, 2.0])
    out = augment.apply(x, p, ORDER[:2], 32).float()
    assert (out[0] - x[0].float()).abs().mean() < 2  # σ 0.1: almost nothing
    assert out[1].std() < 0.6 * x[1].float().std()
    assert augment.blur_kernel_size(32) == 3 and augment.blur_kernel_size(64) == 7


def test_sampled_parameters_follow_the_protocol():
    u = np.random.default_rng(0).random((3000, 4, augment.UNIFORMS))
    params, _ = augment.params_from_uniforms(u, 32)  # one batch of 3000 samples × 4 views
    obs, pred = (
        params.reshape(3000, 4, 12)[:, :3].reshape(-1, 12),
        params.reshape(3000, 4, 12)[:, 3],
    )
    area = obs[:, 2] * obs[:, 3]
    assert area.min() >= 0.2 - 0.02 and area.max() <= 1.0
    assert np.all(obs[:, 0] + obs[:, 2] <= 1 + 1e-6) and np.all(obs[:, 1] + obs[:, 3] <= 1 + 1e-6)
    jittered = np.any(obs[:, 4:8] != [1, 1, 1, 0], axis=1).mean()
    assert abs(jittered - 0.8) < 0.03 and abs(obs[:, 10].mean() - 0.2) < 0.03
    assert np.all(obs[:, 8] > 0) and abs((pred[:, 8] > 0).mean() - 0.1) < 0.03
    assert obs[:, 11].sum() == 0 and abs(pred[:, 11].mean() - 0.2) < 0.03
    assert abs(obs[:, 9].mean() - 0.5) < 0.03


def test_action_columns_and_paper_normalisation():
    assert augment.action_columns("crop+blur") == [0, 1, 2, 3, 8]
    assert len(augment.action_columns("all")) == 9
    with pytest.raises(ValueError, match="unknown augmentation action"):
        augment.action_columns("rotate")
    params = torch.rand(2, 4, 12)
    rel = augment.relative_actions(params, [0, 4], paper_norm=True)
    normed = params[..., [0, 4]] / params[..., [0, 4]].norm(dim=1, keepdim=True)
    torch.testing.assert_close(rel, normed[:, 1:] - normed[:, :-1])


def test_loader_views_are_reproduced_by_reapplying_recorded_parameters(tmp_path):
    from data import raw_formats

    from seqjepa.preprocess.readers.open import open_reader
    from seqjepa.preprocess.shard import ShardOptions, shard_dataset

    source = raw_formats.write_cifar100(tmp_path / "raw", counts=(("train", 8),))
    shard_dataset(
        open_reader("cifar100", tmp_path / "raw"),
        tmp_path / "shards",
        options=ShardOptions(shard_size=4),
        workers=0,
        progress=False,
    )
    builder = AugmentedSequences(num_views=4, image_size=32, action="crop+jitter", seed=3)
    loader, _ = build_loader(
        tmp_path / "shards", "train", builder, StreamConfig(batch_size=4, shuffle_initial=1)
    )
    batches = list(loader)
    assert len(batches) == 2
    for b in batches:
        assert b["views"].shape == (4, 4, 3, 32, 32) and b["actions"].shape == (4, 3, 8)
        for i, key in enumerate(b["key"]):
            original = torch.from_numpy(source[key][0]).permute(2, 0, 1)[None].expand(4, -1, -1, -1)
            again = augment.apply(original.contiguous(), b["params"][i], b["order"][i], 32)
            torch.testing.assert_close(again, b["views"][i])
        torch.testing.assert_close(b["actions"], b["params"][:, 1:, :8] - b["params"][:, :-1, :8])
