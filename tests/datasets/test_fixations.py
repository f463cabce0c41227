import numpy as np
import pytest
import torch
from scipy.stats import chi2_contingency, chisquare

from seqjepa.datasets.fixations import (
    cut_patches,
    sample_fixations,
    sample_fixations_reference,
    to_image_pixels,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def random_log_density(rng, h=6, w=7):
    logits = rng.normal(0, 1.5, (h, w))
    return logits - np.log(np.exp(logits).sum())


def test_reference_frequencies_follow_saliency():
    rng = np.random.default_rng(0)
    logd = random_log_density(rng)
    draws = np.array([sample_fixations_reference(logd, 1, rng)[0] for _ in range(20000)])
    counts = np.bincount(draws[:, 0] * 7 + draws[:, 1], minlength=42)
    expected = np.exp(logd).ravel() * len(draws)
    assert chisquare(counts, expected).pvalue > 1e-3


@pytest.mark.parametrize("device", DEVICES)
def test_batched_first_fixation_follows_saliency(device):
    rng = np.random.default_rng(1)
    logd = random_log_density(rng)
    n = 20000
    maps = torch.tensor(logd, dtype=torch.float32, device=device).expand(n, -1, -1)
    fix = sample_fixations(
        maps, torch.rand(n, 1, generator=torch.Generator().manual_seed(0)).to(device)
    )
    counts = np.bincount((fix[:, 0, 0] * 7 + fix[:, 0, 1]).cpu().numpy(), minlength=42)
    assert chisquare(counts, np.exp(logd).ravel() * n).pvalue > 1e-3


@pytest.mark.parametrize("ior", ["disk", "box"])
@pytest.mark.parametrize("device", DEVICES)
def test_batched_and_reference_sequences_agree_in_distribution(ior, device):
    rng = np.random.default_rng(2)
    logd = random_log_density(rng)
    n = 6000
    ref = np.array(
        [sample_fixations_reference(logd, 3, rng, ior=ior, radius=1.5) for _ in range(n)]
    )
    maps = torch.tensor(logd, dtype=torch.float32, device=device).expand(n, -1, -1)
    uniforms = torch.rand(n, 3, generator=torch.Generator().manual_seed(1)).to(device)
    bat = sample_fixations(maps, uniforms, ior=ior, radius=1.5).cpu().numpy()
    for t in (1, 2):  # fixations after IoR has acted
        a = np.bincount(ref[:, t, 0] * 7 + ref[:, t, 1], minlength=42)
        b = np.bincount(bat[:, t, 0] * 7 + bat[:, t, 1], minlength=42)
        keep = (a + b) > 0
        assert chi2_contingency(np.stack([a[keep], b[keep]])).pvalue > 1e-3


@pytest.mark.parametrize("ior", ["disk", "box"])
def test_ior_never_revisits_the_window(ior):
    rng = np.random.default_rng(3)
    logd = torch.tensor(np.stack([random_log_density(rng, 24, 24) for _ in range(200)]))
    radius = 4
    fix = sample_fixations(logd, torch.rand(200, 5), ior=ior, radius=radius).numpy()
    for seq in fix:
        for i in range(5):
            for j in range(i):
                d = seq[i] - seq[j]
                inside = (d**2).sum() <= radius**2 if ior == "disk" else np.abs(d).max() <= radius
                assert not inside
    ref = sample_fixations_reference(logd[0].numpy(), 5, rng, ior=ior, radius=radius)
    assert len({tuple(f) for f in ref}) == 5


def test_without_ior_fixations_can_repeat_and_uniform_is_uniform():
    peaked = torch.full((1, 5, 5), -50.0)
    peaked[0, 2, 3] = 0.0
    fix = sample_fixations(peaked, torch.rand(1, 4), ior="none")
    assert (fix[0] == torch.tensor([2, 3])).all()
    u = sample_fixations(None, torch.rand(30000, 1), shape=(4, 5))
    counts = np.bincount((u[:, 0, 0] * 5 + u[:, 0, 1]).numpy(), minlength=20)
    assert chisquare(counts).pvalue > 1e-3


def test_exhausted_mass_falls_back_to_uninhibited_pixels():
    peaked = torch.full((1, 5, 5), -1e4)
    peaked[0, 0, 0] = 0.0
    fix = sample_fixations(peaked, torch.rand(1, 3), ior="box", radius=1)
    assert fix[0, 0].tolist() == [0, 0]
    assert all(max(abs(r), abs(c)) > 1 for r, c in fix[0, 1:].tolist())


def test_patches_are_cut_centred_at_the_fixation():
    img = torch.arange(2 * 3 * 10 * 12, dtype=torch.int32).reshape(2, 3, 10, 12)
    centres = torch.tensor([[[5, 6], [0, 0]], [[9, 11], [4, 2]]])
    patches = cut_patches(img, centres, 4, fill=-1)
    assert patches.shape == (2, 2, 3, 4, 4)
    torch.testing.assert_close(patches[0, 0], img[0, :, 3:7, 4:8])
    torch.testing.assert_close(patches[1, 1], img[1, :, 2:6, 0:4])
    assert (patches[0, 1, :, :2, :] == -1).all() and (
        patches[0, 1, :, 2:, 2:] == img[0, :, :2, :2]
    ).all()
    assert patches[1, 0, :, 3, 3].eq(-1).all()


def test_map_to_image_coordinates():
    fix = torch.tensor([[[0, 0], [47, 95]]])
    assert to_image_pixels(fix, (48, 96), (96, 192)).tolist() == [[[1, 1], [95, 191]]]
    assert to_image_pixels(fix, (96, 96), (96, 96)) is fix
