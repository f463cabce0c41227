"""Heads reach near-perfect scores when features encode the target linearly, chance on noise."""

import numpy as np
import pytest

from seqjepa.evaluate import metrics
from seqjepa.evaluate.probes import ProbeConfig, fit_classifier, fit_regressor

N_TRAIN, N_TEST, DIM, CLASSES = 1200, 600, 16, 4


def split(x, y):
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:])


@pytest.fixture
def features():
    return np.random.default_rng(0).normal(size=(N_TRAIN + N_TEST, DIM)).astype(np.float32)


def test_linear_classifier_on_linearly_encoded_classes(features):
    features = 5 * features  # well-separated logits: fewer Adam steps at lr 1e-3
    w = np.random.default_rng(1).normal(size=(DIM, CLASSES))
    labels = (features @ w).argmax(1)
    labels[:50] = -1  # unlabelled samples are ignored in training
    (x, y), (xt, yt) = split(features, labels)
    probe = fit_classifier(x, y, CLASSES, ProbeConfig(epochs=80, batch_size=32, seed=0))
    known = yt >= 0
    assert metrics.accuracy(yt[known], probe.predict(xt[known])) > 94


def test_linear_classifier_on_noise_is_at_chance(features):
    labels = np.random.default_rng(2).integers(0, CLASSES, len(features))
    (x, y), (xt, yt) = split(features, labels)
    probe = fit_classifier(x, y, CLASSES, ProbeConfig(epochs=30, batch_size=32, seed=0))
    assert 100 / CLASSES - 8 < metrics.accuracy(yt, probe.predict(xt)) < 100 / CLASSES + 8


@pytest.mark.parametrize(("head", "epochs"), [("linear", 50), ("mlp", 5)])
def test_regressors_on_linear_targets(features, head, epochs):
    a = np.random.default_rng(3).normal(scale=0.3, size=(DIM, 3))
    (x, y), (xt, yt) = split(features, features @ a)
    probe = fit_regressor(x, y, head, ProbeConfig(epochs=epochs, batch_size=32, seed=0))
    pred = probe.predict(xt)
    assert pred.shape == yt.shape
    assert metrics.r2_uniform(yt, pred) > 0.97
    assert metrics.r2_global(yt, pred) > 0.97


@pytest.mark.parametrize("head", ["linear", "mlp"])
def test_regressors_on_noise_explain_nothing(features, head):
    target = np.random.default_rng(4).normal(size=(len(features), 2))
    (x, y), (xt, yt) = split(features, target)
    probe = fit_regressor(x, y, head, ProbeConfig(epochs=5, batch_size=32, seed=0))
    assert metrics.r2_uniform(yt, probe.predict(xt)) < 0.05


def test_heads_are_seeded():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(64, 4)).astype(np.float32), rng.normal(size=(64, 1))
    a = fit_regressor(x, y, "mlp", ProbeConfig(epochs=2, seed=7)).predict(x)
    b = fit_regressor(x, y, "mlp", ProbeConfig(epochs=2, seed=7)).predict(x)
    c = fit_regressor(x, y, "mlp", ProbeConfig(epochs=2, seed=8)).predict(x)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_each_epoch_trains_on_its_own_draw():
    """With draw ids, epoch e sees exactly the rows of draw e mod D (fresh sequences per epoch)."""
    from seqjepa.evaluate.probes import _fit, make_head

    draws = np.repeat([0, 1, 2], 4)
    x = np.random.default_rng(0).normal(size=(12, 3)).astype(np.float32)
    y = np.arange(12, dtype=np.float32)[:, None]  # a row's target names the row
    seen: list[set[int]] = []

    def recording_loss(pred, target):
        seen.append({int(v) for v in target[:, 0]})
        return ((pred - target) ** 2).mean()

    _fit(make_head("linear", 3, 1), x, y, recording_loss, ProbeConfig(5, batch_size=4), draws)
    assert seen == [{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}, {0, 1, 2, 3}, {4, 5, 6, 7}]
