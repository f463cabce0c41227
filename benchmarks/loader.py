"""Loader throughput per setting: sequences/s per CPU core and where the time goes.

Generates shards of realistic layout (3DIEBench objects with 50 views stored at 128 px, CIFAR-100
32 px images, STL-10 96 px images with 96x96 saliency maps), then for each setting prints

* per-stage CPU time per sequence in one process: tar read + grouping, build (decode,
  per-sample random draws), collate (actions, augmentation rendering, fixations + patches);
* end-to-end sequences/s through the DataLoader with 0, 1 and 2 workers (per core: divided by
  max(1, workers)), and sequences per CPU-second of the main process and workers (robust to
  other load on the machine).

The "views on GPU" rows are the CPU share of the trainer's CUDA default, where augmentation
rendering or fixation sampling + patch cutting run on the GPU (``on_device=True``).

    python benchmarks/loader.py [--objects 200] [--images 3000] [--batch 256] [--batches 12]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from data import raw_formats

from seqjepa.datasets.loader import build_loader, shard_urls
from seqjepa.datasets.sequences import AugmentedSequences, ObjectSequences, SaccadeSequences
from seqjepa.datasets.shards import stream_samples
from seqjepa.datasets.stream import StreamConfig
from seqjepa.preprocess.readers.open import open_reader
from seqjepa.preprocess.saliency_store import SaliencyStore
from seqjepa.preprocess.shard import ShardOptions, shard_dataset


def make_shards(work: Path, objects: int, images: int) -> dict[str, tuple[Path, str]]:
    raw_formats.write_3diebench(
        work / "3die",
        synsets=("02691156", "02958343"),
        objects=objects // 2,
        views=tuple(range(50)),
        size=128,
    )
    shard_dataset(
        open_reader("3diebench", work / "3die"),
        work / "s-3die",
        options=ShardOptions(shard_size=25),
        workers=0,
        progress=False,
    )
    raw_formats.write_cifar100(work / "cifar", counts=(("train", images),))
    shard_dataset(
        open_reader("cifar100", work / "cifar"),
        work / "s-cifar",
        options=ShardOptions(shard_size=500),
        workers=0,
        progress=False,
    )
    source = raw_formats.write_stl10(work / "stl", counts=(("train", images),))
    raw_formats.write_random_saliency(work / "sal", "stl10", sorted(source))
    shard_dataset(
        open_reader("stl10", work / "stl"),
        work / "s-stl",
        options=ShardOptions(shard_size=500),
        saliency=SaliencyStore(work / "sal"),
        workers=0,
        progress=False,
    )
    return {
        "3diebench M=3 128px rot": (work / "s-3die", "train"),
        "cifar100 M=3 32px aug(all)": (work / "s-cifar", "train"),
        "stl10 M=4 sal+IoR 32px": (work / "s-stl", "train"),
        "cifar100 aug, views on GPU": (work / "s-cifar", "train"),
        "stl10 sal+IoR, views on GPU": (work / "s-stl", "train"),
    }


def builder_for(name: str):
    on_device = "GPU" in name  # the CPU share of the trainer's CUDA default: views made on device
    if name.startswith("3diebench"):
        return ObjectSequences(num_views=4, image_size=128, action="rot")
    if name.startswith("cifar"):
        return AugmentedSequences(num_views=4, image_size=32, action="all", on_device=on_device)
    return SaccadeSequences(
        num_views=5, patch_size=32, ior="disk", ior_radius=16, on_device=on_device
    )


def stages(directory: Path, split: str, builder, batch: int, batches: int) -> str:
    """Stage costs in this process, with one torch thread like a DataLoader worker.

    CPU time (``time.process_time``) is what a core spends, whatever else runs on the machine;
    wall time is also given for the whole.
    """
    torch.set_num_threads(1)
    _, urls = shard_urls(directory, split)
    samples = stream_samples(urls * 50, handler=lambda exc: False)
    n = batch * batches
    clocks = [(time.process_time(), time.perf_counter())]
    raw = [next(samples) for _ in range(n)]
    clocks.append((time.process_time(), time.perf_counter()))
    items = [builder.build(s, 0) for s in raw]
    clocks.append((time.process_time(), time.perf_counter()))
    for i in range(batches):
        builder.collate(items[i * batch : (i + 1) * batch])
    clocks.append((time.process_time(), time.perf_counter()))
    us = [1e6 * (b[0] - a[0]) / n for a, b in itertools.pairwise(clocks)]
    wall = (clocks[-1][1] - clocks[0][1]) / n
    return (
        f"per sequence (CPU time): read {us[0]:6.1f} us, build/decode {us[1]:6.1f} us, "
        f"collate {us[2]:6.1f} us -> {1e6 / sum(us):6.0f} seq/s on one core "
        f"(wall: {1 / wall:6.0f})"
    )


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of processes (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def end_to_end(
    directory: Path, split: str, builder, batch: int, batches: int, workers: int
) -> tuple[float, float]:
    """(sequences/s of wall time, sequences per CPU-second of the main process and workers)."""
    cfg = StreamConfig(
        batch_size=batch,
        resampled=True,
        batches_per_epoch=batches,
        shuffle_buffer=1000,
        shuffle_initial=200,
    )
    loader, _ = build_loader(directory, split, builder, cfg, workers=workers)
    it = iter(loader)
    next(it)  # start-up (worker spawn, first shards) is not throughput
    pids = [w.pid for w in getattr(it, "_workers", [])]
    start, cpu = time.perf_counter(), time.process_time() + _cpu_seconds(pids)
    count = sum(len(b["key"]) for b in it)
    cpu = time.process_time() + _cpu_seconds(pids) - cpu
    return count / (time.perf_counter() - start), count / max(cpu, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--images", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--workers", type=int, nargs="*", default=[0, 1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_shards(Path(tmp), args.objects, args.images)
        for name, (directory, split) in settings.items():
            builder = builder_for(name)
            print(
                f"{name:30s} {stages(directory, split, builder, args.batch, args.batches)}",
                flush=True,
            )
            for workers in args.workers:
                rate, per_cpu = end_to_end(
                    directory, split, builder, args.batch, args.batches + 1, workers
                )
                print(
                    f"{'':30s} workers={workers}: {rate:7.0f} seq/s total, "
                    f"{rate / max(1, workers):7.0f} seq/s per core, "
                    f"{per_cpu:7.0f} seq per CPU-second (main process + workers)",
                    flush=True,
                )


if __name__ == "__main__":
    main()
