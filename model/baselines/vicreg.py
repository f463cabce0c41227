"""VICReg (Bardes et al. 2022) as in the paper's appendix A.3: a 2048-2048-2048 projector and
λ_inv = λ_V = 10, λ_C = 1 (the authors' code defaults to 25/25/1)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..heads import mlp, per_view
from ..losses import vicreg
from ..registry import register
from .base import TwoViewMethod, check_dims, check_positive


@register("vicreg")
class VICReg(TwoViewMethod):
    @dataclass
    class Config(TwoViewMethod.Config):
        projector: list[int] = field(default_factory=lambda: [2048, 2048, 2048])
        inv_weight: float = 10.0
        var_weight: float = 10.0
        cov_weight: float = 1.0

        def __post_init__(self) -> None:
            check_dims("projector", self.projector)
            check_positive(
                inv_weight=self.inv_weight, var_weight=self.var_weight, cov_weight=self.cov_weight
            )

    def __init__(self, cfg: VICReg.Config, spec) -> None:
        super().__init__(cfg, spec)
        dims = cfg.projector
        self.projector = mlp(
            self.feature_dim, dims[:-1], dims[-1], hidden_bias=True, out_bias=False
        )

    def vicreg(self, y):
        c = self.cfg
        return vicreg(y[:, 0], y[:, 1], c.inv_weight, c.var_weight, c.cov_weight)

    def objective(self, z, views, actions):
        return self.vicreg(per_view(self.projector, z))
