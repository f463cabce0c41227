"""Shared SSL losses: against naive reference formulas, and under 2-process gloo DDP."""

import math
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from seqjepa.model.losses import covariance, nt_xent, variance, vicreg


def naive_nt_xent(a, b, temperature):
    """SimCLR's definition, one anchor at a time."""
    x = F.normalize(torch.cat([a, b]), dim=-1)
    n = len(a)
    total = 0.0
    for i in range(2 * n):
        positive = (i + n) % (2 * n)
        sims = torch.stack([x[i] @ x[k] / temperature for k in range(2 * n) if k != i])
        others = [k for k in range(2 * n) if k != i]
        total += -(sims[others.index(positive)] - torch.logsumexp(sims, 0))
    return total / (2 * n)


def test_nt_xent_matches_the_per_anchor_definition():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 8, generator=g), torch.randn(5, 8, generator=g)
    assert torch.allclose(nt_xent(a, b, 0.5), naive_nt_xent(a, b, 0.5), atol=1e-5)


def test_nt_xent_is_lowest_when_positives_coincide():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(16, 32, generator=g)
    coincide = nt_xent(a, a.clone(), 0.1)
    for scale in (0.1, 0.5, 2.0):
        noisy = a + scale * torch.randn(a.shape, generator=g)
        assert coincide < nt_xent(a, noisy, 0.1)
    # With orthogonal samples and coinciding positives, each anchor's logits are 1/τ for its
    # positive and 0 for the 2N − 2 negatives: the loss is log(1 + (2N − 2)·e^{−1/τ}).
    eye = torch.eye(8)
    expected = math.log(1 + 14 * math.exp(-1 / 0.1))
    assert nt_xent(eye, eye, 0.1).item() == pytest.approx(expected, rel=1e-3)  # float32


def test_variance_and_covariance_terms():
    g = torch.Generator().manual_seed(2)
    wide = 3.0 * torch.randn(4096, 4, generator=g)
    assert variance(wide).item() == 0.0  # every std ≥ 1: no hinge
    collapsed = torch.zeros(64, 4)
    assert variance(collapsed).item() == pytest.approx(1 - math.sqrt(1e-4), abs=1e-6)
    independent = torch.randn(20000, 3, generator=g)
    assert covariance(independent).item() < 1e-3
    x = torch.randn(20000, 1, generator=g)
    correlated = torch.cat([x, x, -x], 1)  # off-diagonal covariances ±1, six of them
    assert covariance(correlated).item() == pytest.approx(6 / 3, rel=0.05)


def test_vicreg_weights_combine_the_terms():
    g = torch.Generator().manual_seed(3)
    y1, y2 = torch.randn(32, 6, generator=g), torch.randn(32, 6, generator=g)
    loss, terms = vicreg(y1, y2, inv=10, var=10, cov=1)
    logs = {k: v.item() for k, v in terms.items()}  # detached tensors: no host sync per step
    assert not any(v.requires_grad for v in terms.values())
    expected = 10 * logs["inv"] + 10 * logs["var"] + logs["cov"]
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert logs["inv"] == pytest.approx(F.mse_loss(y1, y2).item())


LOSSES = {
    "nt_xent": lambda a, b: nt_xent(a, b, 0.5),
    "vicreg": lambda a, b: vicreg(a, b, 10.0, 10.0, 1.0)[0],
}


def _global_batch():
    g = torch.Generator().manual_seed(4)
    return torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)


def _rank(rank: int, world: int, port: int, name: str, out: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        a, b = _global_batch()
        share = len(a) // world
        rows = slice(rank * share, (rank + 1) * share)
        a, b = a[rows].clone().requires_grad_(), b[rows].clone().requires_grad_()
        loss = LOSSES[name](a, b)
        loss.backward()
        out[rank] = (loss.item(), a.grad.clone(), b.grad.clone())
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_two_process_gloo_matches_the_single_process_loss_and_gradients(name):
    """Each rank's loss uses the gathered batch; the mean of the rank losses equals the loss on
    the concatenated batch, and DDP's gradient average (rank gradient / world) equals the
    single-process gradient of the same rows: batch terms keep their gradients across ranks."""
    world = 2
    with mp.Manager() as manager:
        out = manager.dict()
        mp.spawn(_rank, args=(world, _free_port(), name, out), nprocs=world, join=True)
        results = dict(out)
    a, b = _global_batch()
    a.requires_grad_()
    b.requires_grad_()
    full = LOSSES[name](a, b)
    full.backward()
    mean_loss = sum(results[r][0] for r in range(world)) / world
    assert mean_loss == pytest.approx(full.item(), rel=1e-5)
    grad_a = torch.cat([results[r][1] for r in range(world)]) / world
    grad_b = torch.cat([results[r][2] for r in range(world)]) / world
    assert torch.allclose(grad_a, a.grad, atol=1e-6)
    assert torch.allclose(grad_b, b.grad, atol=1e-6)
