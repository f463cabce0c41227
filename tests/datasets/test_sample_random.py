"""Per-sample random numbers: keyed by (seed, epoch, id), uniform, and the same in both forms."""

import numpy as np
from scipy.stats import chisquare, kstest

from seqjepa.datasets.sequences import _choose, sample_key, sample_uniform, sample_uniforms


def test_keys_depend_on_seed_epoch_and_id():
    keys = {sample_key(s, e, i) for s in (0, 1) for e in (0, 1) for i in ("a/b/0", "a/b/1")}
    assert len(keys) == 8 and all(0 <= k < 2**64 for k in keys)
    assert sample_key(3, 4, "x") == sample_key(3, 4, "x")


def test_vectorised_and_scalar_streams_agree_and_are_uniform():
    keys = [sample_key(0, 0, f"s/{i}") for i in range(2000)]
    u = sample_uniforms(keys, 16)
    assert u.shape == (2000, 16) and u.dtype == np.float64
    assert [sample_uniform(keys[7], i) for i in range(16)] == u[7].tolist()
    assert u.min() >= 0 and u.max() < 1
    assert kstest(u.ravel(), "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(u[:, 0], u[:, 1])[0, 1]) < 0.05  # draws of one stream
    assert abs(np.corrcoef(u[:-1, 0], u[1:, 0])[0, 1]) < 0.05  # neighbouring samples


def test_choose_draws_distinct_indices_uniformly():
    picks = [_choose(sample_key(0, 0, str(i)), 10, 4) for i in range(6000)]
    assert all(len(set(p)) == 4 and all(0 <= x < 10 for x in p) for p in picks)
    for position in range(4):
        counts = np.bincount([p[position] for p in picks], minlength=10)
        assert chisquare(counts).pvalue > 1e-3
