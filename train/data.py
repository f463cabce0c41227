"""Build the training data stream for a config: the loader plus what the model must know of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader

from seqjepa.datasets.loader import LoaderPosition, build_loader, make_loader
from seqjepa.datasets.normalization import normalization_for
from seqjepa.datasets.schema import DatasetIndex
from seqjepa.datasets.sequences import AugmentedSequences, ObjectSequences, SaccadeSequences
from seqjepa.datasets.stream import StreamConfig
from seqjepa.datasets.synthetic import ACTION_DIM as SYNTHETIC_ACTION_DIM
from seqjepa.datasets.synthetic import SyntheticRotations, SyntheticStream

from .config import DataConfig


@dataclass
class DataStream:
    loader: DataLoader
    action_dim: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    num_classes: int
    iters_per_epoch: int
    builder: Any = None  # set when views are made on the training device

    def on_device(self, batch: dict, device: torch.device) -> dict:
        """Finish a batch on the device (fixations/augmentations) when the builder defers it."""
        if self.builder is not None and "views" not in batch:
            return self.builder.views_on(batch, device)
        return batch


def make_builder(cfg: DataConfig, num_views: int, seed: int, on_device: bool, fixed_epoch=None):
    common = {"num_views": num_views, "seed": seed, "fixed_epoch": fixed_epoch}
    if cfg.setting == "objects":
        return ObjectSequences(
            image_size=cfg.image_size, action=cfg.action, conventions=cfg.conventions, **common
        )
    if cfg.setting == "augment":
        return AugmentedSequences(
            image_size=cfg.image_size,
            action=cfg.action,
            paper_norm=cfg.paper_norm,
            on_device=on_device,
            **common,
        )
    return SaccadeSequences(
        patch_size=cfg.patch_size,
        ior=cfg.ior,
        ior_radius=cfg.ior_radius,
        use_saliency=cfg.fixations == "saliency",
        image_size=cfg.image_size or None,
        on_device=on_device,
        **common,
    )


def build_stream(
    cfg: DataConfig,
    seed: int,
    *,
    rank: int = 0,
    world_size: int = 1,
    position: LoaderPosition = LoaderPosition(),
    iters_per_epoch: int | None = None,
    device: torch.device = torch.device("cpu"),
) -> DataStream:
    if cfg.setting == "synthetic":
        return _synthetic(cfg, seed, position)
    if not cfg.shards:
        raise ValueError(f"data.setting={cfg.setting!r} needs shards: pass --shards DIR")
    index = DatasetIndex.read(cfg.shards)
    on_device = cfg.on_device if cfg.on_device is not None else device.type == "cuda"
    builder = make_builder(cfg, cfg.seq_len + 1, seed, on_device)
    if iters_per_epoch is None:
        iters_per_epoch = max(1, index.splits[cfg.split].samples // (cfg.batch_size * world_size))
    stream_cfg = StreamConfig(
        batch_size=cfg.batch_size,
        seed=seed,
        shuffle_buffer=cfg.shuffle_buffer,
        shuffle_initial=min(cfg.shuffle_buffer, 4 * cfg.batch_size),
        resampled=True,
        batches_per_epoch=iters_per_epoch,
    )
    loader, index = build_loader(
        cfg.shards,
        cfg.split,
        builder,
        stream_cfg,
        workers=cfg.workers,
        rank=rank,
        world_size=world_size,
        position=position,
    )
    mean, std = normalization_for(index.dataset)
    return DataStream(
        loader,
        builder.action_dim,
        mean,
        std,
        len(index.class_names),
        iters_per_epoch,
        builder if on_device else None,
    )


def _synthetic(cfg: DataConfig, seed: int, position: LoaderPosition) -> DataStream:
    dataset = SyntheticRotations(
        cfg.synthetic_samples, cfg.seq_len + 1, image_size=cfg.image_size, seed=seed
    )
    stream = SyntheticStream(dataset, cfg.batch_size, seed, position.epoch, position.step)
    return DataStream(
        make_loader(stream, cfg.workers),
        SYNTHETIC_ACTION_DIM,
        (0.5, 0.5, 0.5),
        (0.25, 0.25, 0.25),
        10,
        len(stream),
    )
