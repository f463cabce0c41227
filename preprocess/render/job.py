"""The render job: a pool of Ray actors, one ``bpy`` each, fed one object at a time.

Why this shape:

- ``bpy`` is a process-global singleton that must not be forked or shared across threads, so
  each actor process imports it once and keeps one scene, reloading only the object.
- Every actor has explicit ``num_cpus`` (and ``num_gpus``) and renders with that many Cycles
  threads: on a small machine an actor with Ray's default resources would wait forever.
- Latents are computed on the driver from a hash of (seed, synset, object, view), and the driver
  writes every file (atomically, ``.done`` marker last). So chunks, crashes and resumes give the
  same parameters, actors need no access to the output directory, and a re-run skips exactly the
  objects whose marker exists.
- One broken object (or even a Blender crash, which kills its actor) is recorded as failed,
  reported at the end and skipped; the pool replaces dead actors and carries on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..parallel import ray_session
from .layout import CHANNEL_NOTE, CHANNEL_ORDERS, FORMAT, OutputTree, encode_view
from .poses import HASH_VERSION, MODES, THREEDIEBENCH_FOV, object_latents
from .sources import ObjectKey, model_path


class RenderError(RuntimeError):
    """A job-level problem (settings clash, workers cannot start), one line for the CLI."""


@dataclass(frozen=True)
class RenderSettings:
    """Everything that changes the files written; an output directory holds one setting."""

    mode: str = "id"
    seed: int = 0
    views: int = 50
    first_view: int = 0
    size: int = 256
    samples: int = 32
    denoise: bool = True
    channel_order: str = "3diebench"
    jpeg_quality: int = 95
    fov: float = THREEDIEBENCH_FOV  # camera field of view (rad); narrower frames the object larger

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.channel_order not in CHANNEL_ORDERS:
            raise ValueError(f"channel order must be one of {', '.join(CHANNEL_ORDERS)}")
        if self.views < 1:
            raise ValueError(f"views must be >= 1, got {self.views}")
        if self.first_view < 0:
            raise ValueError(f"first view must be >= 0, got {self.first_view}")
        if self.size < 8:
            raise ValueError(f"size must be >= 8 pixels, got {self.size}")
        if self.samples < 1:
            raise ValueError(f"samples must be >= 1, got {self.samples}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"JPEG quality must be in 1..100, got {self.jpeg_quality}")
        if not 0.05 <= self.fov <= 2.5:
            raise ValueError(f"field of view must be in [0.05, 2.5] rad, got {self.fov}")

    @property
    def view_ids(self) -> list[int]:
        return list(range(self.first_view, self.first_view + self.views))

    def as_dict(self) -> dict:
        d = {**asdict(self), "latent_hash": HASH_VERSION}
        if self.fov == THREEDIEBENCH_FOV:  # outputs rendered before --fov existed still resume
            del d["fov"]
        return d

    def fingerprint(self) -> str:
        blob = json.dumps(self.as_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class RenderReport:
    requested: int = 0
    rendered: int = 0
    skipped: int = 0  # already done before this run
    failed: dict[str, str] = field(default_factory=dict)  # "synset/obj" -> error
    frames: int = 0
    seconds: float = 0.0
    cpus: float = 0.0
    workers: int = 0
    splits: dict[str, Path] = field(default_factory=dict)

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def frames_per_s_per_cpu(self) -> float:
        return self.frames_per_s / self.cpus if self.cpus > 0 else 0.0

    def summary(self) -> str:
        lines = [
            f"rendered {self.rendered} object(s), {self.frames} frame(s) in {self.seconds:.1f} s "
            f"({self.frames_per_s:.2f} frames/s, {self.frames_per_s_per_cpu:.3f} per CPU, "
            f"{self.workers} worker(s)); {self.skipped} already done; {len(self.failed)} failed"
        ]
        for key, err in list(self.failed.items())[:20]:
            lines.append(f"  failed {key}: {err}")
        if len(self.failed) > 20:
            lines.append(f"  ... and {len(self.failed) - 20} more (see render.json)")
        return "\n".join(lines)


def check_out_dir(out: Path, settings: RenderSettings) -> None:
    """Fail if ``out`` holds something else: another render's settings, or unrelated files."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RenderError(f"--out {out} is a file; pass a directory")
    tree = OutputTree(out)
    try:
        manifest = tree.read_manifest()
    except (OSError, ValueError) as exc:
        raise RenderError(f"{tree.manifest_path} is unreadable ({exc}); use a new --out") from None
    if manifest is None:
        if out.is_dir() and any(p.name != ".builtin-shapenet" for p in out.iterdir()):
            raise RenderError(
                f"--out {out} is not empty and holds no {tree.manifest_path.name}; "
                "render into a new or empty directory"
            )
        return
    old = manifest.get("settings", {})
    new = settings.as_dict()
    diff = [f"{k} {old.get(k)!r} -> {new[k]!r}" for k in new if old.get(k) != new[k]]
    if diff or manifest.get("format") != FORMAT:
        raise RenderError(
            f"--out {out} holds a render with different settings ({'; '.join(diff) or 'format'});"
            " use a new --out, or repeat the original settings to resume"
        )


class RenderWorker:
    """A Ray actor body: one bpy scene, one object per call. Imports bpy only when created."""

    def __init__(self, settings: RenderSettings, threads: int, device: str = "CPU") -> None:
        from .scene import Scene, bpy_version

        self.settings = settings
        self.scene = Scene(
            settings.size, settings.samples, settings.denoise, threads, device, fov=settings.fov
        )
        self.version = bpy_version()

    def info(self) -> dict:
        return {"bpy": self.version, "pid": os.getpid()}

    def render_object(self, model: str, latents: np.ndarray) -> dict:
        """JPEG bytes of every view, or the error that stopped this object."""
        start = time.perf_counter()
        try:
            self.scene.load(Path(model))
            images = [
                encode_view(
                    self.scene.render(lat), self.settings.channel_order, self.settings.jpeg_quality
                )
                for lat in latents
            ]
        except Exception as exc:  # one bad model must not stop the job
            return {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            with contextlib.suppress(Exception):  # the next load() unloads again
                self.scene.unload()
        return {"images": images, "seconds": time.perf_counter() - start}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _seqjepa_version() -> str:
    try:
        from importlib.metadata import version

        return version("seqjepa")
    except Exception:
        return "unknown"


@dataclass(frozen=True)
class ClusterOptions:
    """Where and how wide to render: local Ray by default, a cluster with ``address``."""

    workers: int | None = None  # default: as many as the CPUs (GPUs) allow
    cpus_per_worker: float = 1.0  # Cycles threads = max(1, round(cpus_per_worker))
    gpus_per_worker: float = 0.0  # > 0: Cycles renders on the GPU
    num_cpus: int | None = None  # local Ray only; default: all cores
    address: str | None = None  # Ray cluster; default: RAY_ADDRESS, else local

    def __post_init__(self) -> None:
        if self.cpus_per_worker <= 0:
            raise ValueError(f"cpus per worker must be > 0, got {self.cpus_per_worker}")
        if self.gpus_per_worker < 0:
            raise ValueError(f"gpus per worker must be >= 0, got {self.gpus_per_worker}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")

    @property
    def device(self) -> str:
        return "GPU" if self.gpus_per_worker > 0 else "CPU"


def run_render(
    objects: Sequence[ObjectKey],
    shapenet: Path,
    out: Path,
    settings: RenderSettings,
    *,
    split_name: str | None = None,
    classes: Sequence[str] | None = None,
    cluster: ClusterOptions | None = None,
    progress: bool = True,
    on_object: Callable[[str, bool], None] | None = None,
) -> RenderReport:
    """Render ``objects`` (already validated against ``shapenet``) into ``out``; resumable.

    ``classes`` pins the label order (sorted); by default the sorted synsets of ``objects``.
    The split files ``<split_name>_{images,labels}.npy`` (default name: the mode) list the
    objects of this call that are done, in the given order. Nothing is written before the
    workers are up, so a job that cannot start leaves ``out`` as it was.
    """
    cluster = cluster or ClusterOptions()
    check_out_dir(out, settings)
    objects = list(dict.fromkeys(objects))
    classes = sorted(set(classes) if classes else {s for s, _ in objects})
    missing = sorted({s for s, _ in objects} - set(classes))
    if missing:
        raise RenderError(f"synset(s) {', '.join(missing[:5])} are not in the class list")
    split_name = split_name or settings.mode
    tree = OutputTree(out)
    fingerprint = settings.fingerprint()
    report = RenderReport(requested=len(objects))

    manifest = tree.read_manifest() or {
        "format": FORMAT,
        "settings": settings.as_dict(),
        "channel_order_note": CHANNEL_NOTE[settings.channel_order],
        "created": _now(),
        "objects": {},
        "splits": {},
    }
    manifest.update(
        {"seqjepa": _seqjepa_version(), "shapenet": str(shapenet), "device": cluster.device}
    )
    status: dict = manifest.setdefault("objects", {})
    todo = []
    for s, o in objects:
        if tree.is_done(s, o, settings.view_ids, fingerprint):
            report.skipped += 1
            status[f"{s}/{o}"] = {"status": "done"}
        else:
            todo.append((s, o))

    def finish() -> None:
        done = [(s, o) for s, o in objects if status.get(f"{s}/{o}", {}).get("status") == "done"]
        report.splits[split_name] = tree.write_split(split_name, done, classes)[0]
        manifest.setdefault("splits", {})[split_name] = {
            "objects": len(done),
            "requested": len(objects),
            "classes": list(classes),
        }
        manifest["updated"] = _now()
        tree.write_manifest(manifest)

    if not todo:
        finish()
        return report
    if cluster.address is None and not os.environ.get("RAY_ADDRESS"):
        import importlib.util

        if importlib.util.find_spec("bpy") is None:
            raise RenderError(
                "bpy is not installed; pip install 'seqjepa[render]' (Blender 4.2 as a module)"
            )
    with _Pool(settings, cluster, len(todo)) as pool:
        manifest["bpy"] = pool.bpy_version
        camera = {**pool.scene_constants["camera"], "fov": settings.fov}
        manifest["scene"] = {**pool.scene_constants, "camera": camera}
        tree.write_manifest(manifest)  # settings are pinned before the first object lands
        report.workers, report.cpus = pool.size, pool.size * cluster.cpus_per_worker
        try:
            _drive(pool, todo, shapenet, tree, settings, report, manifest, progress, on_object)
        finally:
            finish()
    return report


class _Pool:
    """Ray (started here unless already running) and ``size`` started render actors."""

    def __init__(self, settings: RenderSettings, cluster: ClusterOptions, jobs: int) -> None:
        self.settings, self.cluster, self.jobs = settings, cluster, jobs
        self._session = None
        self.actors: list = []

    def __enter__(self) -> _Pool:
        self._session = ray_session(self.cluster.num_cpus, self.cluster.address)
        ray = self._session.__enter__()
        try:
            self._start(ray)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self, ray) -> None:
        from ray.exceptions import GetTimeoutError, RayActorError

        from .scene import SCENE_CONSTANTS

        c = self.cluster
        resources = ray.cluster_resources()
        cpus, gpus = float(resources.get("CPU", 0)), float(resources.get("GPU", 0))
        fit = int(cpus // c.cpus_per_worker)
        if c.gpus_per_worker > 0:
            fit = min(fit, int(gpus // c.gpus_per_worker))
        self.size = min(c.workers or max(fit, 1), self.jobs)
        if self.size > fit:
            raise RenderError(
                f"{self.size} worker(s) x ({c.cpus_per_worker:g} CPU, {c.gpus_per_worker:g} GPU)"
                f" do not fit the Ray cluster ({cpus:g} CPU, {gpus:g} GPU); "
                "lower --workers or --cpus-per-worker"
            )
        self._cls = ray.remote(RenderWorker).options(
            num_cpus=c.cpus_per_worker, num_gpus=c.gpus_per_worker, max_restarts=0
        )
        self.actors = [self.spawn() for _ in range(self.size)]
        try:
            infos = ray.get([a.info.remote() for a in self.actors], timeout=600)
        except GetTimeoutError:
            raise RenderError("render workers did not start within 600 s") from None
        except RayActorError as exc:
            lines = [ln for ln in str(exc).splitlines() if ln.strip()]
            cause = lines[-1].strip() if lines else type(exc).__name__
            raise RenderError(
                f"render workers could not start ({cause}); install bpy 4.2 on every node "
                "(pip install 'seqjepa[render]')"
            ) from None
        self.bpy_version = infos[0]["bpy"]
        self.scene_constants = SCENE_CONSTANTS

    def spawn(self):
        threads = max(1, round(self.cluster.cpus_per_worker))
        return self._cls.remote(self.settings, threads, self.cluster.device)

    def __exit__(self, *exc) -> None:
        import ray

        for actor in self.actors:
            with contextlib.suppress(Exception):
                ray.kill(actor)
        self.actors = []
        if self._session is not None:
            self._session.__exit__(None, None, None)
            self._session = None


def _drive(pool, todo, shapenet, tree, settings, report, manifest, progress, on_object) -> None:
    import ray
    from ray.exceptions import RayActorError
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    view_ids = settings.view_ids
    fingerprint = settings.fingerprint()
    status = manifest["objects"]
    pending = list(reversed(todo))
    inflight: dict = {}
    idle = list(pool.actors)
    start = last_manifest = time.perf_counter()
    deaths_in_a_row = 0
    bar = Progress(
        TextColumn("render"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not progress,
    )
    with bar:
        task = bar.add_task("render", total=len(todo), rate="")
        while pending or inflight:
            while idle and pending:
                s, o = pending.pop()
                latents = object_latents(settings.mode, settings.seed, s, o, view_ids)
                actor = idle.pop()
                ref = actor.render_object.remote(str(model_path(shapenet, s, o)), latents)
                inflight[ref] = (actor, s, o, latents)
            (ref,), _ = ray.wait(list(inflight), num_returns=1)
            actor, s, o, latents = inflight.pop(ref)
            key = f"{s}/{o}"
            try:
                result = ray.get(ref)
                deaths_in_a_row = 0
            except RayActorError as exc:
                result = {"error": f"render worker died ({type(exc).__name__}); Blender crashed?"}
                deaths_in_a_row += 1
                if deaths_in_a_row > 3 * pool.size:
                    raise RenderError(f"render workers keep dying; last object {key}") from None
                pool.actors.remove(actor)
                ray.kill(actor)
                actor = pool.spawn()
                pool.actors.append(actor)
            idle.append(actor)
            if "error" in result:
                report.failed[key] = result["error"]
                status[key] = {"status": "failed", "error": result["error"]}
            else:
                tree.write_object(s, o, view_ids, result["images"], latents, fingerprint)
                status[key] = {"status": "done"}
                report.rendered += 1
                report.frames += len(view_ids)
            if on_object is not None:
                on_object(key, "error" not in result)
            report.seconds = time.perf_counter() - start
            bar.update(task, advance=1, rate=f"{report.frames_per_s:.2f} frames/s")
            if time.perf_counter() - last_manifest > 30:
                manifest["updated"] = _now()
                tree.write_manifest(manifest)
                last_manifest = time.perf_counter()
    report.seconds = time.perf_counter() - start
