"""`seqjepa-prep saliency`: a raw image dataset → a saliency store (DESIGN.md §2.1, §2.4).

Why this shape:

- Work is cut into chunks of up to ``chunk_size`` samples of one split, in the reader's order;
  a chunk is written atomically by the driver (``SaliencyStoreWriter.write_chunk``, whose id list
  lands last), so a killed job resumes at chunk granularity and a finished store is re-run for
  free. The chunk size and sample counts are pinned in ``job.json`` so a resume cuts the same
  chunks even if ``--chunk-size`` changed.
- A pool of Ray actors (or one in-process worker with ``workers=0``) each build the model once
  and turn whole chunks into maps: the model is the expensive part (DeepGaze IIE loads 400 MiB).
  Actors decode the raw samples themselves; only maps travel back. Every actor has explicit
  ``num_cpus`` (and ``num_gpus``) and as many torch threads as CPUs.
- Images are resized (``input_size``: shorter side, PIL bilinear from uint8, as the authors'
  STL-10 script upsampled 96 → 512), then grouped by size inside a chunk and run in batches of
  one size. Never padded: DeepGaze's layer norms and each map's normalisation see the whole
  image. Larger chunks give fuller batches on native-resolution data.
- Stored maps are ``(map_size, map_size)`` float16 log-densities: the model's output resized
  bilinearly in log space and renormalised. A map covers the whole image, stretched when the
  image is not square, so normalised coordinates (row / H, col / W) map 1:1 to the image.
- An unreadable sample is skipped, counted and listed in ``job.json`` and in the store; the
  shard job skips the same samples, so ``seqjepa-prep shard --saliency`` still joins.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from seqjepa.datasets.decode import DecodeError, decode_rgb
from seqjepa.datasets.schema import sample_id

from .files import atomic_write_json
from .parallel import progress_bar, ray_session
from .readers import CorruptSample, Entry, Reader
from .saliency import INPUT_SCALE_0_255, SaliencyModel, build_saliency_model, resize_log_density
from .saliency_store import STORE_FILE, SaliencyStoreWriter

JOB_FILE = "job.json"
MODEL_ALIASES = {
    "deepgaze2e": "deepgaze-iie",
    "deepgaze-iie": "deepgaze-iie",
    "spectral": "spectral-residual",
    "spectral-residual": "spectral-residual",
    "center": "center",
}
GPU_MODELS = {"deepgaze-iie"}  # the fallbacks are numpy/CPU only
# STL-10 as in the paper: 96 px images upsampled to 512 for DeepGaze, maps stored at 96².
DEFAULT_INPUT_SIZE = {"stl10": 512}
# Fixed-size datasets keep their image side; variable-size ones get ImageNet's training side.
DEFAULT_MAP_SIZE = {"stl10": 96, "cifar100": 32, "tinyimagenet": 64}
FALLBACK_MAP_SIZE = 224


class SaliencyJobError(RuntimeError):
    """A job-level problem (bad settings, output clash, workers failing), one line for the CLI."""


def canonical_model(name: str) -> str:
    """The saliency model's registry name for a CLI name (``deepgaze2e``, ``spectral``, ...)."""
    if name not in MODEL_ALIASES:
        raise SaliencyJobError(
            f"unknown saliency model {name!r}; choose deepgaze2e, spectral or center"
        )
    return MODEL_ALIASES[name]


@dataclass(frozen=True)
class ModelSpec:
    """How to build a saliency model, small enough to ship to every actor.

    The weights and centre-bias files are read where the model is built: on a cluster they must
    exist at the same path on every node.
    """

    name: str
    weights: str | None = None
    centerbias: str | None = None
    input_scale: str = INPUT_SCALE_0_255
    allow_random_weights: bool = False  # DeepGaze without weights: tests and benchmarks only

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", canonical_model(self.name))

    @property
    def gpu_capable(self) -> bool:
        return self.name in GPU_MODELS

    def build(self, device: str = "cpu") -> SaliencyModel:
        random = self.allow_random_weights and self.name == "deepgaze-iie"
        options = {"allow_random_weights": True} if random else {}
        return build_saliency_model(
            self.name,
            self.weights,
            self.centerbias,
            input_scale=self.input_scale,
            device=device,
            **options,
        )


def resize_shorter(image: np.ndarray, size: int | None) -> np.ndarray:
    """HxWx3 uint8 with the shorter side set to ``size`` (PIL bilinear, the shard job's rule)."""
    h, w = image.shape[:2]
    if size is None or min(h, w) == size:
        return image
    scale = size / min(h, w)
    target = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(target, Image.BILINEAR))


def _buckets(images: Sequence[np.ndarray]) -> list[list[int]]:
    """Indices of ``images`` grouped by (H, W), in order of first appearance."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, image in enumerate(images):
        groups.setdefault(image.shape, []).append(i)
    return list(groups.values())


def at_size(log_density: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``log_density`` at ``size``: unchanged if it is already there, else resized."""
    same = tuple(log_density.shape[-2:]) == tuple(size)
    return log_density if same else resize_log_density(log_density, size)


class SaliencyRunner:
    """A model with the resizing around it: RGB images of any sizes in, log-density maps out.

    Shared by the batch job's workers and the HTTP service, so both make the same maps.
    """

    def __init__(
        self, model: SaliencyModel, input_size: int | None = None, batch_size: int = 16
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch size must be >= 1, got {batch_size}")
        self.model = model
        self.input_size = input_size
        self.batch_size = batch_size

    def model_maps(self, images: Sequence[np.ndarray]) -> list[torch.Tensor]:
        """HxWx3 uint8 images → float32 log-densities at the model's input size, in order."""
        inputs = [resize_shorter(image, self.input_size) for image in images]
        out: list[torch.Tensor] = [torch.empty(0)] * len(images)
        for group in _buckets(inputs):
            for start in range(0, len(group), self.batch_size):
                part = group[start : start + self.batch_size]
                batch = torch.from_numpy(np.stack([inputs[i] for i in part])).permute(0, 3, 1, 2)
                for i, m in zip(part, self.model(batch).cpu(), strict=True):
                    out[i] = m
        return out

    def __call__(
        self, images: Sequence[np.ndarray], map_size: tuple[int, int] | None = None
    ) -> list[np.ndarray]:
        """Log-densities at ``map_size``, or at each image's own size when it is ``None``."""
        maps = self.model_maps(images)
        return [
            at_size(m, map_size or image.shape[:2]).numpy()
            for m, image in zip(maps, images, strict=True)
        ]


@dataclass(frozen=True)
class SaliencySettings:
    """What the stored maps depend on (recorded in the store), and how the work is cut."""

    model: ModelSpec
    map_size: int
    input_size: int | None = None  # shorter side before the model; None: native resolution
    batch_size: int = 16
    chunk_size: int = 256

    def __post_init__(self) -> None:
        if self.map_size < 1:
            raise SaliencyJobError(f"map size must be >= 1, got {self.map_size}")
        if self.input_size is not None and self.input_size < 1:
            raise SaliencyJobError(f"input size must be >= 1, got {self.input_size}")
        if self.batch_size < 1 or self.chunk_size < 1:
            raise SaliencyJobError("batch size and chunk size must be >= 1")

    @classmethod
    def for_dataset(
        cls, fmt: str, model: ModelSpec, input_size: int | None, map_size: int | None, **kw
    ) -> SaliencySettings:
        """Fill in the per-dataset defaults; ``input_size=0`` asks for native resolution."""
        if input_size is None:
            input_size = DEFAULT_INPUT_SIZE.get(fmt)
        if map_size is None:
            map_size = DEFAULT_MAP_SIZE.get(fmt, FALLBACK_MAP_SIZE)
        return cls(model, map_size, input_size or None, **kw)

    def provenance(self, model: SaliencyModel) -> dict[str, Any]:
        resize = (
            f"shorter side to {self.input_size} px, PIL bilinear from uint8"
            if self.input_size
            else "native resolution"
        )
        return {
            **model.provenance(),
            "input_size": self.input_size,
            "input_resize": resize,
            "map_size": self.map_size,
            "map_resize": "bilinear in log space, renormalised; the whole image, stretched",
        }


def chunk_name(split: str, index: int) -> str:
    """The store's name of a chunk's files (``<split>-NNNNNN``)."""
    return f"{split}-{index:06d}"


@dataclass(frozen=True)
class Chunk:
    split: str
    index: int
    entries: list[Entry]

    @property
    def name(self) -> str:
        return chunk_name(self.split, self.index)


def load_rgb(reader: Reader, split: str, entry: Entry) -> np.ndarray:
    """HxWx3 uint8 RGB of one sample, decoded as the training loader decodes it (OpenCV)."""
    raw = reader.load(split, entry)
    if raw.pixels is not None:
        return raw.pixels
    try:
        return decode_rgb(raw.data)
    except DecodeError as exc:
        raise CorruptSample(f"{raw.meta.get('source', entry.key)}: {exc}") from None


class ChunkWorker:
    """Turns whole chunks into maps: the body of a Ray actor, or of the inline path."""

    def __init__(self, reader: Reader, dataset: str, map_size: int, runner: SaliencyRunner):
        self.reader, self.dataset, self.runner = reader, dataset, runner
        self.map_size = (map_size, map_size)

    def run(self, chunk: Chunk) -> dict[str, Any]:
        ids, images, skipped = [], [], []
        for entry in chunk.entries:
            sid = sample_id(self.dataset, chunk.split, entry.key)
            try:
                images.append(load_rgb(self.reader, chunk.split, entry))
            except CorruptSample as exc:
                skipped.append({"id": sid, "reason": str(exc)})
                continue
            ids.append(sid)
        maps = self.runner(images, self.map_size)
        stacked = np.stack(maps) if maps else np.empty((0, *self.map_size), np.float32)
        return {
            "split": chunk.split,
            "index": chunk.index,
            "ids": ids,
            "maps": stacked.astype(np.float16),
            "skipped": skipped,
        }


class SaliencyActor(ChunkWorker):
    """A :class:`ChunkWorker` that builds its own model inside the actor process."""

    def __init__(
        self,
        reader: Reader,
        dataset: str,
        settings: SaliencySettings,
        threads: int,
        device: str,
    ) -> None:
        torch.set_num_threads(threads)
        runner = SaliencyRunner(
            settings.model.build(device), settings.input_size, settings.batch_size
        )
        super().__init__(reader, dataset, settings.map_size, runner)


@dataclass(frozen=True)
class PoolOptions:
    """Where the work runs: inline (``workers=0``), local Ray (default) or a Ray cluster."""

    workers: int | None = None  # actors; None fills the CPUs (GPUs)
    cpus_per_actor: float = 1.0
    gpus_per_actor: float | None = None  # None: 1 per actor when Ray has GPUs and the model can
    address: str | None = None  # Ray cluster; default RAY_ADDRESS, else a local Ray

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 0:
            raise SaliencyJobError(f"workers must be >= 0, got {self.workers}")
        if self.cpus_per_actor <= 0:
            raise SaliencyJobError(f"CPUs per actor must be > 0, got {self.cpus_per_actor}")
        if self.gpus_per_actor is not None and self.gpus_per_actor < 0:
            raise SaliencyJobError(f"GPUs per actor must be >= 0, got {self.gpus_per_actor}")


def gpus_per_worker(spec: ModelSpec, requested: float | None, available: float) -> float:
    """GPUs for each worker: as asked, or one each when there are GPUs and the model uses them."""
    if requested is None:
        return 1.0 if available >= 1 and spec.gpu_capable else 0.0
    if requested > 0 and not spec.gpu_capable:
        raise SaliencyJobError(f"{spec.name} runs on the CPU only; leave out the GPU option")
    return requested


class _InlinePool:
    """One worker in this process, with the model the driver already built."""

    size = 1

    def __init__(self, worker: ChunkWorker) -> None:
        self.worker = worker

    def __enter__(self) -> _InlinePool:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def map(self, chunks: Sequence[Chunk]) -> Iterator[dict[str, Any]]:
        for chunk in chunks:
            yield self.worker.run(chunk)


class _RayPool:
    """Ray (started here unless already running) and a pool of :class:`SaliencyActor`."""

    def __init__(
        self,
        reader: Reader,
        dataset: str,
        settings: SaliencySettings,
        options: PoolOptions,
        chunks: int,
    ) -> None:
        self.args = (reader, dataset, settings)
        self.options = options
        self.chunks = chunks
        self.actors: list = []
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> _RayPool:
        o = self.options
        local_cpus = math.ceil(o.workers * o.cpus_per_actor) if o.workers else None
        try:
            ray = self._stack.enter_context(ray_session(local_cpus, o.address))
            self._stack.callback(self._kill_actors, ray)
            self._start(ray)
        except BaseException:
            self._stack.close()
            raise
        return self

    def _start(self, ray) -> None:
        o = self.options
        resources = ray.cluster_resources()
        cpus, gpus = float(resources.get("CPU", 0)), float(resources.get("GPU", 0))
        self.gpus = gpus_per_worker(self.args[2].model, o.gpus_per_actor, gpus)
        fit = int(cpus // o.cpus_per_actor)
        if self.gpus > 0:
            fit = min(fit, int(gpus // self.gpus))
        self.size = min(o.workers or max(fit, 1), self.chunks)
        if self.size > fit:
            raise SaliencyJobError(
                f"{self.size} actor(s) × ({o.cpus_per_actor:g} CPU, {self.gpus:g} GPU) do not fit "
                f"the Ray cluster ({cpus:g} CPU, {gpus:g} GPU); lower --workers or the per-actor "
                "resources"
            )
        actor = ray.remote(SaliencyActor).options(
            num_cpus=o.cpus_per_actor, num_gpus=self.gpus, max_restarts=0
        )
        threads = max(1, round(o.cpus_per_actor))
        device = "cuda" if self.gpus > 0 else "cpu"
        self.actors = [actor.remote(*self.args, threads, device) for _ in range(self.size)]

    def map(self, chunks: Sequence[Chunk]) -> Iterator[dict[str, Any]]:
        from ray.exceptions import RayError
        from ray.util import ActorPool

        pool = ActorPool(self.actors)
        try:
            yield from pool.map_unordered(lambda actor, chunk: actor.run.remote(chunk), chunks)
        except RayError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            raise SaliencyJobError(
                f"a saliency worker failed: {lines[-1] if lines else type(exc).__name__}"
            ) from None

    def _kill_actors(self, ray) -> None:
        for actor in self.actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)
        self.actors = []

    def __exit__(self, *exc) -> None:
        self._stack.close()


@dataclass
class SaliencyReport:
    """What a run did, per split and overall."""

    store: Path
    splits: dict[str, dict[str, int]] = field(default_factory=dict)  # maps, chunks, skipped
    computed: int = 0  # samples processed by this run
    already_done: int = 0  # chunks found complete
    seconds: float = 0.0
    workers: int = 0

    @property
    def images_per_s(self) -> float:
        return self.computed / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        lines = [
            f"{split}: {s['maps']} maps in {s['chunks']} chunks"
            + (f", {s['skipped']} unreadable samples skipped" if s["skipped"] else "")
            for split, s in self.splits.items()
        ]
        if any(s["skipped"] for s in self.splits.values()):
            lines.append(f"skipped samples are listed in {self.store / JOB_FILE}")
        lines.append(
            f"computed {self.computed} images in {self.seconds:.1f} s "
            f"({self.images_per_s:.1f} images/s, {self.workers} worker(s)); "
            f"{self.already_done} chunk(s) were already done"
        )
        return "\n".join(lines)


def compute_saliency(
    reader: Reader,
    out: str | Path,
    settings: SaliencySettings,
    *,
    splits: list[str] | None = None,
    dataset: str | None = None,
    pool: PoolOptions = PoolOptions(),
    progress: bool = True,
) -> SaliencyReport:
    """Write the saliency store of ``reader``'s ``splits`` into ``out``; resumable, idempotent.

    The model is built here first (on the CPU) for its provenance, which also fails fast on bad
    weights before any worker starts; the inline path then reuses it.
    """
    out = Path(out)
    name = dataset or reader.name
    if reader.kind != "images":
        raise SaliencyJobError(f"{reader.name} holds object views; saliency maps are for images")
    splits = splits or reader.splits()
    for split in splits:
        reader.check_split(split)
    _check_out(out)
    job, chunks = _plan(reader, out, name, splits, settings.chunk_size)
    model = settings.model.build("cpu")
    try:
        writer = SaliencyStoreWriter(
            out, name, (settings.map_size,) * 2, settings.provenance(model)
        )
    except ValueError as exc:
        raise SaliencyJobError(str(exc)) from None
    atomic_write_json(out / JOB_FILE, job)
    todo = [c for c in chunks if not writer.chunk_done(c.split, c.index)]
    report = SaliencyReport(out, already_done=len(chunks) - len(todo))
    if todo:
        if pool.workers == 0:
            workers = _inline_pool(reader, name, settings, pool, model)
        else:
            del model  # the actors build their own; a copy here would only hold memory
            workers = _RayPool(reader, name, settings, pool, len(todo))
        with workers:
            report.workers = workers.size
            _drive(workers, todo, writer, job, out, report, progress)
    report.splits = _split_totals(job, chunks, writer)
    return report


def _inline_pool(reader, name, settings, pool: PoolOptions, model: SaliencyModel) -> _InlinePool:
    cuda = torch.cuda.is_available()
    gpus = gpus_per_worker(settings.model, pool.gpus_per_actor, 1.0 if cuda else 0.0)
    if gpus > 0 and not cuda:
        raise SaliencyJobError("a GPU was asked for but torch sees no CUDA device")
    runner = SaliencyRunner(
        model.to("cuda" if gpus > 0 else "cpu"), settings.input_size, settings.batch_size
    )
    return _InlinePool(ChunkWorker(reader, name, settings.map_size, runner))


def _drive(workers, todo, writer, job, out, report, progress) -> None:
    total = sum(len(c.entries) for c in todo)
    start = time.perf_counter()
    with progress_bar(progress) as bar:
        task = bar.add_task("saliency", total=total, rate="")
        for result in workers.map(todo):
            if result["skipped"]:  # recorded before the chunk marks itself complete
                job["skipped"][chunk_name(result["split"], result["index"])] = result["skipped"]
                atomic_write_json(out / JOB_FILE, job)
            unreadable = {s["id"]: s["reason"] for s in result["skipped"]}
            writer.write_chunk(
                result["split"], result["index"], result["ids"], result["maps"], unreadable
            )
            report.computed += len(result["ids"]) + len(result["skipped"])
            report.seconds = time.perf_counter() - start
            bar.update(
                task,
                advance=len(result["ids"]) + len(result["skipped"]),
                rate=f"{report.images_per_s:.1f} images/s",
            )


def _split_totals(job, chunks, writer) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    for chunk in chunks:
        t = totals.setdefault(chunk.split, {"maps": 0, "chunks": 0, "skipped": 0})
        if writer.chunk_done(chunk.split, chunk.index):
            skipped = len(job["skipped"].get(chunk.name, []))
            t["chunks"] += 1
            t["skipped"] += skipped
            t["maps"] += len(chunk.entries) - skipped
    return totals


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise SaliencyJobError(f"--out {out} is a file; pass a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / STORE_FILE).is_file():
        raise SaliencyJobError(
            f"--out {out} is not empty and is not a saliency store; use a new or empty directory"
        )


def _plan(
    reader: Reader, out: Path, name: str, splits: list[str], chunk_size: int
) -> tuple[dict, list[Chunk]]:
    """Chunks of every split, cut as the first run of this store cut them."""
    path = out / JOB_FILE
    job = json.loads(path.read_text()) if path.is_file() else None
    if job is None:
        job = {"dataset": name, "format": reader.name, "plans": {}, "skipped": {}}
    elif (job["dataset"], job["format"]) != (name, reader.name):
        raise SaliencyJobError(
            f"{out} holds saliency maps of {job['dataset']!r} ({job['format']}); "
            "use a new --out or remove it"
        )
    job["source"] = reader.fingerprint()  # informative: ids, not files, are what is joined
    chunks = []
    for split in splits:
        entries = reader.entries(split)
        if not entries:
            raise SaliencyJobError(f"split {split!r} of {reader.root} holds no samples")
        plan = job["plans"].setdefault(split, {"samples": len(entries), "chunk_size": chunk_size})
        if plan["samples"] != len(entries):
            raise SaliencyJobError(
                f"{out} was started from a source with {plan['samples']} {split} samples, "
                f"now {len(entries)}; use a new --out or remove it"
            )
        size = plan["chunk_size"]
        chunks += [
            Chunk(split, i, entries[i * size : (i + 1) * size])
            for i in range(math.ceil(len(entries) / size))
        ]
    return job, chunks
