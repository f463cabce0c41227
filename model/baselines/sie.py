"""SIE (Garrido et al. 2023) as in the paper's appendix A.3: the 512-d representation split into
an invariant half (first 256) and an equivariant half (last 256), a 1024-1024-1024 projector
for each, the hypernetwork predictor (the raw action generates a 1024×1024 matrix applied to the
equivariant projection), and the VICReg-style loss with λ_inv = λ_V = 10, λ_equi = 4.5,
λ_C = 1 (the authors' code defaults to 25/25/1 with λ_equi = λ_inv):

    λ_inv·MSE(inv₁, inv₂) + λ_equi·MSE(W(a)·equi₁, equi₂)
    + λ_V·[std(y₁) + std(y₂)]/2 + λ_V·std(prediction)/2 + λ_C·[cov(y₁) + cov(y₂)]

where y = [inv, equi] (2048-d) and std/cov are VICReg's terms over the global batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ..heads import HyperPredictor, mlp, per_view
from ..losses import covariance, gather, variance
from ..registry import register
from .base import TwoViewMethod, check_dims, check_positive


@register("sie")
class SIE(TwoViewMethod):
    predicts_views = True

    @dataclass
    class Config(TwoViewMethod.Config):
        projector: list[int] = field(default_factory=lambda: [1024, 1024, 1024])
        inv_weight: float = 10.0
        equi_weight: float = 4.5
        var_weight: float = 10.0
        cov_weight: float = 1.0

        def __post_init__(self) -> None:
            check_dims("projector", self.projector)
            check_positive(
                inv_weight=self.inv_weight,
                equi_weight=self.equi_weight,
                var_weight=self.var_weight,
                cov_weight=self.cov_weight,
            )

    def __init__(self, cfg: SIE.Config, spec) -> None:
        super().__init__(cfg, spec)
        self.split = self.feature_dim // 2
        dims = cfg.projector

        def projector():
            return mlp(self.split, dims[:-1], dims[-1], hidden_bias=True, out_bias=False)

        self.inv_projector = projector()
        self.equi_projector = projector()
        self.predictor = HyperPredictor(spec.action_dim, dims[-1])

    def predict_view(self, z, actions):
        return self.predictor(self.equi_projector(z[..., self.split :]), actions)

    def candidate_embeddings(self, z_target):
        return self.equi_projector(z_target[..., self.split :])

    def objective(self, z, views, actions):
        c = self.cfg
        inv = per_view(self.inv_projector, z[..., : self.split])
        equi = per_view(self.equi_projector, z[..., self.split :])
        pred = self.predictor(equi[:, 0], actions[:, 0])
        inv_loss = F.mse_loss(inv[:, 0], inv[:, 1])
        equi_loss = F.mse_loss(pred, equi[:, 1])
        y1, y2 = (gather(torch.cat([inv[:, i], equi[:, i]], -1)) for i in (0, 1))
        g_pred = gather(pred)
        var_loss = (variance(y1) + variance(y2)) / 2 + variance(g_pred) / 2
        cov_loss = covariance(y1) + covariance(y2)
        loss = (
            c.inv_weight * inv_loss
            + c.equi_weight * equi_loss
            + c.var_weight * var_loss
            + c.cov_weight * cov_loss
        )
        logs = {"inv": inv_loss.detach(), "equi": equi_loss.detach(), "var": var_loss.detach()}
        return loss, logs
