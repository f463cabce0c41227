"""MLP heads shared by seq-JEPA and the baselines."""

from __future__ import annotations

import torch
from torch import nn

from .action import ActionEncoder


def mlp(
    in_dim: int,
    hidden: list[int] | tuple[int, ...],
    out_dim: int,
    *,
    hidden_bias: bool = False,
    out_bias: bool = True,
    out_norm: bool = False,
) -> nn.Sequential:
    """Linear → BatchNorm → ReLU for each hidden width, then a final Linear.

    ``out_norm`` appends a non-affine BatchNorm, the projector ending used by SimCLR, BYOL and SEN.
    With no hidden layers this is a single (optionally normalised) linear map.
    """
    layers: list[nn.Module] = []
    dim = in_dim
    for width in hidden:
        layers += [nn.Linear(dim, width, bias=hidden_bias), nn.BatchNorm1d(width), nn.ReLU(True)]
        dim = width
    layers.append(nn.Linear(dim, out_dim, bias=out_bias))
    if out_norm:
        layers.append(nn.BatchNorm1d(out_dim, affine=False))
    return nn.Sequential(*layers)


def per_view(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Apply a per-sample ``module`` to (B, V, D) in one call (one BatchNorm batch): (B, V, D')."""
    b, v = x.shape[:2]
    return module(x.flatten(0, 1)).view(b, v, -1)


class ConditionedPredictor(nn.Module):
    """``predictor([y, e(a)])``: a head that maps a projection and an embedded action to a
    prediction of the other view's projection (SEN, EquiMod, Conditional BYOL, Conv-JEPA)."""

    def __init__(
        self,
        in_dim: int,
        action_dim: int,
        action_embed_dim: int,
        hidden: list[int] | tuple[int, ...],
        out_dim: int,
        *,
        out_bias: bool = True,
        out_norm: bool = False,
    ) -> None:
        super().__init__()
        self.action_encoder = ActionEncoder(action_dim, action_embed_dim)
        self.net = mlp(
            in_dim + action_embed_dim, hidden, out_dim, out_bias=out_bias, out_norm=out_norm
        )

    def forward(self, y: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """y: (..., in_dim), actions: (..., action_dim) with the same leading dims."""
        e = self.action_encoder(actions)
        lead = y.shape[:-1]
        out = self.net(torch.cat([y, e], dim=-1).reshape(-1, y.shape[-1] + e.shape[-1]))
        return out.view(*lead, -1)


class HyperPredictor(nn.Module):
    """SIE's hypernetwork predictor: the action generates a (dim × dim) matrix, ŷ = W(a)·y.

    ``W(a) = reshape(L·a)`` with ``L`` a bias-free Linear(action_dim → dim²), the layout of the
    SIE code. Since W is linear in a, ŷ_i = Σ_k a_k Σ_j L[i·dim + j, k] y_j is computed without
    materialising one dim² matrix per sample (same result, B·dim·A memory instead of B·dim²).
    """

    def __init__(self, action_dim: int, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.hyper = nn.Linear(action_dim, dim * dim, bias=False)

    def matrices(self, actions: torch.Tensor) -> torch.Tensor:
        """The per-sample matrices W(a): (B, dim, dim) (for inspection and tests)."""
        return self.hyper(actions).view(-1, self.dim, self.dim)

    def forward(self, y: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        weight = self.hyper.weight.view(self.dim, self.dim, -1)  # [i, j, k]
        per_action = torch.einsum("ijk,bj->bik", weight, y)  # (B, dim, A)
        return (per_action * actions.unsqueeze(1)).sum(-1)
