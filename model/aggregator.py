"""Sequence aggregator: a small post-norm transformer encoder with a learnable [AGG] token.

There is deliberately no positional embedding: the order of observations is carried only by the
action content, and the last observed token is marked by its all-zero action part (paper eq. 3).
"""

from __future__ import annotations

import torch
from torch import nn


class SequenceAggregator(nn.Module):
    def __init__(
        self, dim: int, num_layers: int = 3, num_heads: int = 4, dropout: float = 0.1
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"token dim {dim} must be divisible by num_heads={num_heads}")
        layer = nn.TransformerEncoderLayer(
            d_model=dim,
            nhead=num_heads,
            dim_feedforward=4 * dim,
            dropout=dropout,
            batch_first=True,
            norm_first=False,
        )
        self.layers = nn.TransformerEncoder(
            layer, num_layers=num_layers, norm=nn.LayerNorm(dim), enable_nested_tensor=False
        )
        self.agg_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.dim = dim

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Aggregate tokens (B, M, dim) into z_AGG (B, dim)."""
        agg = self.agg_token.expand(tokens.shape[0], -1, -1)
        return self.layers(torch.cat([agg, tokens], dim=1))[:, 0]
