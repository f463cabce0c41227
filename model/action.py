"""Action encoder: the paper's "learnable linear projection" of a relative transformation.

As in the authors' code, the projection is a bias-free linear layer followed by a BatchNorm
without affine parameters, so action embeddings are standardised whatever the scale of the raw
action (radians, hue fractions, pixels).
"""

from __future__ import annotations

import torch
from torch import nn


class ActionEncoder(nn.Module):
    def __init__(self, action_dim: int, embed_dim: int = 128) -> None:
        super().__init__()
        self.action_dim = action_dim
        self.embed_dim = embed_dim
        self.proj = nn.Linear(action_dim, embed_dim, bias=False)
        self.norm = nn.BatchNorm1d(embed_dim, affine=False)

    def forward(self, actions: torch.Tensor) -> torch.Tensor:
        """Embed actions of shape (..., action_dim); all leading dims share one BatchNorm batch."""
        lead = actions.shape[:-1]
        flat = actions.reshape(-1, self.action_dim)
        return self.norm(self.proj(flat)).reshape(*lead, self.embed_dim)
