"""Evaluation heads trained on cached frozen features (paper appendix A.2).

Linear classifiers (cross-entropy) and linear or MLP regressors (MSE), trained with Adam at its
default settings (lr 1e-3), batch 256, for a configurable number of epochs: 300 for the linear
classifier and the MLP regressors, 50 for the linear regressors in the paper. The MLP has two
hidden layers of 1024 units with ReLU, as in the authors' and SIE's evaluation code.

Features are read from the cache, so the encoder is never run here and cannot drift: the
authors' offline evaluation trained its heads with the backbone in train mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Head = Literal["linear", "mlp"]
MLP_HIDDEN = 1024


@dataclass(frozen=True)
class ProbeConfig:
    epochs: int
    batch_size: int = 256
    lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("probe epochs and batch size must be >= 1")


def make_head(kind: Head, in_dim: int, out_dim: int) -> nn.Module:
    if kind == "linear":
        return nn.Linear(in_dim, out_dim)
    if kind == "mlp":
        return nn.Sequential(
            nn.Linear(in_dim, MLP_HIDDEN),
            nn.ReLU(),
            nn.Linear(MLP_HIDDEN, MLP_HIDDEN),
            nn.ReLU(),
            nn.Linear(MLP_HIDDEN, out_dim),
        )
    raise ValueError(f"unknown head {kind!r}; expected linear or mlp")


class Probe:
    """A trained head; ``predict`` maps features to class ids or regression outputs."""

    def __init__(self, head: nn.Module, classify: bool, device: str) -> None:
        self.head = head.eval()
        self.classify = classify
        self.device = device

    @torch.no_grad()
    def predict(self, x: np.ndarray, batch: int = 4096) -> np.ndarray:
        xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
        out = [self.head(xt[i : i + batch].to(self.device)).cpu() for i in range(0, len(xt), batch)]
        y = torch.cat(out) if out else torch.empty(0)
        return (y.argmax(1) if self.classify else y).numpy()


def _fit(head: nn.Module, x, y, loss_fn, cfg: ProbeConfig, draws=None) -> nn.Module:
    """Adam on minibatches; with ``draws`` (a draw id per row), epoch e trains only on the rows
    of draw ``e mod D``: every epoch sees other sequences of the same samples."""
    device = torch.device(cfg.device)
    head.to(device).train()
    x = torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)
    y = torch.as_tensor(y, device=device)
    groups = _rows_by_draw(len(x), draws)
    opt = torch.optim.Adam(head.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    for epoch in range(cfg.epochs):
        rows = groups[epoch % len(groups)]
        order = rows[torch.randperm(len(rows), generator=gen)].to(device)
        for i in range(0, len(order), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            loss = loss_fn(head(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return head


def _rows_by_draw(n: int, draws) -> list[torch.Tensor]:
    if draws is None:
        return [torch.arange(n)]
    draws = np.asarray(draws)
    if len(draws) != n:
        raise ValueError(f"{len(draws)} draw ids for {n} rows")
    return [torch.as_tensor(np.flatnonzero(draws == d)) for d in np.unique(draws)]


def _seeded_head(kind: Head, in_dim: int, out_dim: int, seed: int) -> nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make_head(kind, in_dim, out_dim)


def fit_classifier(
    x: np.ndarray, labels: np.ndarray, num_classes: int, cfg: ProbeConfig, draws=None
) -> Probe:
    """Linear classifier; samples with label < 0 (unlabelled) are left out."""
    labels = np.asarray(labels)
    known = labels >= 0
    if not known.any():
        raise ValueError("no labelled samples to train a classifier on")
    head = _seeded_head("linear", x.shape[1], num_classes, cfg.seed)
    kept = None if draws is None else np.asarray(draws)[known]
    _fit(head, x[known], labels[known].astype(np.int64), F.cross_entropy, cfg, kept)
    return Probe(head, True, cfg.device)


def fit_regressor(x: np.ndarray, y: np.ndarray, kind: Head, cfg: ProbeConfig, draws=None) -> Probe:
    y = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
    head = _seeded_head(kind, x.shape[1], y.shape[1], cfg.seed)
    _fit(head, x, y, F.mse_loss, cfg, draws)
    return Probe(head, False, cfg.device)
