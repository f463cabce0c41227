"""Exponential moving average of an online network into a target network.

The momentum follows BYOL's cosine schedule per optimiser step, from ``base`` (0.996) at step 0
to 1 at the last step, so streaming epochs of any length and resumed runs see the same values.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable

import torch
from torch import nn


def ema_momentum(step: int, total_steps: int, base: float = 0.996, final: float = 1.0) -> float:
    """τ at ``step`` of ``total_steps``: base + (final - base) · (1 - cos(π·step/total)) / 2."""
    if total_steps <= 0:
        return final
    progress = min(max(step / total_steps, 0.0), 1.0)
    return final - (final - base) * (math.cos(math.pi * progress) + 1) / 2


@torch.no_grad()
def ema_update(pairs: Iterable[tuple[nn.Module, nn.Module]], tau: float) -> None:
    """θ_target ← τ·θ_target + (1 − τ)·θ_online for the parameters of each (online, target) pair.

    Buffers (BatchNorm statistics) are not averaged: the target keeps its own, as in BYOL and the
    authors' code.
    """
    for online, target in pairs:
        online_params = [p.detach() for p in online.parameters()]
        target_params = list(target.parameters())
        torch._foreach_lerp_(target_params, online_params, 1.0 - tau)


def make_target(online: nn.Module) -> nn.Module:
    """A frozen copy of ``online`` with the same initial weights."""
    target = copy.deepcopy(online)
    for p in target.parameters():
        p.requires_grad_(False)
    return target
