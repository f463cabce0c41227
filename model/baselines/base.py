"""The two baseline families: joint-embedding methods and bootstrap (EMA-target) methods.

Every baseline encodes all its views with one ResNet-18 call and hands the probes and the
evaluation what the paper reads for baselines: the encoder output of the first view (the
classification probe, "for all baselines, probes are trained on encoder outputs") and the
encoder outputs of every view (the equivariance probe's pairs). A method subclasses one family
and implements :meth:`TwoViewMethod.objective`.

Baselines are ConvNets with MLP heads, which the paper trains with Adam (lr 1e-3, no weight
decay); ``paper_optim`` says so and ``seqjepa-train --method`` applies it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from ..backbone import build_backbone
from ..ema import make_target
from ..heads import mlp, per_view
from ..registry import InputSpec, Method, MethodOutput


def check_dims(name: str, dims: list[int]) -> None:
    if not dims or any(d <= 0 for d in dims):
        raise ValueError(f"{name} must be a non-empty list of positive widths, got {dims}")


def check_positive(**values: float) -> None:
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")


class TwoViewMethod(Method):
    """Joint-embedding family: encode the views, compute ``objective`` from their features.

    ``num_views = 2`` by default, so the loader reads and decodes only two views per sample.
    """

    num_views = 2
    paper_optim: ClassVar[dict[str, object]] = {
        "optimizer": "adam",
        "lr": 1e-3,
        "weight_decay": 0.0,
    }

    @dataclass
    class Config:
        backbone: str = "resnet18"
        cifar_stem: bool | None = None  # None: CIFAR stem when the input is 32 px or smaller

    def __init__(self, cfg: TwoViewMethod.Config, spec: InputSpec) -> None:
        super().__init__(cfg, spec)
        cifar = cfg.cifar_stem if cfg.cifar_stem is not None else spec.image_size <= 32
        self.online_encoder, self.feature_dim = build_backbone(cfg.backbone, cifar_stem=cifar)
        self.agg_dim = self.feature_dim

    @property
    def encoder(self) -> nn.Module:
        return self.online_encoder

    def forward(self, views: torch.Tensor, actions: torch.Tensor) -> MethodOutput:
        self.check_inputs(views, actions)
        z = per_view(self.online_encoder, views)
        loss, logs = self.objective(z, views, actions)
        return MethodOutput(loss=loss, agg=z[:, 0].detach(), views_z=z.detach(), logs=logs)

    def objective(
        self, z: torch.Tensor, views: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The loss from encoder outputs z (B, V, D), the views and the relative actions."""
        raise NotImplementedError

    # Retrieval interface of the methods with ``predicts_views`` (evaluation only).

    @torch.no_grad()
    def target_features(self, images: torch.Tensor) -> torch.Tensor:
        """Encoder outputs the predictor's targets are computed from."""
        return self.online_encoder(images)

    def predict_view(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """The predicted embedding of the view reached from encoder output z by the action."""
        raise NotImplementedError

    def candidate_embeddings(self, z_target: torch.Tensor) -> torch.Tensor:
        """The embeddings predictions are compared with, from :meth:`target_features`."""
        raise NotImplementedError


class BootstrapMethod(TwoViewMethod):
    """Bootstrap family (BYOL): online encoder + projector + predictor regress the output of an
    EMA target encoder + projector, updated with the paper's τ schedule (0.996 → 1, cosine)."""

    @dataclass
    class Config(TwoViewMethod.Config):
        # paper A.3 (BYOL)
        projector: list[int] = field(default_factory=lambda: [2048, 2048, 2048])
        predictor_hidden: int = 512

        def __post_init__(self) -> None:
            check_dims("projector", self.projector)
            check_positive(predictor_hidden=self.predictor_hidden)

    def __init__(self, cfg: BootstrapMethod.Config, spec: InputSpec) -> None:
        super().__init__(cfg, spec)
        self.proj_dim = cfg.projector[-1]
        self.projector = mlp(self.feature_dim, cfg.projector[:-1], self.proj_dim, out_norm=True)
        self.target_encoder = make_target(self.online_encoder)
        self.target_projector = make_target(self.projector)

    def momentum_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        return [
            (self.online_encoder, self.target_encoder),
            (self.projector, self.target_projector),
        ]

    @torch.no_grad()
    def target_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.target_encoder(images)

    @torch.no_grad()
    def targets(self, views: torch.Tensor) -> torch.Tensor:
        """Target projections of views (B, V, C, H, W): (B, V, P), no gradient."""
        return per_view(self.target_projector, per_view(self.target_encoder, views))
