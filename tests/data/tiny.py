"""Config overrides for training tiny models in tests (a seconds-long CPU run)."""

TINY = [
    "model.num_layers=1",
    "model.predictor_hidden=64",
    "model.action_embed_dim=16",
    "optim.lr=1e-3",
    "data.workers=0",
    "data.shuffle_buffer=8",
]
