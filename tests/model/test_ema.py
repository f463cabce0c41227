import itertools
import math

import torch

from seqjepa.model import ema_momentum, ema_update, make_target


def test_momentum_schedule_endpoints_and_midpoint():
    assert ema_momentum(0, 100) == 0.996
    assert math.isclose(ema_momentum(50, 100), 0.998)
    assert ema_momentum(100, 100) == 1.0
    values = [ema_momentum(s, 100) for s in range(101)]
    assert all(a <= b for a, b in itertools.pairwise(values))


def test_ema_update_maths():
    online = torch.nn.Linear(3, 2)
    target = make_target(online)
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
    before = [p.clone() for p in target.parameters()]
    ema_update([(online, target)], tau=0.9)
    for t0, t1, o in zip(before, target.parameters(), online.parameters(), strict=True):
        torch.testing.assert_close(t1, 0.9 * t0 + 0.1 * o)


def test_ema_leaves_buffers_alone():
    online = torch.nn.BatchNorm1d(4)
    target = make_target(online)
    online.running_mean.fill_(5.0)
    ema_update([(online, target)], tau=0.5)
    assert torch.all(target.running_mean == 0)
