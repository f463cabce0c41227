"""Online monitoring probes on detached features (as in the paper's code).

A linear classifier on the aggregate representation (invariance) and an MLP regressor of the
relative action between the first two views from their concatenated encoder outputs
(equivariance). They have their own Adam optimiser and never send gradients into the model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class OnlineProbes(nn.Module):
    def __init__(self, agg_dim: int, feature_dim: int, action_dim: int, num_classes: int) -> None:
        super().__init__()
        self.classifier = nn.Linear(agg_dim, num_classes) if num_classes > 0 else None
        self.regressor = nn.Sequential(
            nn.Linear(2 * feature_dim, 1024), nn.ReLU(True), nn.Linear(1024, action_dim)
        )
        self.optimizer = torch.optim.Adam(self.parameters(), lr=1e-3)

    def step(self, agg, views_z, actions, labels) -> dict[str, float]:
        """One probe update; returns accuracy and R² (global) of this batch's predictions."""
        agg, views_z = agg.detach().float(), views_z.detach().float()
        pairs = torch.cat([views_z[:, 0], views_z[:, 1]], dim=-1)
        target = actions[:, 0].float()
        pred = self.regressor(pairs)
        loss = F.mse_loss(pred, target)
        metrics = {
            "probe_r2": 1.0
            - (
                F.mse_loss(pred, target, reduction="sum")
                / ((target - target.mean(0)) ** 2).sum().clamp(min=1e-12)
            ).item()
        }
        known = labels >= 0
        if self.classifier is not None and known.any():
            logits = self.classifier(agg[known])
            loss = loss + F.cross_entropy(logits, labels[known])
            metrics["probe_acc"] = (logits.argmax(1) == labels[known]).float().mean().item()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return metrics
