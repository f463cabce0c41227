"""Build the training data stream for a config: the loader plus what the model must know of it."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from seqjepa.datasets.synthetic import ACTION_DIM as SYNTHETIC_ACTION_DIM
from seqjepa.datasets.synthetic import SyntheticRotations
from torch.utils.data import DataLoader

from .config import DataConfig


@dataclass
class DataStream:
    loader: DataLoader
    action_dim: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    num_classes: int


def build_stream(cfg: DataConfig, seed: int) -> DataStream:
    if cfg.setting != "synthetic":
        raise NotImplementedError(
            f"data.setting={cfg.setting!r} needs sharded data; only 'synthetic' is available yet"
        )
    dataset = SyntheticRotations(
        cfg.synthetic_samples, cfg.seq_len + 1, image_size=cfg.image_size, seed=seed
    )
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=cfg.workers,
        persistent_workers=cfg.workers > 0,
        generator=generator,
    )
    return DataStream(loader, SYNTHETIC_ACTION_DIM, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), 10)
