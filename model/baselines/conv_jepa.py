"""Conv-JEPA (paper §3.1), the saccade-setting hybrid baseline: Conditional BYOL's networks
applied to every observed patch alone, each predicting the EMA target representation of the
last patch, conditioned on the action from that patch to the last one. The per-pair losses are
summed (the paper), not averaged (the authors' code); heads follow the authors' code: a
2048 → 128 projector and a 1024-unit predictor.

The action from view i to the last view is the sum of the consecutive relative actions after i,
which holds for additive actions (fixation and augmentation-parameter differences); rotations
compose differently, so the objects setting is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..heads import per_view
from ..losses import cosine_distance
from ..registry import register
from .conditional_byol import ConditionalBYOL


@register("conv-jepa")
class ConvJEPA(ConditionalBYOL):
    num_views = None  # the whole configured sequence: M observed patches + the target
    settings = ("saccades", "augment")
    predicts_views = False  # retrieval is defined on object views, which Conv-JEPA does not read

    @dataclass
    class Config(ConditionalBYOL.Config):
        projector: list[int] = field(default_factory=lambda: [2048, 128])
        predictor_hidden: int = 1024

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
