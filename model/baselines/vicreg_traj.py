"""VICReg with trajectory regularisation (Wang et al. 2024a, paper A.3): VICReg on the first two
of three consecutive views plus λ_traj = 0.01 (the code's default is 1.0) times the trajectory
loss (their Eq. 2): the tangents at the middle embedding towards its neighbours, u₁ (from the
left) and u₂ (to the right), should be aligned, i.e. the three embeddings lie on a geodesic;
loss = −cos(u₁, u₂).

The tangent projection assumes unit-norm embeddings. The authors' code applies it to raw
projector outputs; here they are L2-normalised first. ``traj_normalize=false`` restores the
authors' behaviour for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..heads import per_view
from ..registry import register
from .vicreg import VICReg


def trajectory_loss(left, centre, right, normalize: bool = True) -> torch.Tensor:
    """−cos between the tangents at ``centre`` of the steps left→centre and centre→right."""
    if normalize:
        left, centre, right = (F.normalize(y, dim=-1) for y in (left, centre, right))

    def tangent(step: torch.Tensor) -> torch.Tensor:
        return step - (step * centre).sum(-1, keepdim=True) * centre

    return -F.cosine_similarity(tangent(centre - left), tangent(right - centre), dim=-1).mean()


@register("vicreg-traj")
class VICRegTraj(VICReg):
    num_views = 3

    @dataclass
    class Config(VICReg.Config):
        traj_weight: float = 0.01
        traj_normalize: bool = True

        def __post_init__(self) -> None:
            super().__post_init__()
            if self.traj_weight < 0:
                raise ValueError(f"traj_weight must be >= 0, got {self.traj_weight}")

    def objective(self, z, views, actions):
        y = per_view(self.projector, z)
        loss, logs = self.vicreg(y)
        traj = trajectory_loss(y[:, 0], y[:, 1], y[:, 2], self.cfg.traj_normalize)
        return loss + self.cfg.traj_weight * traj, {**logs, "traj": traj.detach()}
