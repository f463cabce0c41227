import math

import pytest

from seqjepa.train.schedules import learning_rate

KW = dict(lr=4e-4, start_lr=1e-5, final_lr=1e-5, warmup_steps=20, total_steps=120)


def test_warmup_is_linear_from_start_lr():
    assert learning_rate(0, **KW) == 1e-5
    assert math.isclose(learning_rate(10, **KW), 1e-5 + (4e-4 - 1e-5) / 2)
    assert math.isclose(learning_rate(20, **KW), 4e-4)


def test_cosine_decay_to_final_lr():
    assert math.isclose(learning_rate(70, **KW), 1e-5 + (4e-4 - 1e-5) / 2)
    assert math.isclose(learning_rate(120, **KW), 1e-5)
    assert learning_rate(500, **KW) == pytest.approx(1e-5)


def test_no_warmup():
    assert learning_rate(0, **{**KW, "warmup_steps": 0}) == 4e-4
