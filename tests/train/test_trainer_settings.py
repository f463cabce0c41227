"""`seqjepa-train` on real shards for each setting: the full loader → model → optimiser path."""

import json

import pytest
from data.tiny import TINY as TINY_BASE

from seqjepa.train.config import load_config
from seqjepa.train.trainer import Trainer

pytestmark = pytest.mark.timeout(600)

TINY = [
    *TINY_BASE,
    "optim.warmup_epochs=0",
    "run.log_every=1",
]


def train(tmp_path, overrides):
    cfg = load_config(None, TINY + overrides)
    trainer = Trainer(cfg, tmp_path / "run")
    history = trainer.fit(progress=False)
    log = (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    logged = [json.loads(line) for line in log]
    steps = [r for r in logged if "step" in r]
    assert [r["step"] for r in steps] == list(range(trainer.total_steps))
    assert len(history) == len(steps)
    ends = [r for r in logged if "epoch_end" in r]
    assert [r["epoch_end"] for r in ends] == list(range(cfg.optim.epochs))
    assert all("probe_r2" in r for r in ends)
    assert (tmp_path / "run" / "config.yaml").is_file()
    assert (tmp_path / "run" / "latest.pt").is_file()
    assert any((tmp_path / "run" / "tensorboard").iterdir())
    return [h.loss for h in history]


def first_last(losses, k=3):
    return sum(losses[:k]) / k, sum(losses[-k:]) / k


def test_objects_setting_trains_and_lowers_the_loss(tmp_path, object_shards):
    losses = train(
        tmp_path,
        [
            f"data.shards={object_shards}",
            "data.split=all",
            "data.setting=objects",
            "data.image_size=32",
            "data.seq_len=2",
            "data.batch_size=3",
            "optim.epochs=12",
            "optim.iters_per_epoch=2",
        ],
    )
    first, last = first_last(losses)
    assert last < first


def test_augment_setting_trains_and_lowers_the_loss(tmp_path, cifar_shards):
    losses = train(
        tmp_path,
        [
            f"data.shards={cifar_shards}",
            "data.setting=augment",
            "data.action=crop+jitter",
            "data.image_size=32",
            "data.seq_len=2",
            "data.batch_size=4",
            "optim.epochs=12",
            "optim.iters_per_epoch=2",
            "model.cifar_stem=false",
        ],
    )
    first, last = first_last(losses)
    assert last < first


def test_saccade_setting_trains_and_lowers_the_loss(tmp_path, saccade_shards):
    directory, _ = saccade_shards
    losses = train(
        tmp_path,
        [
            f"data.shards={directory}",
            "data.setting=saccades",
            "data.action=pos",
            "data.patch_size=16",
            "data.seq_len=3",
            "data.image_size=0",
            "data.batch_size=4",
            "optim.epochs=12",
            "optim.iters_per_epoch=2",
            "model.cifar_stem=false",
        ],
    )
    first, last = first_last(losses)
    assert last < first


def test_missing_shards_is_a_clear_error(tmp_path):
    cfg = load_config(None, [*TINY, "data.setting=objects"])
    with pytest.raises(ValueError, match="needs shards: pass --shards DIR"):
        Trainer(cfg, tmp_path / "run")
