"""SimCLR (Chen et al. 2020) as in the paper's appendix A.3: a 2048-2048-2048 projector and the
NT-Xent loss at temperature 0.5 over the global batch."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..heads import mlp, per_view
from ..losses import nt_xent
from ..registry import register
from .base import TwoViewMethod, check_dims, check_positive


@register("simclr")
class SimCLR(TwoViewMethod):
    @dataclass
    class Config(TwoViewMethod.Config):
        projector: list[int] = field(default_factory=lambda: [2048, 2048, 2048])
        temperature: float = 0.5

        def __post_init__(self) -> None:
            check_dims("projector", self.projector)
            check_positive(temperature=self.temperature)

    def __init__(self, cfg: SimCLR.Config, spec) -> None:
        super().__init__(cfg, spec)
        dims = cfg.projector
        self.projector = mlp(self.feature_dim, dims[:-1], dims[-1], out_norm=True)

    def objective(self, z, views, actions):
        y = per_view(self.projector, z)
        return nt_xent(y[:, 0], y[:, 1], self.cfg.temperature), {}
