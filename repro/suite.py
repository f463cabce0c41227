"""What each suite runs: the data it prepares, the experiments it trains and evaluates, and
their sizes. Every step is one of the project's own commands (see :mod:`.stages`).

Data (prepared once, shared by the seeds):

* ``objects``: the built-in procedural set (10 classes × 20 objects) rendered by bpy/Cycles,
  split by object into train / tune / test (:data:`.data.OBJECT_SPLITS`), sharded as 3DIEBench;
* ``photos``: seeded crops of real sample photos (:data:`.data.PHOTOS`), split by photo, with
  spectral-residual saliency, sharded as an ImageFolder.

Experiments (one model each per seed; evaluated on the *test* split, heads fit on *train*):
the rotation-conditioned model and its unconditioned twin (C1, C2, C5), the saccade model
(C3), the augmentation-conditioned model and its unconditioned twin (C4). The twins differ only
in ``model.condition_aggregator`` and ``model.condition_predictor``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from seqjepa.preprocess.render.objects import PROCEDURAL_SYNSETS

from . import data
from .stages import Stage, command, relative, tool

# The repository's presets; an installed image keeps them under $SEQJEPA_HOME (see docker/).
CONFIGS = Path(os.environ.get("SEQJEPA_HOME") or Path(__file__).resolve().parents[1])
CONFIGS = CONFIGS / "configs" / "repro"
UNCONDITIONED = ("model.condition_aggregator=false", "model.condition_predictor=false")
EVAL_SPLIT = "test"  # where the report's numbers come from; designs were chosen on "tune"


@dataclass(frozen=True)
class Experiment:
    data: str  # "objects" or "photos"
    config: str  # a preset in configs/repro
    title: str
    overrides: tuple[str, ...] = ()
    m_vals: str = "1,3,5"


EXPERIMENTS = {
    "objects-rot": Experiment("objects", "objects-rot.yaml", "objects, rotation-conditioned"),
    "objects-none": Experiment(
        "objects", "objects-rot.yaml", "objects, no action conditioning", UNCONDITIONED
    ),
    "saccades": Experiment("photos", "photos-saccades.yaml", "photos, saccades", m_vals="1,3"),
    "augment": Experiment(
        "photos", "photos-augment.yaml", "photos, augmentation-conditioned", m_vals="1,2"
    ),
    "augment-none": Experiment(
        "photos",
        "photos-augment.yaml",
        "photos, no action conditioning",
        UNCONDITIONED,
        m_vals="1,2",
    ),
}


@dataclass(frozen=True)
class Suite:
    seeds: int
    epochs: dict[str, int]  # per data set: training epochs of 50 steps
    views: int = 16  # rendered views per object
    size: int = 64  # render side (px)
    samples: int = 8  # Cycles samples per pixel (no denoiser)
    crops: dict[str, int] = field(
        default_factory=lambda: {"train": 48, "tune": 24, "test": 24}
    )  # per photo and split
    crop_px: int = 96
    head_epochs: int = 100  # every head (the paper: 300 / 300 / 50)
    head_batch: int = 32  # the paper's 256 leaves a few hundred rows a handful of steps per epoch
    draws: int = 10  # train-split draws per sample, cycled over the head epochs
    eval_draws: int = 4  # draws per scored sample
    train_overrides: tuple[str, ...] = ()
    synsets: tuple[str, ...] = tuple(sorted(PROCEDURAL_SYNSETS))
    experiments: tuple[str, ...] = tuple(EXPERIMENTS)
    claims: tuple[str, ...] = ("C1", "C2", "C3", "C4", "C5")  # the report's rows, in order

    @property
    def data(self) -> set[str]:
        """The data sets its experiments read."""
        return {EXPERIMENTS[name].data for name in self.experiments}


SUITES = {
    "quick": Suite(seeds=1, epochs={"objects": 12, "photos": 6}),
    "full": Suite(seeds=3, epochs={"objects": 16, "photos": 8}),
    # `make demo` (≤ 10 min): the quick suite's rotation twins and saccade model, C1 and C3 first.
    "demo": Suite(
        seeds=1,
        epochs={"objects": 8, "photos": 6},
        experiments=("objects-rot", "objects-none", "saccades"),
        claims=("C1", "C3", "C2", "C5"),
    ),
    # Plumbing only (tests): a few objects and photos, a few steps; its numbers mean nothing.
    "smoke": Suite(
        seeds=1,
        epochs={"objects": 1, "photos": 1},
        views=6,
        size=32,
        samples=2,
        crops={"train": 2, "tune": 1, "test": 1},
        crop_px=64,
        head_epochs=2,
        draws=2,
        eval_draws=1,
        train_overrides=("optim.iters_per_epoch=2", "data.batch_size=4"),
        synsets=tuple(sorted(PROCEDURAL_SYNSETS))[:2],
    ),
}


def run_dir(out: Path, experiment: str, seed: int) -> Path:
    return out / "runs" / f"{experiment}-s{seed}"


def eval_dir(out: Path, experiment: str, seed: int) -> Path:
    return out / "eval" / f"{experiment}-s{seed}"


def plan(out: Path, suite: Suite, seeds: int, cpus: int, progress: bool) -> list[Stage]:
    """Every stage of the suite in order: data first, then train + eval per (experiment, seed)."""
    prep, train, evaluate = tool("seqjepa-prep"), tool("seqjepa-train"), tool("seqjepa-eval")
    bar = () if progress else ("--no-progress",)
    s = suite
    render, shards = out / "objects" / "render", out / "objects" / "shards"
    photos, sal, photo_shards = (
        out / "photos" / "images",
        out / "photos" / "saliency",
        out / ("photos/shards"),
    )
    splits = " ".join(f"--split {name}" for name in data.OBJECT_SPLITS)
    object_stages = [
        Stage(
            "objects/render",
            f"objects: render {len(s.synsets)} classes × 20 procedural objects × {s.views} views "
            f"({s.size} px, Cycles {s.samples} spp, {cpus} CPUs)",
            command(
                prep,
                "render --shapenet builtin --synsets {synsets} --out {render} --views {views} "
                "--size {size} --samples {samples} --no-denoise --mode id --split-name all "
                "--num-cpus {cpus}",
                *bar,
                synsets=",".join(s.synsets),
                render=render,
                views=s.views,
                size=s.size,
                samples=s.samples,
                cpus=cpus,
            ),
        ),
        Stage(
            "objects/splits",
            "objects: split by object (train 0-11, tune 12-14, test 15-19 of each class)",
            step=lambda: data.write_object_splits(render, list(s.synsets)),
            key=["splits", *s.synsets],
        ),
        Stage(
            "objects/shard",
            "objects: shard as 3DIEBench",
            command(
                prep,
                "shard 3diebench --root {render} --splits-dir {splits} --out {shards} --workers 0",
                *bar,
                render=render,
                splits=render / "splits",
                shards=shards,
            ),
        ),
    ]
    photo_stages = [
        Stage(
            "photos/images",
            f"photos: crops of {len(data.PHOTOS)} sample photos (split by photo)",
            step=lambda: data.write_photo_folder(photos, s.crops, s.crop_px),
            key=["photos", *(f"{k}={v}" for k, v in s.crops.items()), str(s.crop_px)],
        ),
        Stage(
            "photos/saliency",
            "photos: saliency maps (offline spectral-residual model)",
            command(
                prep,
                "saliency --dataset imagefolder --root {photos} --out {sal} --model spectral "
                f"--map-size {{px}} {splits} --workers 0",
                *bar,
                photos=photos,
                sal=sal,
                px=s.crop_px,
            ),
        ),
        Stage(
            "photos/shard",
            "photos: shard images + saliency",
            command(
                prep,
                f"shard imagefolder --root {{photos}} --out {{shards}} --saliency {{sal}} {splits} "
                "--workers 0",
                *bar,
                photos=photos,
                shards=photo_shards,
                sal=sal,
            ),
        ),
    ]
    stages = [
        *(object_stages if "objects" in s.data else []),
        *(photo_stages if "photos" in s.data else []),
    ]
    data_shards = {"objects": shards, "photos": photo_shards}
    for seed in range(seeds):
        for name in s.experiments:
            exp = EXPERIMENTS[name]
            run, res = run_dir(out, name, seed), eval_dir(out, name, seed)
            stages.append(
                Stage(
                    f"train/{name}-s{seed}",
                    f"train {name} (seed {seed}): {exp.title}",
                    command(
                        train,
                        "--config {config} --shards {shards} --out {run}",
                        *bar,
                        f"optim.epochs={s.epochs[exp.data]}",
                        f"run.seed={seed}",
                        *exp.overrides,
                        *s.train_overrides,
                        config=relative(CONFIGS / exp.config),
                        shards=data_shards[exp.data],
                        run=run,
                    ),
                )
            )
            stages.append(
                Stage(
                    f"eval/{name}-s{seed}",
                    f"evaluate {name} (seed {seed}) on the {EVAL_SPLIT} split",
                    command(
                        evaluate,
                        "run {ckpt} --shards {shards} --train-split train --eval-split {split} "
                        "--out {res} --m-val {m} --seed {seed} --probe-epochs {e} "
                        "--mlp-epochs {e} --linear-epochs {e} --batch-size {b} "
                        "--sequences-per-sample {d} --eval-sequences-per-sample {ed} --no-figures",
                        *bar,
                        ckpt=run / "latest.pt",
                        shards=data_shards[exp.data],
                        split=EVAL_SPLIT,
                        res=res,
                        m=exp.m_vals,
                        seed=seed,
                        e=s.head_epochs,
                        b=s.head_batch,
                        d=s.draws,
                        ed=s.eval_draws,
                    ),
                )
            )
    return stages
