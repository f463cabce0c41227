"""One call from a shard directory to a DataLoader of view-action sequences.

Holds the loader-level decisions in one place: which builder a setting uses, the epoch length
(computed here, once, per rank — not per worker), uint8 batches through persistent workers and
pinned memory, and a start-up check that every rank and worker gets shards.
"""

from __future__ import annotations

import atexit
import signal
import weakref
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from .schema import DatasetIndex
from .sequences import AugmentedSequences, ObjectSequences, SaccadeSequences
from .stream import ShardStream, StreamConfig


@dataclass
class LoaderPosition:
    """Where a run is in the data: restored from a checkpoint to resume exactly."""

    epoch: int = 0
    step: int = 0  # batches already consumed in ``epoch``


def shard_urls(directory: str | Path, split: str) -> tuple[DatasetIndex, list[str]]:
    index = DatasetIndex.read(directory)
    return index, [str(p) for p in index.shard_paths(directory, split)]


def make_loader(
    stream, workers: int, pin_memory: bool | None = None, prefetch: int = 4
) -> DataLoader:
    """A DataLoader over a batch-yielding stream: persistent workers, pinned memory on CUDA.

    It gets its own generator so creating worker iterators never consumes the global torch RNG
    (which would shift dropout draws after a resume). Workers ignore SIGTERM/SIGINT: when a
    scheduler signals the whole process group, the trainer saves and then stops them itself.
    """
    if hasattr(stream, "check_layout"):
        stream.check_layout(workers)
    loader = DataLoader(
        stream,
        batch_size=None,  # the stream yields collated batches
        num_workers=workers,
        persistent_workers=workers > 0,
        pin_memory=torch.cuda.is_available() if pin_memory is None else pin_memory,
        prefetch_factor=prefetch if workers > 0 else None,
        generator=torch.Generator().manual_seed(0),
        worker_init_fn=_ignore_stop_signals,
        collate_fn=_as_is,  # batches are collated already (default_convert would walk them)
    )
    if workers > 0:
        _watch_at_exit(loader)
    return loader


def _as_is(batch):
    return batch


def _ignore_stop_signals(worker_id: int) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


_LIVE_LOADERS: weakref.WeakSet[DataLoader] = weakref.WeakSet()


def _watch_at_exit(loader: DataLoader) -> None:
    # Registered (once) after multiprocessing's own exit hook, so it runs first (atexit is LIFO).
    atexit.unregister(_stop_workers_at_exit)
    atexit.register(_stop_workers_at_exit)
    _LIVE_LOADERS.add(loader)


def _stop_workers_at_exit() -> None:
    """Shut down the workers of loaders still alive at interpreter exit (e.g. module globals).

    Workers ignore SIGTERM, so multiprocessing's exit-time ``terminate()`` + ``join()`` would
    wait for them forever; the DataLoader's own shutdown (a sentinel on each index queue) stops
    them instead. ``_iterator``/``_shutdown_workers`` are DataLoader internals: no public API
    shuts down persistent workers.
    """
    for loader in list(_LIVE_LOADERS):
        iterator = getattr(loader, "_iterator", None)
        if iterator is not None and hasattr(iterator, "_shutdown_workers"):
            iterator._shutdown_workers()


def build_loader(
    directory: str | Path,
    split: str,
    builder: ObjectSequences | SaccadeSequences | AugmentedSequences,
    cfg: StreamConfig,
    *,
    workers: int = 0,
    rank: int = 0,
    world_size: int = 1,
    position: LoaderPosition = LoaderPosition(),
) -> tuple[DataLoader, DatasetIndex]:
    index, urls = shard_urls(directory, split)
    expected = "objects" if isinstance(builder, ObjectSequences) else "images"
    if index.kind != expected:
        raise ValueError(
            f"{directory} holds {index.kind} shards; the {type(builder).__name__} builder "
            f"needs {expected} shards"
        )
    if (
        isinstance(builder, SaccadeSequences)
        and builder.use_saliency
        and not index.provenance.get("saliency")
    ):
        raise ValueError(
            f"{directory} was sharded without saliency maps; re-shard with --saliency STORE "
            "or sample fixations uniformly"
        )
    stream = ShardStream(
        urls,
        builder.build,
        builder.collate,
        cfg,
        rank=rank,
        world_size=world_size,
        start_epoch=position.epoch,
        skip_batches=position.step,
    )
    return make_loader(stream, workers), index
