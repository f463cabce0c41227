"""Streaming shards into training: an IterableDataset of collated batches.

Per worker: the shard list (shuffled per epoch, split by node and by worker, or resampled with
replacement for fixed-length DDP epochs) → the tar reader (:mod:`.shards`, WebDataset's sample
grouping without ``tarfile``'s per-member cost) → a shuffle buffer → raw
samples skipped on resume → the sequence builder → batches. Every random choice is seeded by
(seed, epoch, rank, worker) — never by the worker id alone, as the authors' loader does, which
replays the same stream every epoch. The epoch advances each time a (persistent) worker starts a
new pass. Damaged shards or members are skipped with a warning and counted in each batch's
``"corrupt"`` field, so a multi-day run never dies on one bad file.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch.utils.data import IterableDataset, get_worker_info

from .shards import stream_samples


@dataclass(frozen=True)
class StreamConfig:
    batch_size: int
    seed: int = 0
    shuffle_buffer: int = 2000
    shuffle_initial: int = 500
    resampled: bool = False  # shards drawn with replacement; requires batches_per_epoch
    batches_per_epoch: int | None = None  # per rank; None = one pass over this rank's shards
    drop_last: bool = True
    shuffle: bool = True  # False for evaluation: shards and samples in stored order


class ShardStream(IterableDataset):
    def __init__(
        self,
        urls: list[str],
        build: Callable[[dict, int], dict],
        collate: Callable[[list[dict]], dict],
        cfg: StreamConfig,
        *,
        rank: int = 0,
        world_size: int = 1,
        start_epoch: int = 0,
        skip_batches: int = 0,
    ) -> None:
        if cfg.resampled and not cfg.batches_per_epoch:
            raise ValueError("a resampled stream needs batches_per_epoch (its epoch length)")
        if not urls:
            raise ValueError("no shards to stream")
        self.urls = list(urls)
        self.build = build
        self.collate = collate
        self.cfg = cfg
        self.rank = rank
        self.world_size = world_size
        self.start_epoch = start_epoch
        self.skip_batches = skip_batches
        self._passes = 0

    def __len__(self) -> int:
        if self.cfg.batches_per_epoch is None:
            raise TypeError("the number of batches of a one-pass stream is not known in advance")
        return self.cfg.batches_per_epoch

    def check_layout(self, num_workers: int) -> None:
        """Refuse layouts where some rank or worker would get no shard (a DDP hang)."""
        consumers = self.world_size * max(1, num_workers)
        if not self.cfg.resampled and len(self.urls) < consumers:
            raise ValueError(
                f"{len(self.urls)} shards cannot feed {self.world_size} rank(s) x "
                f"{max(1, num_workers)} worker(s); re-shard with more shards "
                "(seqjepa-prep shard --shard-size) or use a resampled stream"
            )

    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        epoch = self.start_epoch + self._passes
        skip = self.skip_batches if self._passes == 0 else 0
        self._passes += 1
        rng = random.Random(hash((self.cfg.seed, epoch, self.rank, worker)))
        # Batches of this worker: the DataLoader takes batch i from worker i % workers.
        quota = None
        if self.cfg.batches_per_epoch is not None:
            quota = len(range(worker, self.cfg.batches_per_epoch, workers))
        skip_mine = len(range(worker, skip, workers))
        yield from self._batches(
            self._samples(epoch, worker, workers, rng), epoch, quota, skip_mine
        )

    def _shards(self, epoch: int, worker: int, workers: int, rng: random.Random) -> Iterator[str]:
        if self.cfg.resampled:
            while True:
                yield rng.choice(self.urls)
        urls = list(self.urls)
        if self.cfg.shuffle:
            random.Random(hash((self.cfg.seed, epoch))).shuffle(urls)  # same order on every rank
        yield from urls[self.rank :: self.world_size][worker::workers]

    def _samples(self, epoch, worker, workers, rng) -> Iterator[dict]:
        self.corrupt = 0
        samples = stream_samples(self._shards(epoch, worker, workers, rng), self._on_error)
        if not self.cfg.shuffle:
            yield from samples
            return
        buffer: list[dict] = []
        for sample in samples:
            buffer.append(sample)
            # Start emitting after `initial` samples, then let the buffer grow to its size.
            full = len(buffer) >= self.cfg.shuffle_buffer
            if full or (len(buffer) >= self.cfg.shuffle_initial and rng.random() < 0.5):
                yield buffer.pop(rng.randrange(len(buffer)))
        rng.shuffle(buffer)
        yield from buffer

    def _on_error(self, exc: Exception) -> bool:
        self.corrupt += 1
        warnings.warn(f"skipping damaged shard data: {exc!r}", stacklevel=2)
        return True

    def _batches(self, samples, epoch: int, quota: int | None, skip: int) -> Iterator[dict]:
        bs = self.cfg.batch_size
        remaining = None if quota is None else quota - skip
        if remaining is not None and remaining <= 0:
            return
        to_skip, items = skip * bs, []
        for sample in samples:
            if to_skip:  # resume: drop raw samples before any decoding
                to_skip -= 1
                continue
            try:
                items.append(self.build(sample, epoch))
            except Exception as exc:  # a member that fails to decode is skipped, not fatal
                self._on_error(ValueError(f"{sample.get('__key__')}: {exc}"))
                continue
            if len(items) == bs:
                yield self._emit(items, epoch)
                items = []
                if remaining is not None:
                    remaining -= 1
                    if remaining == 0:
                        return
        if items and not self.cfg.drop_last:
            yield self._emit(items, epoch)

    def _emit(self, items: list[dict], epoch: int) -> dict:
        batch = self.collate(items)
        batch["corrupt"] = torch.tensor(self.corrupt)
        batch["epoch"] = torch.tensor(epoch)
        return batch
