"""Evaluation inputs: a checkpoint rebuilt as a frozen model, and shard splits checked against it.

The model is rebuilt from the config stored in its own checkpoint (method, model settings, and
the data settings its input sequences must follow) and put in eval mode. Every problem with the
inputs is an :class:`EvalError`, which the CLI prints as one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from seqjepa.datasets import schema
from seqjepa.datasets.shards import iter_shard
from seqjepa.model import InputSpec, Method, build_method
from seqjepa.train.checkpoint import load_checkpoint
from seqjepa.train.config import Config, ConfigError, config_from_dict
from seqjepa.train.data import make_builder


class EvalError(ValueError):
    """Bad input to an evaluation (printed by the CLI as a one-line error)."""


@dataclass
class EvalModel:
    model: Method
    cfg: Config
    path: Path
    sha256: str
    step: int
    action_dim: int
    device: torch.device


def load_model(path: str | Path, device: str | torch.device = "cpu") -> EvalModel:
    """Rebuild the checkpoint's model from its own config and put it in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise EvalError(f"checkpoint {path} does not exist")
    try:
        state = load_checkpoint(path)
        cfg = config_from_dict(state["config"], str(path))
    except (ValueError, KeyError, ConfigError) as exc:
        raise EvalError(f"{path}: {exc}") from None
    if cfg.data.setting == "synthetic":
        raise EvalError(f"{path} was trained on the built-in synthetic set; evaluate on shards")
    action_dim = make_builder(cfg.data, 2, 0, on_device=False).action_dim
    spec = InputSpec(action_dim, cfg.data.image_size, cfg.data.seq_len + 1)
    model = build_method(cfg.method, spec, cfg.model)
    model.load_state_dict(state["model"])
    device = torch.device(device)
    model.to(device).eval()
    return EvalModel(
        model, cfg, path, schema.sha256_file(path), int(state.get("step", 0)), action_dim, device
    )


def expected_kind(setting: str) -> str:
    return "objects" if setting == "objects" else "images"


def read_index(shards: str | Path, setting: str) -> schema.DatasetIndex:
    """The shard index, checked to hold samples of the kind ``setting`` reads."""
    try:
        index = schema.DatasetIndex.read(shards)
    except (FileNotFoundError, ValueError) as exc:
        raise EvalError(str(exc)) from None
    if index.kind != expected_kind(setting):
        raise EvalError(
            f"{shards} holds {index.kind} shards, but the checkpoint was trained on the "
            f"{setting} setting, which reads {expected_kind(setting)} shards"
        )
    return index


def open_split(shards: str | Path, split: str, setting: str) -> schema.DatasetIndex:
    """:func:`read_index`, also checked to hold ``split``."""
    index = read_index(shards, setting)
    if split not in index.splits:
        raise EvalError(f"split {split!r} is not in {shards}; available: {', '.join(index.splits)}")
    return index


def stored_views(shards: str | Path, index: schema.DatasetIndex, split: str) -> int:
    """Views per object in an objects split (read from its first sample)."""
    first = index.shard_paths(shards, split)[0]
    for _, members in iter_shard(first):
        return len(schema.decode_npy(members[schema.LATENTS]))
    raise EvalError(f"{first} holds no samples")
