#!/usr/bin/env python3
"""`make demo`: the whole seqjepa job end to end on built-in data: no download, minutes on a CPU.

Two legs, each a chain of the real commands (printed as they run, so they can be copied):

- rotation (3DIEBench setting): ``seqjepa-prep render`` the built-in procedural objects with
  Blender/Cycles (bpy) in a local Ray pool → ``seqjepa-prep shard 3diebench`` (train/val split by
  object) → ``verify`` + ``preview`` → ``seqjepa-train`` → ``seqjepa-eval run --quick``;
- saccades (STL-10 setting, optional): crops of the sample photos that matplotlib and
  scikit-learn ship as an ImageFolder → ``seqjepa-prep saliency`` (the offline spectral-residual
  model, no weights) → ``seqjepa-prep shard imagefolder --saliency`` → train → eval.

Then ``OUT/report.md`` gathers stage times, headline numbers beside their chance levels, the
figures, and what the numbers can and cannot say at this scale.

Re-running is cheap: a stage whose command already finished (``OUT/.stages/<name>.json``) is
skipped, and every command is itself resumable (render skips finished objects, shard keeps
finished shards, train resumes from ``latest.pt``, eval reuses cached features).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from seqjepa.preprocess.files import write_if_changed
from seqjepa.preprocess.render.objects import DEMO_SYNSETS
from seqjepa.repro.stages import (
    Runner,
    Stage,
    StageError,
    StageResult,
    command,
    now,
    relative,
    tool,
)

REPO = Path(__file__).resolve().parents[1]

# The rotation leg's object split: every class is in both splits (label = synset).
VAL_OBJECTS = ("table", "mug", "chain")
# Evaluation sequences drawn per object (different views each): more points for the heads.
OBJECT_SEQUENCES = 8


@dataclass(frozen=True)
class Profile:
    """Sizes of one demo run; ``full`` is what `make demo` runs, ``smoke`` is for tests."""

    views: int = 16  # rendered views per object
    size: int = 64  # render side (px)
    samples: int = 16  # Cycles samples per pixel
    crops_train: int = 16  # photo crops per photo and split (saccade leg)
    crops_val: int = 8
    crop_px: int = 96
    train_overrides: tuple[str, ...] = ()


PROFILES = {
    "full": Profile(),
    "smoke": Profile(
        views=6,
        size=32,
        samples=2,
        crops_train=4,
        crops_val=2,
        train_overrides=("optim.epochs=1", "optim.iters_per_epoch=2", "data.batch_size=4"),
    ),
}


# --------------------------------------------------------------------------- data steps


def write_object_splits(render: Path) -> Path:
    """Train/val split files (3DIEBench ``*_images.npy`` + ``*_labels.npy``) by object.

    Written under the render tree (``render/splits``) only when their bytes change, so a re-run
    leaves the shard job's source fingerprint (file sizes and mtimes) untouched.
    """
    import io

    import numpy as np

    from seqjepa.preprocess.render.objects import builtin_names

    names = {k: n for k, n in builtin_names().items() if k[0] in DEMO_SYNSETS}
    classes = sorted(DEMO_SYNSETS)
    splits = render / "splits"
    splits.mkdir(parents=True, exist_ok=True)
    for split, keep in (("train", False), ("val", True)):
        keys = sorted(k for k, n in names.items() if (n in VAL_OBJECTS) == keep)
        images = np.array([f"/{s}/{o}/" for s, o in keys])
        labels = np.array([classes.index(s) for s, _ in keys], dtype=np.int64)
        for suffix, arr in (("images", images), ("labels", labels)):
            buf = io.BytesIO()
            np.save(buf, arr, allow_pickle=False)
            write_if_changed(splits / f"{split}_{suffix}.npy", buf.getvalue())
    return splits


def sample_photos() -> dict[str, Path]:
    """Real photos shipped inside registry packages seqjepa already depends on."""
    import matplotlib.cbook
    import sklearn.datasets

    images = Path(sklearn.datasets.__file__).parent / "images"
    return {
        "china": images / "china.jpg",  # scikit-learn (CC BY 2.0, see its README.txt)
        "flower": images / "flower.jpg",  # scikit-learn (CC BY 2.0)
        "hopper": Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)),
    }


def write_photo_folder(root: Path, profile: Profile) -> dict[str, int]:
    """An ImageFolder ``root/<split>/<photo>/NNN.png`` of seeded square crops of each photo.

    The class is the photo a crop comes from. Crops of one photo overlap across splits, so a
    probe that tells them apart measures recognising a photo, not generalising to new images.
    """
    import numpy as np
    from PIL import Image

    photos = {}
    for name, path in sample_photos().items():  # decoded and resized once for both splits
        with Image.open(path) as im:
            im = im.convert("RGB")
            scale = 256 / min(im.size)
            size = (round(im.size[0] * scale), round(im.size[1] * scale))
            photos[name] = im.resize(size, Image.Resampling.BICUBIC)
    counts = {}
    for split, n, seed in (("train", profile.crops_train, 0), ("val", profile.crops_val, 1)):
        rng = np.random.default_rng(seed)
        counts[split] = 0
        for name, im in photos.items():
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                side = int(rng.integers(128, 193))
                x = int(rng.integers(0, im.size[0] - side + 1))
                y = int(rng.integers(0, im.size[1] - side + 1))
                crop = im.crop((x, y, x + side, y + side)).resize(
                    (profile.crop_px, profile.crop_px), Image.Resampling.BICUBIC
                )
                # A fresh image carries no ICC profile (libpng warns about the photos' one).
                clean = Image.fromarray(np.asarray(crop))
                buf = _png_bytes(clean)
                write_if_changed(folder / f"{i:03d}.png", buf)
                counts[split] += 1
    return counts


def _png_bytes(image) -> bytes:
    import io

    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


# --------------------------------------------------------------------------- the plan


def plan(out: Path, profile: Profile, cpus: int, saccades: bool, progress: bool) -> list[Stage]:
    prep, train, evaluate = tool("seqjepa-prep"), tool("seqjepa-train"), tool("seqjepa-eval")
    bar = () if progress else ("--no-progress",)
    p = profile
    o = out / "objects"
    render, shards, run, results = o / "render", o / "shards", o / "train", o / "eval"
    configs = Path(relative(REPO / "configs"))  # shown and run relative to the working directory
    stages = [
        Stage(
            "objects/render",
            f"objects: render 8 built-in objects x {p.views} views ({p.size} px, Cycles "
            f"{p.samples} spp, local Ray, {cpus} CPUs)",
            command(
                prep,
                "render --shapenet builtin --synsets {synsets} --out {render} --views {views} "
                "--size {size} --samples {samples} --mode id --split-name all --num-cpus {cpus}",
                *bar,
                render=render,
                synsets=",".join(DEMO_SYNSETS),
                views=p.views,
                size=p.size,
                samples=p.samples,
                cpus=cpus,
            ),
        ),
        Stage(
            "objects/splits",
            f"objects: split by object (val: {', '.join(VAL_OBJECTS)})",
            step=lambda: write_object_splits(render),
            key=["splits", *VAL_OBJECTS],
        ),
        Stage(
            "objects/shard",
            "objects: shard as 3DIEBench (WebDataset + index)",
            command(
                prep,
                "shard 3diebench --root {render} --splits-dir {splits} --out {shards} --workers 0",
                *bar,
                render=render,
                splits=render / "splits",
                shards=shards,
            ),
        ),
        Stage("objects/verify", "objects: verify shards", command(prep, "verify {d}", d=shards)),
        Stage(
            "objects/preview",
            "objects: preview grid",
            command(
                prep,
                "preview {d} --split train --count 5 --out {png}",
                d=shards,
                png=o / "preview.png",
            ),
        ),
        Stage(
            "objects/train",
            "objects: train seq-JEPA (rotation actions, M = 3)",
            command(
                train,
                "--config {config} --shards {shards} --out {run}",
                *bar,
                *p.train_overrides,
                config=configs / "demo-objects.yaml",
                shards=shards,
                run=run,
            ),
        ),
        Stage(
            "objects/eval",
            "objects: evaluate (probes, R², MRR/Hit@k, path integration, figures)",
            command(
                evaluate,
                "run {ckpt} --shards {shards} --train-split train --eval-split val --out {res} "
                "--quick --sequences-per-sample {per_object}",
                *bar,
                per_object=OBJECT_SEQUENCES,
                ckpt=run / "latest.pt",
                shards=shards,
                res=results,
            ),
        ),
    ]
    if not saccades:
        return stages
    s = out / "saccades"
    photos, sal, sshards, srun, sresults = (
        s / "photos",
        s / "saliency",
        s / "shards",
        s / "train",
        s / "eval",
    )
    stages += [
        Stage(
            "saccades/photos",
            "saccades: crops of matplotlib/scikit-learn sample photos as an ImageFolder",
            step=lambda: write_photo_folder(photos, p),
            key=["photos", str(p.crops_train), str(p.crops_val), str(p.crop_px)],
        ),
        Stage(
            "saccades/saliency",
            "saccades: saliency maps (offline spectral-residual model, no weights)",
            command(
                prep,
                "saliency --dataset imagefolder --root {photos} --out {sal} --model spectral "
                "--map-size {px} --split train --split val --workers 0",
                *bar,
                photos=photos,
                sal=sal,
                px=p.crop_px,
            ),
        ),
        Stage(
            "saccades/shard",
            "saccades: shard images + saliency",
            command(
                prep,
                "shard imagefolder --root {photos} --out {shards} --saliency {sal} "
                "--split train --split val --workers 0",
                *bar,
                photos=photos,
                shards=sshards,
                sal=sal,
            ),
        ),
        Stage(
            "saccades/preview",
            "saccades: preview grid",
            command(
                prep,
                "preview {d} --split train --count 8 --out {png}",
                d=sshards,
                png=s / "preview.png",
            ),
        ),
        Stage(
            "saccades/train",
            "saccades: train seq-JEPA (fixations ∝ saliency, M = 4)",
            command(
                train,
                "--config {config} --shards {shards} --out {run}",
                *bar,
                *p.train_overrides,
                config=configs / "demo-saccades.yaml",
                shards=sshards,
                run=srun,
            ),
        ),
        Stage(
            "saccades/eval",
            "saccades: evaluate",
            command(
                evaluate,
                "run {ckpt} --shards {shards} --train-split train --eval-split val --out {res} "
                "--quick",
                *bar,
                ckpt=srun / "latest.pt",
                shards=sshards,
                res=sresults,
            ),
        ),
    ]
    return stages


# --------------------------------------------------------------------------- report


def read_rows(results: Path) -> list[dict]:
    path = results / "results.csv"
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def pick(rows, task, representation, metric, m_val="", variant="full") -> float | None:
    for r in rows:
        if (r["task"], r["representation"], r["metric"], r["m_val"], r["variant"]) == (
            task,
            representation,
            metric,
            str(m_val),
            variant,
        ):
            return float(r["value"])
    return None


def training_summary(run: Path) -> dict:
    """First and last loss, steps and the last online-probe values from ``log.jsonl``."""
    steps, probes = [], {}
    path = run / "log.jsonl"
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "loss" in rec:
                steps.append(rec)
            elif "epoch_end" in rec:
                probes = rec
    if not steps:
        return {}
    return {
        "first_loss": steps[0]["loss"],
        "last_loss": steps[-1]["loss"],
        "steps": steps[-1]["step"] + 1,
        "probe_acc": probes.get("probe_acc"),
        "probe_r2": probes.get("probe_r2"),
    }


def mrr_chance(n: int) -> float:
    """MRR of a uniformly random ranking of one target among ``n`` candidates."""
    return sum(1 / k for k in range(1, n + 1)) / n


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def headline_objects(results: Path, views: int, classes: int = 3) -> list[tuple[str, ...]]:
    rows = read_rows(results)
    n_eval = next((r["n_eval"] for r in rows if r["task"] == "classification"), "?")
    n_train = next((r["n_train"] for r in rows if r["task"] == "classification"), "?")
    chance = mrr_chance(views)
    return [
        (
            f"linear probe top-1 on z_AGG, M_val = 3 ({n_eval} val sequences, {n_train} train)",
            _fmt(pick(rows, "classification", "z_agg", "top1", 3), 1) + " %",
            f"{100 / classes:.1f} % (chance); the sequences come from only 3 val objects",
        ),
        (
            "relative-rotation R² (MLP on encoder pairs)",
            _fmt(pick(rows, "rel_rotation", "z_pair", "r2_sklearn")),
            f"0 = predicting the mean; fitted on {n_train} pairs",
        ),
        (
            "relative-rotation error (degrees)",
            _fmt(pick(rows, "rel_rotation", "z_pair", "rot_err_deg"), 1),
            "lower is better (0° = exact)",
        ),
        (
            f"predictor retrieval MRR, M_val = 3 (rank among {views} views)",
            _fmt(pick(rows, "retrieval", "predictor", "mrr", 3)),
            f"{chance:.3f} (random ranking)",
        ),
        (
            "predictor retrieval Hit@1, M_val = 3",
            _fmt(pick(rows, "retrieval", "predictor", "hit@1", 3)),
            f"{1 / views:.3f} (random ranking)",
        ),
    ]


def headline_saccades(results: Path, classes: int = 3) -> list[tuple[str, ...]]:
    rows = read_rows(results)
    n_eval = next((r["n_eval"] for r in rows if r["task"] == "classification"), "?")
    path = ("path_integration", "z_agg+e(a_M)", "r2_sklearn")
    return [
        (
            f"linear probe top-1 on z_AGG, M_val = 4 ({n_eval} val crops)",
            _fmt(pick(rows, "classification", "z_agg", "top1", 4), 1) + " %",
            f"{100 / classes:.1f} % (chance; the class is the source photo)",
        ),
        (
            "fixation position R² (linear, encoder pairs)",
            _fmt(pick(rows, "position", "z_pair", "r2_sklearn")),
            "0 = predicting the mean",
        ),
        (
            "path integration R², M = 4: full / actions zeroed",
            f"{_fmt(pick(rows, *path, 4))} / {_fmt(pick(rows, *path, 4, 'actions zeroed'))}",
            "a gap means the position is read from the action embeddings",
        ),
    ]


NOTES = """\
- **Scale.** The rotation leg trains on 5 procedural objects (3 made-up classes) and evaluates
  on 3 others; the paper trains on ~52,000 ShapeNet objects of 55 classes for 1000 epochs at
  batch 512 and 128 px. Here: ~150 steps of batch 32 at 32 px on CPU. The numbers are a smoke
  test of the pipeline, not evidence about seq-JEPA; the full report's paper column shows where
  full-scale numbers lie, not a target for this run.
- **What is meaningful here.** The training loss (1 − cosine between predicted and target
  representations) falls from ~1; shards verify; the checkpoint resumes; every metric of the
  real protocol is computed and every figure drawn. Compare each number with its chance level,
  not with the paper.
- **What is not.** Probes are fitted on 8 evaluation sequences per training object (40 for the
  rotation leg, `--sequences-per-sample 8`) for 10 epochs (`--quick`); the 24 evaluation
  sequences come from only 3 objects, so they are far from independent. R² below 0 means worse
  than predicting the mean, which is expected from so few objects.
  Retrieval near its chance level means the predictor has not learned to tell views apart yet.
- **Saccade leg.** The classes are the three source photos and crops overlap across splits, so
  accuracy there is photo recognition from glimpses, not generalisation. Saliency is the offline
  spectral-residual fallback, not DeepGaze IIE (pass `--model deepgaze2e --weights ...` for that).
- **Online probes** (`log.jsonl`) are fitted on training batches during training: useful to see
  learning progress, not held-out results.
- **Next step at real scale:** see README "Rendering", "Sharding", "Training", "Evaluation"
  (e.g. `configs/3diebench-rot-m3.yaml` on the published 3DIEBench)."""


def write_report(
    out: Path,
    results: list[StageResult],
    profile: Profile,
    saccades: bool,
    cpus: int,
    wall: float,
) -> Path:
    o, s = out / "objects", out / "saccades"
    lines = [
        "# seqjepa demo report",
        "",
        f"- created {now()} on {platform.node() or 'this machine'}: {cpus} CPU(s), "
        f"Python {platform.python_version()}, seqjepa {_version()}",
        f"- this run: {wall:.0f} s wall time; stages marked 'earlier' were finished by a "
        "previous run and skipped (their time is the earlier run's)",
        "",
        "## Stages",
        "",
        "| stage | wall time (s) | command |",
        "|---|---|---|",
    ]
    for r in results:
        when = f"{r.seconds:.0f}" + (" (earlier)" if r.skipped else "")
        cmd = f"`{r.command}`" if r.command else "(Python step in scripts/demo.py)"
        lines.append(f"| {r.title} | {when} | {cmd} |")
    total = sum(r.seconds for r in results)
    lines += [f"| **total** | **{total:.0f}** | |", ""]

    lines += ["## Rotation leg (3DIEBench setting, built-in objects)", ""]
    lines += _training_lines(o / "train")
    lines += _table(headline_objects(o / "eval", profile.views))
    lines += [
        "",
        f"Full evaluation report: [objects/eval/report.md]({_link(o / 'eval' / 'report.md', out)})",
        "",
    ]
    lines += _figures(out, [o / "preview.png", *sorted((o / "eval" / "figures").glob("*.png"))])
    if saccades:
        lines += ["## Saccade leg (STL-10 setting, sample photos)", ""]
        lines += _training_lines(s / "train")
        lines += _table(headline_saccades(s / "eval"))
        lines += [
            "",
            "Full evaluation report: "
            f"[saccades/eval/report.md]({_link(s / 'eval' / 'report.md', out)})",
            "",
        ]
        lines += _figures(out, [s / "preview.png", *sorted((s / "eval" / "figures").glob("*.png"))])
    lines += ["## What these numbers mean", "", NOTES, ""]
    path = out / "report.md"
    write_if_changed(path, "\n".join(lines).encode())
    return path


def _training_lines(run: Path) -> list[str]:
    t = training_summary(run)
    if not t:
        return ["(no training log)", ""]
    return [
        f"Training: {t['steps']} steps, loss {t['first_loss']:.3f} → {t['last_loss']:.3f}; "
        f"online probes on training batches (last epoch): accuracy "
        f"{_fmt(t['probe_acc'], 2)}, action R² {_fmt(t['probe_r2'], 2)}.",
        "",
    ]


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    out = ["| metric | demo | compare with |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return out


def _figures(out: Path, paths: list[Path]) -> list[str]:
    lines = [f"![{p.stem}]({_link(p, out)})" for p in paths if p.is_file()]
    return [*lines, ""] if lines else []


def _link(path: Path, base: Path) -> str:
    return os.path.relpath(path, base)


# --------------------------------------------------------------------------- helpers


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("seqjepa")
    except Exception:
        return "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output directory")
    p.add_argument(
        "--num-cpus",
        type=int,
        default=os.cpu_count() or 1,
        help="CPUs of the local Ray instance that renders (default: all)",
    )
    p.add_argument("--no-saccades", action="store_true", help="run the rotation leg only")
    p.add_argument("--profile", choices=sorted(PROFILES), default="full", help=argparse.SUPPRESS)
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # interleave with the commands' own output
    profile = PROFILES[args.profile]
    out: Path = args.out
    progress = sys.stdout.isatty() if args.progress is None else args.progress
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)  # the demo runs Ray locally even inside a cluster's shell
    env.setdefault("RAY_AUTH_MODE", "disabled")
    saccades = not args.no_saccades
    start = time.perf_counter()
    try:
        stages = plan(out, profile, max(1, args.num_cpus), saccades, progress)
        out.mkdir(parents=True, exist_ok=True)
        runner = Runner(out, env, "`make demo`")
        print(f"seqjepa demo → {relative(out)}: {len(stages)} stages; a re-run skips finished ones")
        for i, stage in enumerate(stages, 1):
            runner.run(stage, i, len(stages))
    except StageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; re-run `make demo` to continue", file=sys.stderr)
        return 130
    wall = time.perf_counter() - start
    report = write_report(out, runner.results, profile, saccades, args.num_cpus, wall)
    print()
    stages_s = sum(r.seconds for r in runner.results)
    print(f"demo finished in {wall:.0f} s (stages including earlier runs: {stages_s:.0f} s)")
    _print_headlines(out, profile, saccades)
    print(
        "\nThese are tiny-scale smoke-test numbers (5 training objects, ~150 CPU steps): compare "
        "them\nwith the chance levels beside them, not with the paper; report.md explains each."
    )
    print(f"\nreport: {relative(report)}")
    return 0


def _print_headlines(out: Path, profile: Profile, saccades: bool) -> None:
    groups = [("rotation leg", headline_objects(out / "objects" / "eval", profile.views))]
    if saccades:
        groups.append(("saccade leg", headline_saccades(out / "saccades" / "eval")))
    for title, rows in groups:
        print(f"\n{title}:")
        for name, value, compare in rows:
            print(f"  {name}: {value}   [{compare}]")


if __name__ == "__main__":
    sys.exit(main())
