"""Run the training loop under Ray Train's TorchTrainer (several processes or machines).

Ray Train starts one worker process per rank with a torch.distributed process group already
initialised; each worker runs the ordinary :class:`Trainer`, which wraps the model in
DistributedDataParallel and reads its own share of the shards. Every worker gets an explicit CPU
share: with Ray's default of one CPU per worker, a 2-core machine waits forever.
"""

from __future__ import annotations

import os
from pathlib import Path

from .config import Config, config_from_dict, config_to_dict


def _train_loop(loop_config: dict) -> None:
    import ray.train
    import torch

    from .distributed import DistEnv
    from .trainer import Trainer

    ctx = ray.train.get_context()
    torch.set_num_threads(max(1, int(loop_config["threads"])))
    dist = DistEnv(ctx.get_world_rank(), ctx.get_world_size(), ctx.get_local_rank())
    cfg = config_from_dict(loop_config["config"], "ray")
    Trainer(cfg, loop_config["run_dir"], resume=loop_config["resume"], dist=dist).fit(
        progress=False
    )


def fit_with_ray(
    cfg: Config,
    run_dir: str | Path,
    *,
    workers: int,
    address: str | None = None,
    cpus_per_worker: float = 1.0,
    gpus_per_worker: float = 0.0,
    resume: bool = True,
) -> None:
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    run_dir = Path(run_dir).resolve()
    started = not ray.is_initialized()
    if started:
        address = address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, log_to_driver=True)
        else:
            ray.init(
                num_cpus=max(1, round(workers * cpus_per_worker + 0.5)),
                include_dashboard=False,
                object_store_memory=256 * 2**20,
            )
    try:
        trainer = TorchTrainer(
            _train_loop,
            train_loop_config={
                "config": config_to_dict(cfg),
                "run_dir": str(run_dir),
                "resume": resume,
                "threads": cpus_per_worker,
            },
            scaling_config=ScalingConfig(
                num_workers=workers,
                use_gpu=gpus_per_worker > 0,
                resources_per_worker={
                    "CPU": cpus_per_worker,
                    **({"GPU": gpus_per_worker} if gpus_per_worker else {}),
                },
            ),
            run_config=RunConfig(storage_path=str(run_dir / "ray"), name="train"),
        )
        trainer.fit()
    finally:
        if started:
            ray.shutdown()
