"""EquiMod, SimCLR-based (Devillers & Lefort 2022), as in the paper's appendix A.3: invariant
and equivariant projectors of 1024-1024-128, a 128-d linear action projector, a linear
predictor in the equivariant space, and two NT-Xent losses with equal weights at τ = 0.1 (the
authors' code defaults to 0.5): invariant (view 1 vs view 2) and equivariant (prediction from
view 1 and the action vs view 2)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..heads import ConditionedPredictor, mlp, per_view
from ..losses import nt_xent
from ..registry import register
from .base import TwoViewMethod, check_dims, check_positive


@register("equimod")
class EquiMod(TwoViewMethod):
    predicts_views = True

    @dataclass
    class Config(TwoViewMethod.Config):
        projector: list[int] = field(default_factory=lambda: [1024, 1024, 128])
        temperature: float = 0.1
        action_embed_dim: int = 128
        equi_weight: float = 1.0

        def __post_init__(self) -> None:
            check_dims("projector", self.projector)
            check_positive(
                temperature=self.temperature,
                action_embed_dim=self.action_embed_dim,
                equi_weight=self.equi_weight,
            )

    def __init__(self, cfg: EquiMod.Config, spec) -> None:
        super().__init__(cfg, spec)
        dims = cfg.projector
        self.inv_projector = mlp(self.feature_dim, dims[:-1], dims[-1], out_norm=True)
        self.equi_projector = mlp(self.feature_dim, dims[:-1], dims[-1], out_norm=True)
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
        return self.predictor(self.equi_projector(z), actions)

    def candidate_embeddings(self, z_target):
        return self.equi_projector(z_target)

    def objective(self, z, views, actions):
        c = self.cfg
        inv = per_view(self.inv_projector, z)
        equi = per_view(self.equi_projector, z)
        inv_loss = nt_xent(inv[:, 0], inv[:, 1], c.temperature)
        pred = self.predictor(equi[:, 0], actions[:, 0])
        equi_loss = nt_xent(pred, equi[:, 1], c.temperature)
        loss = inv_loss + c.equi_weight * equi_loss
        return loss, {"inv": inv_loss.item(), "equi": equi_loss.item()}
