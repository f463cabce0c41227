"""Conv-JEPA (paper §3.1), the saccade-setting hybrid baseline: from each observed patch alone,
predict the EMA target representation of the last patch, conditioned on the action from that
patch to the last one; the per-pair losses are summed (the paper), not averaged (the authors'
code). Heads follow the authors' code: a 2048 → 128 projector and a 1024-unit predictor.

The action from view i to the last view is the sum of the consecutive relative actions after i,
which holds for additive actions (fixation and augmentation-parameter differences); rotations
compose differently, so the objects setting is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..heads import ConditionedPredictor, per_view
from ..losses import cosine_distance
from ..registry import register
from .base import BootstrapMethod, check_positive


@register("conv-jepa")
class ConvJEPA(BootstrapMethod):
    num_views = None  # the whole configured sequence: M observed patches + the target
    settings = ("saccades", "augment")

    @dataclass
    class Config(BootstrapMethod.Config):
        projector: list[int] = field(default_factory=lambda: [2048, 128])
        predictor_hidden: int = 1024
        action_embed_dim: int = 128

        def __post_init__(self) -> None:
            super().__post_init__()
            check_positive(action_embed_dim=self.action_embed_dim)

    def __init__(self, cfg: ConvJEPA.Config, spec) -> None:
        super().__init__(cfg, spec)
        self.predictor = ConditionedPredictor(
            self.proj_dim,
            spec.action_dim,
            cfg.action_embed_dim,
            [cfg.predictor_hidden],
            self.proj_dim,
        )

    @staticmethod
    def actions_to_last(actions: torch.Tensor) -> torch.Tensor:
        """(B, M, A) consecutive actions → the action from each view i to view M+1."""
        return actions.flip(1).cumsum(1).flip(1)

    def objective(self, z, views, actions):
        m = z.shape[1] - 1
        y = per_view(self.projector, z[:, :m])
        pred = self.predictor(y, self.actions_to_last(actions))
        target = self.targets(views[:, m:])[:, 0]
        # Σ_i mean_b (1 − cos(ŷ_i, y_target)): the mean over all pairs times their number.
        return m * cosine_distance(pred, target.unsqueeze(1).expand_as(pred)), {}
