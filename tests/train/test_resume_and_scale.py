"""Exact resume after a kill, 2-process DDP on CPU (gloo), and Ray Train with 2 CPU workers."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from data.tiny import TINY as TINY_BASE

TRAIN = [sys.executable, "-m", "seqjepa.train.cli"]
TINY = [
    *TINY_BASE,
    "model.cifar_stem=false",
    "optim.warmup_epochs=1",
    "run.log_every=1",
    "run.tensorboard=false",
]


def saccade_args(directory, epochs=6):
    return [
        *TINY,
        f"data.shards={directory}",
        "data.setting=saccades",
        "data.patch_size=16",
        "data.seq_len=3",
        "data.image_size=0",
        "data.batch_size=4",
        f"optim.epochs={epochs}",
        "optim.iters_per_epoch=3",
    ]


def losses(run_dir):
    rows = [json.loads(x) for x in (run_dir / "log.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in rows if "step" in r}


def env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": "disabled"}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kill_then_resume_reproduces_the_uninterrupted_losses_exactly(tmp_path, saccade_shards):
    directory, _ = saccade_shards
    args = saccade_args(directory)
    clean = subprocess.run(
        [*TRAIN, *args, "--out", str(tmp_path / "clean"), "--no-progress"],
        capture_output=True,
        text=True,
        env=env(),
    )
    assert clean.returncode == 0, clean.stderr
    proc = subprocess.Popen(
        [*TRAIN, *args, "--out", str(tmp_path / "run"), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    log = tmp_path / "run" / "log.jsonl"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (not log.exists() or len(losses(tmp_path / "run")) < 7):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "re-run to resume" in out
    interrupted = losses(tmp_path / "run")
    assert 7 <= len(interrupted) < 18, "the signal landed mid-run, mid-epoch or at a boundary"
    resumed = subprocess.run(
        [*TRAIN, *args, "--out", str(tmp_path / "run"), "--no-progress"],
        capture_output=True,
        text=True,
        env=env(),
    )
    assert resumed.returncode == 0, resumed.stderr
    assert losses(tmp_path / "run") == losses(tmp_path / "clean")  # bit for bit, every step


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_sigterm_to_the_whole_process_group_saves_and_exits_cleanly(tmp_path, saccade_shards):
    directory, _ = saccade_shards
    args = [*saccade_args(directory), "data.workers=1"]
    proc = subprocess.Popen(
        [*TRAIN, *args, "--out", str(tmp_path), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (
        not (tmp_path / "log.jsonl").exists() or len(losses(tmp_path)) < 2
    ):
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGTERM)  # what a scheduler's preemption does
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    assert "re-run to resume" in out and (tmp_path / "latest.pt").is_file()


def test_resuming_with_another_config_is_refused(tmp_path, saccade_shards):
    directory, _ = saccade_shards
    first = subprocess.run(
        [*TRAIN, *saccade_args(directory, epochs=1), "--out", str(tmp_path), "--no-progress"],
        capture_output=True,
        text=True,
        env=env(),
    )
    assert first.returncode == 0, first.stderr
    again = subprocess.run(
        [
            *TRAIN,
            *saccade_args(directory, epochs=1),
            "data.batch_size=6",
            "--out",
            str(tmp_path),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=env(),
    )
    assert again.returncode == 2
    assert again.stderr.startswith("error: ") and "different data.batch_size" in again.stderr


DDP_SCRIPT = r"""
import json, sys, torch, torch.distributed as dist
from seqjepa.train.config import load_config
from seqjepa.train.trainer import Trainer
cfg = load_config(None, sys.argv[2:])
trainer = Trainer(cfg, sys.argv[1])
seen = []
loader = trainer.stream.loader
original = trainer.train_step
def spy(batch):
    seen.extend(batch["key"])
    return original(batch)
trainer.train_step = spy
trainer.fit(progress=False)
flat = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
gathered = [torch.zeros_like(flat) for _ in range(dist.get_world_size())]
dist.all_gather(gathered, flat)
rank = dist.get_rank()
json.dump({"same": all(torch.equal(g, gathered[0]) for g in gathered), "keys": seen,
           "ddp": type(trainer.forward).__name__},
          open(f"{sys.argv[1]}/rank{rank}.json", "w"))
"""


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_two_process_gloo_ddp_keeps_replicas_identical_and_splits_data(tmp_path, saccade_shards):
    directory, _ = saccade_shards
    script = tmp_path / "ddp.py"
    script.write_text(DDP_SCRIPT)
    run = tmp_path / "run"
    run.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc-per-node",
            "2",
            "--master-port",
            "29531",
            str(script),
            str(run),
            *saccade_args(directory, epochs=2),
            "data.batch_size=2",
        ],
        capture_output=True,
        text=True,
        env=env(),
        timeout=500,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((run / f"rank{r}.json").read_text()) for r in range(2)]
    assert all(r["same"] for r in ranks), "DDP keeps every replica's weights identical"
    assert all(r["ddp"] == "DistributedDataParallel" for r in ranks)
    assert ranks[0]["keys"] != ranks[1]["keys"], "each rank reads its own data"
    assert (run / "latest.pt").is_file() and (run / "log.jsonl").is_file()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ray_train_with_two_cpu_workers_finishes(tmp_path, saccade_shards):
    directory, _ = saccade_shards
    proc = subprocess.run(
        [
            *TRAIN,
            *saccade_args(directory, epochs=1),
            "data.batch_size=2",
            "--out",
            str(tmp_path / "run"),
            "--workers",
            "2",
            "--cpus-per-worker",
            "0.5",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=env(),
        timeout=500,
    )
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-3000:])
    steps = losses(tmp_path / "run")
    assert sorted(steps) == [0, 1, 2] and all(
        torch.isfinite(torch.tensor(v)) for v in steps.values()
    )
    assert (tmp_path / "run" / "latest.pt").is_file()
