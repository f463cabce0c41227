"""Conditional BYOL (paper §3.1 and A.3): a two-view seq-JEPA without the aggregator. BYOL's
architecture, with the predictor also receiving the relative action from the online to the
target view through a 128-d linear action projector; one direction (view 1 → view 2), since
the action is only defined that way."""

from __future__ import annotations

from dataclasses import dataclass

from ..heads import ConditionedPredictor
from ..losses import cosine_distance
from ..registry import register
from .base import BootstrapMethod, check_positive


@register("conditional-byol")
class ConditionalBYOL(BootstrapMethod):
    predicts_views = True

    @dataclass
    class Config(BootstrapMethod.Config):
        action_embed_dim: int = 128

        def __post_init__(self) -> None:
            super().__post_init__()
            check_positive(action_embed_dim=self.action_embed_dim)

    def __init__(self, cfg: ConditionalBYOL.Config, spec) -> None:
        super().__init__(cfg, spec)
        self.predictor = ConditionedPredictor(
            self.proj_dim,
            spec.action_dim,
            cfg.action_embed_dim,
            [cfg.predictor_hidden],
            self.proj_dim,
        )

    def predict_view(self, z, actions):
        return self.predictor(self.projector(z), actions)

    def candidate_embeddings(self, z_target):
        return self.target_projector(z_target)

    def objective(self, z, views, actions):
        pred = self.predictor(self.projector(z[:, 0]), actions[:, 0])
        target = self.targets(views[:, 1:2])[:, 0]
        return 2 * cosine_distance(pred, target), {}
