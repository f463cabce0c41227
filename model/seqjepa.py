"""seq-JEPA (paper §2.2): encode M views, aggregate (view, action) tokens, predict view M+1.

Tokens are [z_i, e(a_i)] for i < M and [z_M, 0] for the last observed view; a learnable [AGG]
token summarises them into z_AGG; the predictor h(z_AGG, e(a_M)) regresses the EMA target
encoder's representation of view M+1 under a cosine loss.

The two conditioning switches reproduce the paper's Table 4 ablations: ``condition_aggregator``
(actions in the transformer tokens) and ``condition_predictor`` (a_M into the predictor). Turning
both off is "no action conditioning".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from .action import ActionEncoder
from .aggregator import SequenceAggregator
from .backbone import build_backbone
from .ema import make_target
from .heads import mlp
from .losses import cosine_distance
from .registry import InputSpec, Method, MethodOutput, register


@register("seqjepa")
class SeqJEPA(Method):
    sequence_model = True
    paper_optim: ClassVar[dict[str, object]] = {
        "optimizer": "adamw",
        "lr": 4e-4,
        "weight_decay": 1e-3,
    }

    @dataclass
    class Config:
        backbone: str = "resnet18"
        cifar_stem: bool | None = None  # None: CIFAR stem when the input is 32 px or smaller
        action_embed_dim: int = 128
        condition_aggregator: bool = True
        condition_predictor: bool = True
        num_layers: int = 3
        num_heads: int = 4
        dropout: float = 0.1
        predictor_hidden: int = 1024
        ema: bool = True  # False: SimSiam-style stop-gradient on the online encoder

        def __post_init__(self) -> None:
            if self.action_embed_dim <= 0:
                raise ValueError(f"action_embed_dim must be positive, got {self.action_embed_dim}")
            if self.num_layers <= 0 or self.num_heads <= 0:
                raise ValueError("num_layers and num_heads must be positive")
            if not 0.0 <= self.dropout < 1.0:
                raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def __init__(self, cfg: SeqJEPA.Config, spec: InputSpec) -> None:
        super().__init__(cfg, spec)
        cifar = cfg.cifar_stem if cfg.cifar_stem is not None else spec.image_size <= 32
        self.online_encoder, self.feature_dim = build_backbone(cfg.backbone, cifar_stem=cifar)
        self.target_encoder = make_target(self.online_encoder) if cfg.ema else None

        conditioned = cfg.condition_aggregator or cfg.condition_predictor
        self.action_encoder = (
            ActionEncoder(spec.action_dim, cfg.action_embed_dim) if conditioned else None
        )
        a_dim = cfg.action_embed_dim
        self.token_dim = self.agg_dim = self.feature_dim + (
            a_dim if cfg.condition_aggregator else 0
        )
        self.aggregator = SequenceAggregator(
            self.token_dim, cfg.num_layers, cfg.num_heads, cfg.dropout
        )
        pred_in = self.token_dim + (a_dim if cfg.condition_predictor else 0)
        hidden = [cfg.predictor_hidden] if cfg.predictor_hidden > 0 else []
        self.predictor = mlp(pred_in, hidden, self.feature_dim)

    @property
    def encoder(self) -> nn.Module:
        return self.online_encoder

    def momentum_pairs(self) -> list[tuple[nn.Module, nn.Module]]:
        return [(self.online_encoder, self.target_encoder)] if self.target_encoder else []

    def embed_actions(self, actions: torch.Tensor) -> torch.Tensor | None:
        """Embed all relative actions (B, M, A) in one BatchNorm batch; None when unconditioned."""
        return self.action_encoder(actions) if self.action_encoder is not None else None

    def aggregate(self, z: torch.Tensor, action_emb: torch.Tensor | None) -> torch.Tensor:
        """z_AGG from observed features z (B, M, D) and embeddings of a_1..a_M (B, M, a).

        The last observed token's action part is zero: a_M is the action to the *unseen* view.
        """
        if self.cfg.condition_aggregator:
            tokens_emb = torch.cat([action_emb[:, :-1], torch.zeros_like(action_emb[:, -1:])], 1)
            z = torch.cat([z, tokens_emb], dim=-1)
        return self.aggregator(z)

    def predict(self, agg: torch.Tensor, action_emb: torch.Tensor | None) -> torch.Tensor:
        """ẑ_{M+1} = h(z_AGG, e(a_M))."""
        if self.cfg.condition_predictor:
            agg = torch.cat([agg, action_emb[:, -1]], dim=-1)
        return self.predictor(agg)

    def target_features(self, images: torch.Tensor) -> torch.Tensor:
        """Stop-gradient targets: the EMA encoder, or the online encoder detached."""
        with torch.no_grad():
            net = self.target_encoder if self.target_encoder is not None else self.online_encoder
            return net(images)

    def forward(self, views: torch.Tensor, actions: torch.Tensor) -> MethodOutput:
        self.check_inputs(views, actions)
        b, v = views.shape[:2]
        m = v - 1
        # One backbone call for all observed views of the batch.
        z = self.online_encoder(views[:, :m].flatten(0, 1)).view(b, m, -1)
        target = self.target_features(views[:, m])
        action_emb = self.embed_actions(actions)
        agg = self.aggregate(z, action_emb)
        pred = self.predict(agg, action_emb)
        loss = cosine_distance(pred, target)
        views_z = torch.cat([z.detach(), target.unsqueeze(1)], dim=1)
        return MethodOutput(loss=loss, agg=agg.detach(), views_z=views_z)
