"""Config overrides for training tiny models in tests (a seconds-long CPU run)."""

TINY = [
    "model.num_layers=1",
    "model.predictor_hidden=64",
    "model.action_embed_dim=16",
    "optim.lr=1e-3",
    "data.workers=0",
    "data.shuffle_buffer=8",
]

# Small heads for each baseline so a CPU step takes a fraction of a second (the paper's sizes
# are the defaults).
BASELINE_HEADS = {
    "simclr": {"projector": [64, 32]},
    "byol": {"projector": [64, 32], "predictor_hidden": 32},
    "conditional-byol": {"projector": [64, 32], "predictor_hidden": 32, "action_embed_dim": 8},
    "conv-jepa": {"projector": [64, 32], "predictor_hidden": 32, "action_embed_dim": 8},
    "vicreg": {"projector": [64, 32]},
    "vicreg-traj": {"projector": [64, 32]},
    "sen": {"projector": [64, 32], "action_embed_dim": 8},
    "equimod": {"projector": [64, 32], "action_embed_dim": 8},
    "sie": {"projector": [64, 32]},
}


def head_overrides(method: str) -> list[str]:
    """``model.key=value`` overrides for :data:`BASELINE_HEADS` of ``method``."""
    return [f"model.{k}={v}".replace(" ", "") for k, v in BASELINE_HEADS[method].items()]
