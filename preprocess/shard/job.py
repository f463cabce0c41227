"""`seqjepa-prep shard`: plan shards, write them in parallel tasks, resume, and index them.

Each task writes whole shards. A finished shard leaves a state record
(``.state/<shard>.json``: its size, sha256, sample rows and skipped samples) written after the
atomic rename, so a re-run skips finished shards and rewrites only the missing ones. Samples are
pre-shuffled with a fixed seed before being cut into shards (sorted class folders would otherwise
give single-class shards), and the plan is stored in ``job.json`` so a resume cuts identically.
"""

from __future__ import annotations

import errno
import json
import math
import time
import zlib
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from seqjepa.datasets import schema

from ..files import atomic_write_json
from ..parallel import progress_bar, run_tasks
from ..readers import CorruptSample, Entry, Reader
from ..saliency_store import SaliencyStore
from .encode import EncodeOptions, image_members, object_members
from .tarwriter import write_tar

JOB_FILE = "job.json"
STATE_DIR = ".state"
TARGET_SHARD_BYTES = 256 * 2**20
MIN_SHARD_BYTES = 10 * 2**20
PIXEL_FORMATS = ("ppm", "png")
MIN_SHARDS = 16  # enough for 4 x (GPUs x workers) on a small node, when the data allows


class ShardError(RuntimeError):
    """A fatal problem with the job (bad output directory, disk full, uncovered saliency)."""


@dataclass(frozen=True)
class ShardOptions:
    size: int | None = None
    quality: int = 95
    pixels: str = "ppm"  # decoded pixels stored as "ppm" (uncompressed, fast) or "png"
    shard_size: int | None = None  # samples per shard; None sizes shards automatically
    seed: int = 0
    shuffle: bool = True

    def __post_init__(self) -> None:
        if self.pixels not in PIXEL_FORMATS:
            raise ValueError(f"pixels must be one of {', '.join(PIXEL_FORMATS)}")

    def encode(self) -> EncodeOptions:
        return EncodeOptions(size=self.size, quality=self.quality, pixels=self.pixels)


@dataclass(frozen=True)
class ShardTask:
    split: str
    index: int
    entries: list[Entry]


def shard_dataset(
    reader: Reader,
    out: str | Path,
    splits: list[str] | None = None,
    options: ShardOptions = ShardOptions(),
    saliency: SaliencyStore | None = None,
    dataset: str | None = None,
    workers: int | None = None,
    address: str | None = None,
    progress: bool = True,
) -> schema.DatasetIndex:
    out = Path(out)
    name = dataset or reader.name
    splits = splits or reader.splits()
    for split in splits:
        reader.check_split(split)
    if saliency is not None and reader.kind != "images":
        raise ShardError("--saliency applies to image datasets, not to object views")
    out.mkdir(parents=True, exist_ok=True)
    (out / STATE_DIR).mkdir(exist_ok=True)

    job = _load_job(out, name, reader, options, saliency)
    tasks: list[ShardTask] = []
    for split in splits:
        entries = reader.entries(split)
        if not entries:
            raise ShardError(f"split {split!r} of {reader.root} holds no samples")
        if saliency is not None:
            missing = saliency.missing([schema.sample_id(name, split, e.key) for e in entries])
            if missing:
                raise ShardError(
                    f"saliency store {saliency.root} does not cover {len(missing)} of "
                    f"{len(entries)} {split} samples (first: {missing[0]}); "
                    "run `seqjepa-prep saliency` on the same dataset and split"
                )
        if options.shuffle:
            order = np.random.default_rng([options.seed, zlib.crc32(split.encode())]).permutation(
                len(entries)
            )
            entries = [entries[i] for i in order]
        plan = job["plans"].setdefault(split, {"samples": len(entries)})
        if plan["samples"] != len(entries):
            raise ShardError(
                f"{out} was started from a source with {plan['samples']} {split} samples, "
                f"now {len(entries)}; use a new --out or remove it"
            )
        if "shard_size" not in plan:
            plan["shard_size"] = options.shard_size or _auto_shard_size(
                reader, split, entries, options
            )
        size = plan["shard_size"]
        for i in range(math.ceil(len(entries) / size)):
            tasks.append(ShardTask(split, i, entries[i * size : (i + 1) * size]))
    atomic_write_json(out / JOB_FILE, job)

    todo = [t for t in tasks if not _is_done(out, t)]
    args = [(reader, out, name, t, options, saliency) for t in todo]
    with progress_bar(progress) as bar:
        bar_task = bar.add_task(
            "shards", total=len(tasks), completed=len(tasks) - len(todo), rate=""
        )
        started, written = time.perf_counter(), 0
        for result in run_tasks(write_shard, args, workers=workers, address=address):
            if "error" in result:
                raise ShardError(result["error"])
            written += result["info"]["samples"]
            rate = written / max(time.perf_counter() - started, 1e-9)
            bar.update(bar_task, advance=1, rate=f"{rate:.0f} samples/s")

    index = _build_index(out, name, reader, splits, tasks, options, saliency, job)
    index.write(out)
    _write_samples_table(out)
    return index


def write_shard(
    reader: Reader,
    out: Path,
    dataset: str,
    task: ShardTask,
    options: ShardOptions,
    saliency: SaliencyStore | None,
) -> dict[str, Any]:
    """Write one shard and its state record; runs inside a Ray task (or inline)."""
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    encode = options.encode()

    def samples():
        for entry in task.entries:
            sid = schema.sample_id(dataset, task.split, entry.key)
            try:
                if saliency is not None and sid in saliency.unreadable:
                    # Skipped like any unreadable sample, so the store still covers the shards.
                    raise CorruptSample(
                        f"unreadable to the saliency job: {saliency.unreadable[sid]}"
                    )
                raw = reader.load(task.split, entry)
                if reader.kind == "objects":
                    members = object_members(raw, sid, entry.label, encode)
                else:
                    sal = saliency[sid] if saliency is not None else None
                    members = image_members(raw, sid, entry.label, encode, sal)
            except CorruptSample as exc:
                skipped.append({"id": sid, "reason": str(exc)})
                continue
            views = len(raw.views) if reader.kind == "objects" else 1
            rows.append({"id": sid, "label": entry.label, "views": views})
            yield sid, members

    path = out / schema.shard_name(task.split, task.index)
    try:
        info = write_tar(path, samples())
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return {
                "error": f"no space left writing {path} ({exc.strerror}); free space and re-run"
            }
        return {"error": f"cannot write {path}: {exc}"}
    record = {"info": asdict(info), "split": task.split, "rows": rows, "skipped": skipped}
    atomic_write_json(_state_path(out, task), record)
    return record


def _state_path(out: Path, task: ShardTask) -> Path:
    return out / STATE_DIR / (schema.shard_name(task.split, task.index) + ".json")


def _is_done(out: Path, task: ShardTask) -> bool:
    state = _state_path(out, task)
    shard = out / schema.shard_name(task.split, task.index)
    if not (state.is_file() and shard.is_file()):
        return False
    return json.loads(state.read_text())["info"]["bytes"] == shard.stat().st_size


def _load_job(out: Path, name: str, reader: Reader, options: ShardOptions, saliency) -> dict:
    identity = {
        "schema_version": schema.SCHEMA_VERSION,  # never mix shard layouts in one directory
        "dataset": name,
        "format": reader.name,
        "options": asdict(options),
        "source": reader.fingerprint(),
        "saliency": saliency.fingerprint() if saliency is not None else None,
    }
    path = out / JOB_FILE
    if path.is_file():
        job = json.loads(path.read_text())
        old = {k: job.get(k) for k in identity}
        if old != identity:
            diff = ", ".join(k for k in identity if old[k] != identity[k])
            raise ShardError(
                f"{out} holds shards of {old['dataset']!r} made with different {diff}; "
                "use a new --out or remove it"
            )
        return job
    if any(out.glob("*.tar")):
        raise ShardError(f"{out} already holds shards not written by this tool; use a new --out")
    return {**identity, "plans": {}}


def _auto_shard_size(
    reader: Reader, split: str, entries: list[Entry], options: ShardOptions
) -> int:
    """Samples per shard so shards are 10 MB–256 MB and, data allowing, at least MIN_SHARDS."""
    sizes = []
    for entry in entries[:16]:
        try:
            raw = reader.load(split, entry)
            if reader.kind == "objects":
                members = object_members(raw, "x/y/z", entry.label, options.encode())
            else:
                members = image_members(raw, "x/y/z", entry.label, options.encode(), None)
        except CorruptSample:
            continue
        sizes.append(sum(len(v) + 1024 for v in members.values()))
    per_sample = max(np.mean(sizes) if sizes else 64 * 1024, 1.0)
    total = per_sample * len(entries)
    shards = max(
        math.ceil(total / TARGET_SHARD_BYTES), min(MIN_SHARDS, math.ceil(total / MIN_SHARD_BYTES))
    )
    return max(1, math.ceil(len(entries) / max(shards, 1)))


def _build_index(out, name, reader, splits, tasks, options, saliency, job) -> schema.DatasetIndex:
    try:
        index = schema.DatasetIndex.read(out)
    except FileNotFoundError:
        index = None
    provenance = {
        "source": reader.fingerprint(),
        "seqjepa_version": version("seqjepa"),
        "saliency": saliency.fingerprint() if saliency is not None else None,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    if index is None:
        index = schema.DatasetIndex(
            dataset=name,
            kind=reader.kind,
            class_names=reader.class_names(),
            options={**asdict(options), "plans": job["plans"]},
            provenance=provenance,
        )
    index.options["plans"] = job["plans"]
    index.provenance = provenance
    for split in splits:
        info = schema.SplitInfo()
        for task in (t for t in tasks if t.split == split):
            record = json.loads(_state_path(out, task).read_text())
            info.shards.append(schema.ShardInfo(**record["info"]))
            info.samples += record["info"]["samples"]
            info.skipped += len(record["skipped"])
        index.splits[split] = info
    return index


def _write_samples_table(out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, skipped = [], []
    for state in sorted((out / STATE_DIR).glob("*.json")):
        record = json.loads(state.read_text())
        shard = record["info"]["name"]
        rows += [{**r, "split": record["split"], "shard": shard} for r in record["rows"]]
        skipped += [{**s, "split": record["split"], "shard": shard} for s in record["skipped"]]
    tmp = out / (schema.SAMPLES_FILE + ".tmp")
    pq.write_table(pa.Table.from_pylist(rows), tmp)
    tmp.replace(out / schema.SAMPLES_FILE)
    atomic_write_json(out / "skipped.json", skipped)
