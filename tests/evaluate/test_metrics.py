"""Metrics and targets against hand-computed values (and scikit-learn or scipy where they exist)."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from sklearn.metrics import r2_score

from seqjepa.evaluate import metrics
from seqjepa.evaluate.targets import (
    absolute_rotation,
    equivariance_targets,
    path_target,
    relative_rotation,
)

Y = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
PRED = np.array([[1.0, 3.0], [2.0, 4.0], [4.0, 5.0]])


def test_r2_per_output_average_by_hand_and_as_sklearn():
    # column 0: SS_res 1, SS_tot 2 -> 0.5; column 1: SS_res 2, SS_tot 8 -> 0.75
    assert metrics.r2_per_output(Y, PRED) == pytest.approx([0.5, 0.75])
    assert metrics.r2_uniform(Y, PRED) == pytest.approx(0.625)
    assert metrics.r2_uniform(Y, PRED) == pytest.approx(r2_score(Y, PRED))


def test_r2_global_mean_by_hand():
    # grand mean 3: SS_tot = 4+1+1+1+0+9 = 16; SS_res = 0+1+0+0+1+1 = 3
    assert metrics.r2_global(Y, PRED) == pytest.approx(1 - 3 / 16)
    assert metrics.r2_global(Y, PRED) != pytest.approx(metrics.r2_uniform(Y, PRED))


def test_r2_constant_column_follows_sklearn():
    y = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    assert metrics.r2_uniform(y, y) == 1.0
    off = y.copy()
    off[2, 1] = 6.0  # wrong on the constant column: that column scores 0
    assert metrics.r2_uniform(y, off) == pytest.approx(0.5)
    assert metrics.r2_uniform(y, off) == pytest.approx(r2_score(y, off))


def test_r2_matches_sklearn_on_random_arrays():
    rng = np.random.default_rng(0)
    y, pred = rng.normal(size=(50, 4)), rng.normal(size=(50, 4))
    assert metrics.r2_uniform(y, pred) == pytest.approx(r2_score(y, pred))
    assert metrics.r2_uniform(y[:, 0], pred[:, 0]) == pytest.approx(r2_score(y[:, 0], pred[:, 0]))


def test_quaternion_error_is_sign_invariant_and_in_degrees():
    identity = np.array([[0.0, 0.0, 0.0, 1.0]])
    s = np.sqrt(0.5)
    assert metrics.quaternion_angle_error(identity, -identity) == pytest.approx([0.0])
    assert metrics.quaternion_angle_error(identity, 3 * identity) == pytest.approx([0.0])
    assert metrics.quaternion_angle_error(identity, [[s, 0, 0, s]]) == pytest.approx([90.0])
    assert metrics.quaternion_angle_error(identity, [[-s, 0, 0, -s]]) == pytest.approx([90.0])
    assert metrics.quaternion_angle_error(identity, [[0, 0, 0, 0]]) == pytest.approx([180.0])


def test_ranks_mrr_and_hits_by_hand():
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.2, 0.1], [0.3, 0.8, 0.8]])
    rank = metrics.ranks(scores, np.array([0, 0, 2]))
    assert rank.tolist() == [1, 2, 2]  # a tie counts against the query
    assert metrics.mean_reciprocal_rank(rank) == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert metrics.hit_at(rank, 1) == pytest.approx(1 / 3)
    assert metrics.hit_at(rank, 5) == 1.0
    # A collapsed model (all scores equal) ranks last, not first.
    assert metrics.ranks(np.ones((1, 4)), np.array([2])).tolist() == [4]


def test_accuracy_in_percent():
    assert metrics.accuracy(np.array([0, 1, 2, 3]), np.array([0, 1, 0, 0])) == 50.0


def latents(euler):
    euler = np.atleast_2d(np.asarray(euler, dtype=np.float64))
    return np.concatenate([euler, np.zeros((len(euler), 4))], axis=1)


def test_relative_rotation_canonical_and_paper_signs():
    a, b = latents([-2.0, 0, 0]), latents([2.0, 0, 0])  # rotation by 4 rad: scipy gives w < 0
    scipy_q = Rotation.from_euler("xyz", a[:, :3]).inv() * Rotation.from_euler("xyz", b[:, :3])
    raw = scipy_q.as_quat()
    assert raw[0, 3] < 0
    assert relative_rotation(a, b, "paper") == pytest.approx(raw.astype(np.float32), abs=1e-6)
    assert relative_rotation(a, b, "canonical") == pytest.approx(-raw.astype(np.float32), abs=1e-6)
    q = absolute_rotation(latents([3.0, 0.5, -2.5]), "canonical")
    assert q[0, 3] >= 0
    assert metrics.quaternion_angle_error(q, absolute_rotation(latents([3.0, 0.5, -2.5]), "paper"))[
        0
    ] == pytest.approx(0.0, abs=1e-3)


def test_path_target_composes_the_relative_actions():
    rng = np.random.default_rng(1)
    lat = np.concatenate(
        [rng.uniform(-np.pi / 2, np.pi / 2, (8, 4, 3)), rng.uniform(size=(8, 4, 4))], axis=2
    )
    total = path_target("objects", lat, 3, "canonical")
    assert total.head == "mlp" and total.quaternion
    steps = [
        Rotation.from_quat(relative_rotation(lat[:, i], lat[:, i + 1], "paper")) for i in range(3)
    ]
    composed = (steps[0] * steps[1] * steps[2]).as_quat()
    assert metrics.quaternion_angle_error(composed, total.values).max() < 1e-3
    pos = rng.uniform(size=(8, 5, 2)).astype(np.float32)
    sacc = path_target("saccades", pos, 4, "canonical")
    assert sacc.head == "linear"
    assert sacc.values == pytest.approx(np.diff(pos, axis=1).sum(1), abs=1e-6)
    assert path_target("augment", pos, 2, "canonical") is None


def test_equivariance_targets_per_setting():
    lat = latents([[0.1, 0.2, 0.3], [0.4, 0.2, 0.3]])[None].repeat(3, 0)
    lat[:, 0, 3], lat[:, 1, 3] = 0.9, 0.1  # floor hue 0.9 -> 0.1: wrapped +0.2, paper -0.8
    objects = equivariance_targets("objects", lat, "canonical")
    assert set(objects) == {"rel_rotation", "abs_rotation", "colour"}
    assert objects["colour"].values[0, 0] == pytest.approx(0.2)
    assert equivariance_targets("objects", lat, "paper")["colour"].values[0, 0] == pytest.approx(
        -0.8
    )
    assert objects["rel_rotation"].inputs == "pair" and objects["abs_rotation"].inputs == "view"
    params = np.zeros((2, 3, 12), np.float32)
    params[:, 1, 8] = 1.5  # blur sigma of view 2
    augment = equivariance_targets("augment", params, "canonical")
    assert {k: v.values.shape[1] for k, v in augment.items()} == {"crop": 4, "jitter": 4, "blur": 1}
    assert augment["blur"].values[:, 0] == pytest.approx([1.5, 1.5])
    assert (
        equivariance_targets("saccades", np.ones((2, 3, 2)), "canonical")["position"].head
        == "linear"
    )
