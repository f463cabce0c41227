"""The training loop: short and linear (I-JEPA style), resumable, one process or many.

Per step: finish the batch on the device (normalise; fixations or augmentations when deferred),
forward under bf16 autocast on CUDA, backward, optimiser step, per-step learning rate and EMA
momentum, an online-probe update on detached features, a JSON line. Per epoch: probe metrics,
``latest.pt``, and a kept checkpoint every ``run.checkpoint_every`` epochs. SIGTERM/SIGINT save
``latest.pt`` at the current step and exit cleanly; re-running the same command resumes from it
(the loader skips exactly the consumed batches), bit for bit on CPU. Under torchrun or Ray Train
the model is wrapped in DistributedDataParallel, each rank reads its own data, and rank 0 alone
writes.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from contextlib import ExitStack, closing, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from torch.nn.parallel import DistributedDataParallel

from seqjepa.datasets.loader import LoaderPosition
from seqjepa.model import InputSpec, Method, build_method, ema_momentum

from .checkpoint import (
    LATEST,
    load_checkpoint,
    resumable,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from .config import Config, OptimConfig, config_to_dict, save_config
from .data import DataStream, build_stream
from .distributed import DistEnv
from .probes import OnlineProbes
from .schedules import learning_rate


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"run.device={name!r} but CUDA is not available; use run.device=cpu")
    return device


def build_optimizer(model: torch.nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """AdamW (or Adam) with weight decay only on weight matrices, not on biases and norms."""
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr)
    groups = [
        {"params": [p for p in params if p.ndim > 1], "weight_decay": cfg.weight_decay},
        {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0},
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
    def __init__(
        self,
        cfg: Config,
        run_dir: str | Path,
        *,
        resume: bool = True,
        dist: DistEnv | None = None,
        stream: DataStream | None = None,
    ) -> None:
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.dist = dist or DistEnv.from_env()
        self.device = resolve_device(cfg.run.device, self.dist.local_rank)
        torch.manual_seed(cfg.run.seed)
        checkpoint = resumable(self.run_dir, config_to_dict(cfg)) if resume else None
        state = load_checkpoint(checkpoint) if checkpoint else None
        self.step = state["step"] if state else 0
        o = cfg.optim
        self.stream = stream or build_stream(
            cfg.data,
            cfg.run.seed,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
            position=self._position(o.iters_per_epoch, state),
            iters_per_epoch=o.iters_per_epoch,
            device=self.device,
        )
        self.iters_per_epoch = o.iters_per_epoch or self.stream.iters_per_epoch
        self.total_steps = o.epochs * self.iters_per_epoch
        spec = InputSpec(self.stream.action_dim, cfg.data.image_size, cfg.data.seq_len + 1)
        self.model: Method = build_method(cfg.method, spec, cfg.model)
        if cfg.run.sync_bn and self.dist.distributed:
            self.model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
        self.model.to(self.device)
        cuda = self.device.type == "cuda"
        # channels_last is faster on CPU too and changes no result (benchmarks/train_step.py
        # --variants); bf16 halves CPU step time but moves the loss by ~1e-3, so it stays opt-in.
        self.model.to(memory_format=torch.channels_last)
        self.bf16 = cfg.run.precision == "bf16" or (cfg.run.precision == "auto" and cuda)
        self.optimizer = build_optimizer(self.model, o)
        self.probes = OnlineProbes(
            self.model.agg_dim,
            self.model.feature_dim,
            self.stream.action_dim,
            self.stream.num_classes,
        ).to(self.device)
        if state:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.probes.load_state_dict(state["probes"])
            self.probes.optimizer.load_state_dict(state["probe_optimizer"])
            set_rng_state(state["rng"])
        net = self.model
        if self.dist.distributed:
            net = DistributedDataParallel(net, device_ids=[self.device.index] if cuda else None)
        self.forward = torch.compile(net) if cfg.run.compile else net
        self.mean = torch.tensor(self.stream.mean, device=self.device).view(1, 1, 3, 1, 1)
        self.std = torch.tensor(self.stream.std, device=self.device).view(1, 1, 3, 1, 1)
        self._stop = False

    def _position(self, iters_per_epoch: int | None, state: dict | None) -> LoaderPosition:
        if not state:
            return LoaderPosition()
        ipe = state["iters_per_epoch"]
        if iters_per_epoch is not None and iters_per_epoch != ipe:
            raise ValueError(f"cannot resume: the run used {ipe} iterations per epoch")
        return LoaderPosition(state["step"] // ipe, state["step"] % ipe)

    def normalise(self, views: torch.Tensor) -> torch.Tensor:
        """uint8 (B, V, C, H, W) → normalised float on the device."""
        views = views.to(self.device, non_blocking=True).float().div_(255)
        return (views - self.mean) / self.std

    def train_step(
        self, batch: dict
    ) -> tuple[StepResult, dict[str, float], dict[str, torch.Tensor]]:
        """One optimiser step; returns the result, the probe metrics and the method's detached
        loss terms (read on the host only when the step is logged)."""
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
        with torch.autocast(self.device.type, dtype=torch.bfloat16) if self.bf16 else nullcontext():
            out = self.forward(views, actions)
        self.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        self.optimizer.step()
        tau = ema_momentum(self.step, self.total_steps, base=o.ema_base)
        self.model.update_target(tau)
        labels = batch["label"].to(self.device, non_blocking=True)
        probe = self.probes.step(out.agg, out.views_z, actions, labels)
        result = StepResult(self.step, self.step // self.iters_per_epoch, out.loss.item(), lr, tau)
        self.step += 1
        return result, probe, out.logs

    def checkpoint(self, path: Path) -> None:
        if not self.dist.is_main:
            return
        save_checkpoint(
            path,
            {
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "probes": self.probes.state_dict(),
                "probe_optimizer": self.probes.optimizer.state_dict(),
                "step": self.step,
                "iters_per_epoch": self.iters_per_epoch,
                "rng": rng_state(),
                "config": config_to_dict(self.cfg),
            },
        )

    def _request_stop(self, signum, frame) -> None:
        self._stop = True

    def fit(self, progress: bool = True) -> list[StepResult]:
        main, ipe = self.dist.is_main, self.iters_per_epoch
        if main:
            save_config(self.cfg, self.run_dir)
        # Signal handlers can only be set from the main thread (Ray Train runs us in another).
        in_main = threading.current_thread() is threading.main_thread()
        signals = (signal.SIGTERM, signal.SIGINT) if in_main else ()
        previous = {s: signal.signal(s, self._request_stop) for s in signals}
        history: list[StepResult] = []
        try:
            with ExitStack() as stack:
                self._log = (
                    stack.enter_context((self.run_dir / "log.jsonl").open("a")) if main else None
                )
                self._tb = None
                if main and self.cfg.run.tensorboard:
                    from torch.utils.tensorboard import SummaryWriter

                    self._tb = stack.enter_context(
                        closing(SummaryWriter(self.run_dir / "tensorboard"))
                    )
                bar = stack.enter_context(self._bar(progress and main))
                task = bar.add_task("train", total=self.total_steps, completed=self.step, msg="")
                started = time.perf_counter()
                while self.step < self.total_steps and not self._stop:
                    epoch, probes = self.step // ipe, []
                    for batch in self.stream.loader:  # the rest of this epoch
                        result, probe, terms = self.train_step(batch)
                        history.append(result)
                        probes.append(probe)
                        if result.step % self.cfg.run.log_every == 0 or self.step % ipe == 0:
                            corrupt = int(batch.get("corrupt", 0))
                            elapsed = time.perf_counter() - started
                            self._record(
                                {
                                    **asdict(result),
                                    "terms": {k: v.item() for k, v in terms.items()},
                                    "time": elapsed,
                                    "corrupt": corrupt,
                                }
                            )
                        bar.update(task, advance=1, msg=f"epoch {epoch} loss {result.loss:.4f}")
                        self._stop = self.dist.any(self._stop, self.device)
                        if self._stop or self.step % ipe == 0:
                            break
                    if self.step % ipe == 0:
                        self._end_epoch(epoch, probes)
            self.checkpoint(self.run_dir / LATEST)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        return history

    def _record(self, record: dict, tb_prefix: str = "train") -> None:
        """One JSON line (rank 0) and its scalars in TensorBoard."""
        if self._log is None:
            return
        self._log.write(json.dumps(record) + "\n")
        self._log.flush()
        if self._tb is not None:
            for key, value in {**record, **record.get("terms", {})}.items():
                if key not in ("step", "epoch", "epoch_end") and isinstance(value, float):
                    self._tb.add_scalar(f"{tb_prefix}/{key}", value, self.step)

    def _end_epoch(self, epoch: int, probes: list[dict]) -> None:
        if probes:
            keys = sorted(set().union(*probes))
            summary = {
                k: sum(p[k] for p in probes if k in p) / sum(k in p for p in probes) for k in keys
            }
            self._record({"epoch_end": epoch, **summary}, tb_prefix="probe")
        self.checkpoint(self.run_dir / LATEST)
        if (epoch + 1) % self.cfg.run.checkpoint_every == 0:
            self.checkpoint(self.run_dir / f"checkpoint-epoch{epoch + 1:05d}.pt")

    @staticmethod
    def _bar(enabled: bool) -> Progress:
        columns = [
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[msg]}"),
            TimeElapsedColumn(),
        ]
        return Progress(*columns, disable=not enabled)
