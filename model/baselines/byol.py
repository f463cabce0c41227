"""BYOL (Grill et al. 2020) as in the paper's appendix A.3: a 2048-2048-2048 projector, a
predictor with 512 hidden units, an EMA target (τ 0.996 → 1, cosine) and the symmetric loss
(2 − 2·cos) in both directions.

The authors' code uses a 2048 → 128 projector and a 2048-unit predictor (reference facts §2):
``model.projector=[2048,128] model.predictor_hidden=2048`` reproduces it."""

from __future__ import annotations

from ..heads import mlp, per_view
from ..losses import cosine_distance
from ..registry import register
from .base import BootstrapMethod


@register("byol")
class BYOL(BootstrapMethod):
    def __init__(self, cfg: BootstrapMethod.Config, spec) -> None:
        super().__init__(cfg, spec)
        self.predictor = mlp(self.proj_dim, [cfg.predictor_hidden], self.proj_dim)

    def objective(self, z, views, actions):
        p = per_view(self.predictor, per_view(self.projector, z))
        t = self.targets(views)
        loss = 2 * (cosine_distance(p[:, 0], t[:, 1]) + cosine_distance(p[:, 1], t[:, 0]))
        return loss, {}
