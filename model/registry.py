"""Method registry and the base classes every method derives from.

A method is an ``nn.Module`` that turns one batch of view-action sequences into a loss plus the
detached features the online probes and evaluation read. Methods register themselves by name, and
each carries a typed ``Config`` dataclass so the trainer can validate method-specific settings
(solo-learn's METHODS pattern with the config typed, not free-form).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from .ema import ema_update

METHODS: dict[str, type[Method]] = {}


def register(name: str):
    """Class decorator adding a method to :data:`METHODS` under ``name``."""

    def add(cls: type[Method]) -> type[Method]:
        if name in METHODS:
            raise ValueError(f"method {name!r} is already registered by {METHODS[name].__name__}")
        cls.name = name
        METHODS[name] = cls
        return cls

    return add


@dataclass
class MethodOutput:
    """What a method's forward returns.

    ``views_z``: encoder outputs (B, V, D) of the views the method encoded with the online
    encoder, detached (used by the equivariance probe); ``agg``: the representation the
    classification probe reads (z_AGG for sequence models, z of the first view otherwise).
    """

    loss: torch.Tensor
    agg: torch.Tensor
    views_z: torch.Tensor
    # Loss terms, detached 0-d tensors: read on the host only when logged (no per-step sync).
    logs: dict[str, torch.Tensor] = field(default_factory=dict)


@dataclass
class InputSpec:
    """Describes the data a method consumes, so the loader reads only what is used."""

    action_dim: int
    image_size: int
    num_views: int  # M + 1 for sequence models, 2 for two-view methods


class Method(nn.Module):
    """Base class. Subclasses define ``Config`` and implement :meth:`forward`."""

    name: ClassVar[str] = ""

    @dataclass
    class Config:
        pass

    # Views per training sample: a fixed number (two-view methods read only those), or None for
    # the configured sequence length M + 1.
    num_views: ClassVar[int | None] = None
    # Settings whose actions the method can use (None: all of them).
    settings: ClassVar[tuple[str, ...] | None] = None
    # The optimiser the paper trained this method with; `seqjepa-train --method` applies it.
    paper_optim: ClassVar[dict[str, object]] = {}
    # True for methods with an action-conditioned aggregator and predictor (seq-JEPA); evaluation
    # reads z_AGG and the predictor only from these.
    sequence_model: ClassVar[bool] = False
    # True for two-view methods whose predictor maps (view, action) to another view's
    # embedding (SEN, EquiMod, SIE, Conditional BYOL): evaluation scores it by retrieval through
    # ``target_features``, ``predict_view`` and ``candidate_embeddings``.
    predicts_views: ClassVar[bool] = False
    feature_dim: int  # encoder output size (per view)
    agg_dim: int  # size of ``MethodOutput.agg``

    def __init__(self, cfg: Method.Config, spec: InputSpec) -> None:
        super().__init__()
        self.cfg = cfg
        self.spec = spec

    @property
    def encoder(self) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, views: torch.Tensor, actions: torch.Tensor) -> MethodOutput:
        """views: (B, V, C, H, W) normalised images; actions: (B, V-1, A) relative actions."""
        raise NotImplementedError

    @staticmethod
    def check_inputs(views: torch.Tensor, actions: torch.Tensor) -> None:
        """Actions must be (B, V − 1, A) for views (B, V, C, H, W)."""
        b, v = views.shape[:2]
        if actions.shape[:2] != (b, v - 1):
            raise ValueError(
                f"expected actions of shape ({b}, {v - 1}, A) for {v} views, "
                f"got {tuple(actions.shape)}"
            )

    def momentum_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        """(online, target) module pairs to be EMA-updated after each optimiser step."""
        return []

    @torch.no_grad()
    def update_target(self, tau: float) -> None:
        ema_update(self.momentum_pairs(), tau)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Online encoder features for (N, C, H, W) images; what frozen-feature evaluation reads."""
        return self.encoder(images)


def get_method(name: str) -> type[Method]:
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; registered: {', '.join(sorted(METHODS))}")
    return METHODS[name]


def build_method(name: str, spec: InputSpec, cfg: Method.Config | None = None) -> Method:
    """Instantiate method ``name``; ``cfg`` defaults to the method's own ``Config()``."""
    cls = get_method(name)
    return cls(cfg if cfg is not None else cls.Config(), spec)
