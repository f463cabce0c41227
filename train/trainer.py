"""The training loop: short and linear (I-JEPA style).

Per step: move the uint8 batch to the device, normalise there, forward, backward, optimiser step,
per-step learning rate and EMA momentum, JSON-lines log. Everything the loop needs comes from the
config, and the resolved config is saved in the run directory before the first step.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from seqjepa.model import InputSpec, Method, build_method, ema_momentum

from .config import Config, OptimConfig, save_config
from .data import DataStream, build_stream
from .schedules import learning_rate


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"run.device={name!r} but CUDA is not available; use run.device=cpu")
    return device


def build_optimizer(model: torch.nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """AdamW (or Adam) with weight decay only on weight matrices, not on biases and norms."""
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr)
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    groups = [
        {"params": decay, "weight_decay": cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr)


@dataclass
class StepResult:
    step: int
    epoch: int
    loss: float
    lr: float
    tau: float


class Trainer:
    def __init__(self, cfg: Config, run_dir: str | Path, stream: DataStream | None = None) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        torch.manual_seed(cfg.run.seed)
        self.device = resolve_device(cfg.run.device)
        self.stream = stream or build_stream(
            cfg.data, cfg.run.seed, iters_per_epoch=cfg.optim.iters_per_epoch, device=self.device
        )
        spec = InputSpec(
            action_dim=self.stream.action_dim,
            image_size=cfg.data.image_size,
            num_views=cfg.data.seq_len + 1,
        )
        self.model: Method = build_method(cfg.method, spec, cfg.model).to(self.device)
        self.optimizer = build_optimizer(self.model, cfg.optim)
        self.iters_per_epoch = cfg.optim.iters_per_epoch or self.stream.iters_per_epoch
        self.total_steps = cfg.optim.epochs * self.iters_per_epoch
        self.mean = torch.tensor(self.stream.mean, device=self.device).view(1, 1, 3, 1, 1)
        self.std = torch.tensor(self.stream.std, device=self.device).view(1, 1, 3, 1, 1)
        self.step = 0

    def normalise(self, views: torch.Tensor) -> torch.Tensor:
        """uint8 (B, V, C, H, W) on the host → normalised float on the device."""
        views = views.to(self.device, non_blocking=True).float().div_(255)
        return (views - self.mean) / self.std

    def train_step(self, batch: dict) -> StepResult:
        o = self.cfg.optim
        lr = learning_rate(
            self.step,
            lr=o.lr,
            start_lr=o.start_lr,
            final_lr=o.final_lr,
            warmup_steps=round(o.warmup_epochs * self.iters_per_epoch),
            total_steps=self.total_steps,
        )
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.train()
        batch = self.stream.on_device(batch, self.device)
        views = self.normalise(batch["views"])
        actions = batch["actions"].to(self.device, non_blocking=True).float()
        out = self.model(views, actions)
        self.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        self.optimizer.step()
        tau = ema_momentum(self.step, self.total_steps, base=o.ema_base)
        self.model.update_target(tau)
        result = StepResult(self.step, self.step // self.iters_per_epoch, out.loss.item(), lr, tau)
        self.step += 1
        return result

    def fit(self, progress: bool = True) -> list[StepResult]:
        save_config(self.cfg, self.run_dir)
        history: list[StepResult] = []
        log_path = self.run_dir / "log.jsonl"
        columns = [
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[msg]}"),
            TimeElapsedColumn(),
        ]
        with log_path.open("a") as log, Progress(*columns, disable=not progress) as bar:
            task = bar.add_task("train", total=self.total_steps, msg="")
            started = time.perf_counter()
            while self.step < self.total_steps:
                for batch in self.stream.loader:
                    result = self.train_step(batch)
                    history.append(result)
                    if result.step % self.cfg.run.log_every == 0 or self.step == self.total_steps:
                        record = {**result.__dict__, "time": time.perf_counter() - started}
                        log.write(json.dumps(record) + "\n")
                        log.flush()
                    bar.update(task, advance=1, msg=f"epoch {result.epoch} loss {result.loss:.4f}")
                    if self.step >= self.total_steps or self.step % self.iters_per_epoch == 0:
                        break
        return history
