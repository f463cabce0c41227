"""MLP heads shared by seq-JEPA and the baselines."""

from __future__ import annotations

from torch import nn


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
