import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from seqjepa.datasets.actions import (
    canonical,
    euler_xyz_to_quat,
    object_actions,
    relative_rotations,
    wrap_unit,
)


def latents(rng, n, k, low=-np.pi / 2, high=np.pi / 2):
    lat = np.empty((n, k, 7))
    lat[..., :3] = rng.uniform(low, high, (n, k, 3))
    lat[..., 3] = rng.uniform(0, 1, (n, k))
    lat[..., 4] = rng.uniform(0, np.pi / 4, (n, k))
    lat[..., 5] = rng.uniform(0, 2 * np.pi, (n, k))
    lat[..., 6] = rng.uniform(0, 1, (n, k))
    return lat


def test_euler_to_quat_matches_scipy():
    rng = np.random.default_rng(0)
    angles = rng.uniform(-np.pi, np.pi, (500, 3))
    np.testing.assert_allclose(
        euler_xyz_to_quat(angles), Rotation.from_euler("xyz", angles).as_quat(), atol=1e-12
    )


@pytest.mark.parametrize("box", [(-np.pi / 2, np.pi / 2), (np.pi / 2, np.pi)])
def test_relative_rotation_matches_scipy_in_both_conventions(box):
    rng = np.random.default_rng(1)
    lat = latents(rng, 200, 4, *box)
    rel = relative_rotations(lat, "paper")
    for n in range(len(lat)):
        rots = Rotation.from_euler("xyz", lat[n, :, :3])
        expected = np.stack([(rots[j].inv() * rots[j + 1]).as_quat() for j in range(3)])
        np.testing.assert_allclose(rel[n], expected, atol=1e-12)
    canon = relative_rotations(lat, "canonical")
    assert np.all(canon[..., 3] >= 0)
    np.testing.assert_allclose(canon, canonical(rel))
    # the same rotations: R_i · R_rel = R_{i+1}
    r0 = Rotation.from_euler("xyz", lat[:, 0, :3])
    r1 = Rotation.from_euler("xyz", lat[:, 1, :3])
    np.testing.assert_allclose(
        (r0 * Rotation.from_quat(canon[:, 0])).as_matrix(), r1.as_matrix(), atol=1e-10
    )


def test_paper_sign_is_raw_scipy_and_sometimes_negative():
    rng = np.random.default_rng(2)
    rel = relative_rotations(latents(rng, 2000, 2), "paper")
    share = np.mean(rel[..., 3] < 0)
    assert 0.01 < share < 0.1  # about 4.4 % of in-distribution pairs (reference notes)


def test_hue_wrap():
    np.testing.assert_allclose(
        wrap_unit(np.array([0.9, -0.9, 0.5, -0.5, 0.2])), [-0.1, 0.1, 0.5, 0.5, 0.2]
    )


def test_object_action_layouts():
    rng = np.random.default_rng(3)
    lat = latents(rng, 5, 4)
    lat[0, 0, 3], lat[0, 1, 3] = 0.95, 0.05  # floor hue crosses 1 → 0
    assert object_actions(lat, "rot").shape == (5, 3, 4)
    assert object_actions(lat, "rotcolor").shape == (5, 3, 6)
    assert object_actions(lat, "all").shape == (5, 3, 8)
    colour = object_actions(lat, "color")
    assert colour.shape == (5, 3, 2) and colour.dtype == np.float32
    assert colour[0, 0, 0] == pytest.approx(0.1)
    assert object_actions(lat, "color", "paper")[0, 0, 0] == pytest.approx(-0.9)
    with pytest.raises(ValueError, match="unknown object action"):
        object_actions(lat, "scale")
