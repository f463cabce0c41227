"""EquiMod, SimCLR-based (Devillers & Lefort 2022), as in the paper's appendix A.3: SEN's
equivariant part (projector, linear predictor conditioned on a 128-d action embedding, NT-Xent
between prediction and the second view) plus a second, invariant projector trained with SimCLR's
NT-Xent; projectors 1024-1024-128, both losses at τ = 0.1 (the authors' code defaults to 0.5)
with equal weights."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..heads import mlp, per_view
from ..losses import nt_xent
from ..registry import register
from .base import check_positive
from .sen import SEN


@register("equimod")
class EquiMod(SEN):
    @dataclass
    class Config(SEN.Config):
        projector: list[int] = field(default_factory=lambda: [1024, 1024, 128])
        temperature: float = 0.1
        equi_weight: float = 1.0

        def __post_init__(self) -> None:
            super().__post_init__()
            check_positive(equi_weight=self.equi_weight)

    def __init__(self, cfg: EquiMod.Config, spec) -> None:
        super().__init__(cfg, spec)  # the equivariant projector and predictor
        dims = cfg.projector
        self.inv_projector = mlp(self.feature_dim, dims[:-1], dims[-1], out_norm=True)

    def objective(self, z, views, actions):
        equi_loss, _ = super().objective(z, views, actions)
        inv = per_view(self.inv_projector, z)
        inv_loss = nt_xent(inv[:, 0], inv[:, 1], self.cfg.temperature)
        loss = inv_loss + self.cfg.equi_weight * equi_loss
        return loss, {"inv": inv_loss.detach(), "equi": equi_loss.detach()}
