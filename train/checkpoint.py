"""One-file checkpoints, written atomically, loaded without pickle, found again automatically.

A checkpoint holds everything needed to continue bit for bit on CPU: model (with its EMA
target), optimiser, probes, global step, loader position, RNG states, the resolved config and
the seqjepa version. Loading uses ``weights_only=True``: only tensors and plain containers.
"""

from __future__ import annotations

import os
import random
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch

LATEST = "latest.pt"
# Config keys that must match for a run directory to be resumed (solo-learn's AutoResumer idea).
RESUME_KEYS = (
    "method",
    "model",
    "data.setting",
    "data.action",
    "data.seq_len",
    "data.batch_size",
    "data.image_size",
    "optim",
    "run.seed",
)


def rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(np_state[1].astype(np.int64)),
        "numpy_pos": int(np_state[2]),
        "python": list(random.getstate()[1]),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(
        ("MT19937", state["numpy_keys"].numpy().astype(np.uint32), state["numpy_pos"], 0, 0.0)
    )
    random.setstate((3, tuple(state["python"]), None))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({**payload, "seqjepa_version": version("seqjepa")}, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as exc:
        raise ValueError(f"{path} is not a readable seqjepa checkpoint: {exc}") from None


def _pick(cfg: dict, dotted: str) -> Any:
    node = cfg
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def resumable(run_dir: str | Path, cfg: dict) -> Path | None:
    """The run's latest checkpoint if its config matches ``cfg`` on :data:`RESUME_KEYS`."""
    path = Path(run_dir) / LATEST
    if not path.is_file():
        return None
    saved = load_checkpoint(path)["config"]
    diff = [k for k in RESUME_KEYS if _pick(saved, k) != _pick(cfg, k)]
    if diff:
        raise ValueError(
            f"{run_dir} holds a run with a different {', '.join(diff)}; "
            "use another --out, or --no-resume to start over in it"
        )
    return path
