"""SEN, contrastive (Park et al. 2022), as in the paper's appendix A.3: a 2048-2048-2048
projector; a linear predictor maps the first view's projection and the embedded action to a
prediction of the second view's projection; NT-Xent between prediction and target at τ = 0.5.
There is no separate invariance term (EquiMod adds one)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..heads import ConditionedPredictor, mlp, per_view
from ..losses import nt_xent
from ..registry import register
from .base import TwoViewMethod, check_dims, check_positive


@register("sen")
class SEN(TwoViewMethod):
    predicts_views = True

    @dataclass
    class Config(TwoViewMethod.Config):
        projector: list[int] = field(default_factory=lambda: [2048, 2048, 2048])
        temperature: float = 0.5
        action_embed_dim: int = 128

        def __post_init__(self) -> None:
            check_dims("projector", self.projector)
            check_positive(temperature=self.temperature, action_embed_dim=self.action_embed_dim)

    def __init__(self, cfg: SEN.Config, spec) -> None:
        super().__init__(cfg, spec)
        dims = cfg.projector
        self.projector = mlp(self.feature_dim, dims[:-1], dims[-1], out_norm=True)
        self.predictor = ConditionedPredictor(
            dims[-1],
            spec.action_dim,
            cfg.action_embed_dim,
            [],
            dims[-1],
            out_bias=False,
            out_norm=True,
        )

    def predict_view(self, z, actions):
        return self.predictor(self.projector(z), actions)

    def candidate_embeddings(self, z_target):
        return self.projector(z_target)

    def objective(self, z, views, actions):
        y = per_view(self.projector, z)
        pred = self.predictor(y[:, 0], actions[:, 0])
        return nt_xent(pred, y[:, 1], self.cfg.temperature), {}
