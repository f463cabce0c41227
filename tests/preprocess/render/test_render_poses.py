"""Latent layout and ranges per mode, and the rotation geometry of the OOD modes."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from seqjepa.preprocess.render.poses import (
    MODES,
    euler_twin,
    id_reachable,
    in_id_cube,
    object_latents,
    relative_quaternion,
    sample_euler,
    view_latent,
)

HALF_PI = np.pi / 2
N = 4000


def _latents(mode, n=500, seed=3):
    return np.stack([view_latent(mode, seed, "02691156", f"obj{i // 5}", i % 5) for i in range(n)])


@pytest.mark.parametrize("mode", MODES)
def test_latent_layout_and_ranges(mode):
    lat = _latents(mode)
    assert lat.shape == (500, 7) and lat.dtype == np.float64
    rot, floor, theta, phi, spot = lat[:, :3], lat[:, 3], lat[:, 4], lat[:, 5], lat[:, 6]
    for hue in (floor, spot):
        assert hue.min() >= 0 and hue.max() < 1 and hue.std() > 0.2
    assert theta.min() >= 0 and theta.max() < np.pi / 4
    assert phi.min() >= 0 and phi.max() < 2 * np.pi
    if mode == "id":
        assert np.all(np.abs(rot) < HALF_PI)
    elif mode == "paper-ood":
        assert np.all((np.abs(rot) >= HALF_PI) & (np.abs(rot) <= np.pi))
        assert 0.4 < (rot > 0).mean() < 0.6  # both signs
    else:
        assert np.all(np.abs(rot[:, 1]) < HALF_PI)  # canonical labels
        assert np.all((np.abs(rot[:, 0]) >= HALF_PI) | (np.abs(rot[:, 2]) >= HALF_PI))
        assert np.all(np.abs(rot) <= np.pi)
        # all three blocks of the complement are drawn: x out, z out, both out
        x_out, z_out = np.abs(rot[:, 0]) >= HALF_PI, np.abs(rot[:, 2]) >= HALF_PI
        for block in (x_out & ~z_out, ~x_out & z_out, x_out & z_out):
            assert 0.2 < block.mean() < 0.47


def test_latents_are_a_pure_function_of_seed_object_view():
    a = view_latent("so3-ood", 7, "03001627", "abc", 3)
    assert np.array_equal(a, view_latent("so3-ood", 7, "03001627", "abc", 3))
    many = object_latents("so3-ood", 7, "03001627", "abc", [5, 4, 3])
    assert np.array_equal(many[2], a)  # order and batch of the request do not matter
    for other in (
        view_latent("so3-ood", 8, "03001627", "abc", 3),
        view_latent("so3-ood", 7, "03001628", "abc", 3),
        view_latent("so3-ood", 7, "03001627", "abd", 3),
        view_latent("so3-ood", 7, "03001627", "abc", 4),
    ):
        assert not np.any(np.isclose(other, a))


def test_lights_are_shared_across_modes():
    """One seed: the OOD split differs from the ID split of the same views only in pose."""
    lats = [view_latent(m, 1, "04379243", "t", 2) for m in MODES]
    for lat in lats[1:]:
        assert np.array_equal(lat[3:], lats[0][3:])
        assert not np.allclose(lat[:3], lats[0][:3])


def test_twin_is_the_same_rotation():
    e = sample_euler("id", np.random.default_rng(0), N)
    twin = euler_twin(e)
    assert np.all(np.abs(twin) <= np.pi)
    delta = Rotation.from_euler("xyz", e).inv() * Rotation.from_euler("xyz", twin)
    assert np.max(delta.magnitude()) < 1e-9


def test_every_paper_ood_pose_has_an_in_distribution_twin():
    e = sample_euler("paper-ood", np.random.default_rng(1), N)
    assert not in_id_cube(e).any()  # the labels look out of distribution ...
    twin = euler_twin(e)
    assert in_id_cube(twin).all()  # ... but the twin is an id triple
    delta = Rotation.from_euler("xyz", e).inv() * Rotation.from_euler("xyz", twin)
    assert np.max(delta.magnitude()) < 1e-9
    assert id_reachable(e).all()
    # and scipy's canonical triple of the rotation is that twin
    canonical = Rotation.from_euler("xyz", e).as_euler("xyz")
    assert np.allclose(canonical, twin, atol=1e-7)


def test_no_so3_ood_pose_has_an_in_distribution_twin():
    e = sample_euler("so3-ood", np.random.default_rng(2), N)
    canonical = Rotation.from_euler("xyz", e).as_euler("xyz")
    assert np.allclose(canonical, e, atol=1e-7)  # labels are the canonical triple
    assert not in_id_cube(canonical).any()
    assert not in_id_cube(euler_twin(canonical)).any()
    assert not id_reachable(e).any()
    assert id_reachable(sample_euler("id", np.random.default_rng(3), N)).all()


def test_so3_ood_is_far_from_id_poses_on_average():
    """Nearest id pose (of 50k) is much farther from so3-ood poses than from fresh id poses."""
    rng = np.random.default_rng(4)
    ref = Rotation.from_euler("xyz", sample_euler("id", rng, 50_000)).as_quat()

    def nearest(euler):
        q = Rotation.from_euler("xyz", euler).as_quat()
        return 2 * np.arccos(np.clip(np.abs(q @ ref.T).max(1), 0, 1))

    ood = np.median(nearest(sample_euler("so3-ood", rng, 300)))
    paper = np.median(nearest(sample_euler("paper-ood", rng, 300)))
    ind = np.median(nearest(sample_euler("id", rng, 300)))
    assert ood > 0.3 and ood > 8 * ind
    assert paper < 2 * ind  # paper-ood poses sit among the id poses


def test_relative_rotation_convention():
    """R_i^-1 R_j, scalar-last, w >= 0; paper-ood relative actions equal their id twins'."""
    lat = _latents("paper-ood", n=400)
    a, b = lat[:-1], lat[1:]
    q = relative_quaternion(a, b)
    assert q.shape == (399, 4) and np.all(q[:, 3] >= 0)
    expected = Rotation.from_euler("xyz", a[:, :3]).inv() * Rotation.from_euler("xyz", b[:, :3])
    assert np.allclose(Rotation.from_quat(q).as_matrix(), expected.as_matrix(), atol=1e-12)
    # the twin labels give the same canonical relative quaternion ...
    ta, tb = a.copy(), b.copy()
    ta[:, :3], tb[:, :3] = euler_twin(a[:, :3]), euler_twin(b[:, :3])
    assert np.allclose(relative_quaternion(ta, tb), q, atol=1e-9)
    # ... while scipy's raw sign differs for many paper-ood pairs (the q / -q artefact)
    raw = relative_quaternion(a, b, canonical=False)
    assert 0.2 < (raw[:, 3] < 0).mean() < 0.8
    assert (relative_quaternion(ta, tb, canonical=False)[:, 3] < 0).mean() < 0.15


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="unknown rotation mode"):
        sample_euler("ood", np.random.default_rng(0))
