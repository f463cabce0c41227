"""Sequence builders: one shard sample → one view-action sequence, and a batch collator.

Each builder has ``build(sample, epoch)``, run per sample in the loader workers (decode, draw
the per-sample random numbers), and ``collate(items)``, which does the per-batch work with
vectorised numpy/torch (actions, fixations, patches). Random numbers come from a stream keyed
by (seed, epoch, sample id), so a sequence does not depend on the worker layout; with
``fixed_epoch`` set (evaluation) every pass yields the same sequences.

Batches hold ``views`` uint8 (B, M+1, 3, H, W) (object views laid out channels-last in
memory, as decoded), ``params`` (B, M+1, P) per-view parameters, ``actions`` float32 (B, M, A)
relative actions, ``label`` (B,), ``key`` (sample ids).
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch.utils.data import get_worker_info

from . import augment, schema
from .actions import OBJECT_ACTIONS, Conventions, object_actions
from .decode import decode_rgb
from .fixations import IoR, cut_patches, sample_fixations, to_image_pixels

_TORCH_DTYPES = {
    np.uint8: torch.uint8,
    np.float16: torch.float16,
    np.float32: torch.float32,
    np.float64: torch.float64,
    np.int64: torch.int64,
}


# Per-sample random numbers: a 64-bit key hashed from (seed, epoch, sample id), and the
# SplitMix64 counter stream of that key (Java's SplittableRandom: x_i = key + i·γ, mixed). A
# numpy Generator per sample cost ~50 µs to build; keys cost ~2 µs, and a whole batch's
# uniforms are one vectorised computation in collate.
_MASK = (1 << 64) - 1
_GAMMA, _MIX1, _MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def sample_key(seed: int, epoch: int, sid: str) -> int:
    digest = hashlib.blake2b(f"{seed}:{epoch}:{sid}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def sample_uniforms(keys, n: int) -> np.ndarray:
    """(len(keys), n) float64 uniforms in [0, 1): the first n draws of each key's stream."""
    u64 = np.uint64
    z = np.asarray(keys, dtype=u64)[:, None] + u64(_GAMMA) * np.arange(1, n + 1, dtype=u64)
    z = (z ^ (z >> u64(30))) * u64(_MIX1)
    z = (z ^ (z >> u64(27))) * u64(_MIX2)
    z ^= z >> u64(31)
    return (z >> u64(11)) * 2.0**-53


def sample_uniform(key: int, i: int) -> float:
    """Draw ``i`` of ``key``'s stream (``sample_uniforms(keys, n)[:, i]``) in pure Python."""
    z = (key + (i + 1) * _GAMMA) & _MASK
    z = ((z ^ (z >> 30)) * _MIX1) & _MASK
    z = ((z ^ (z >> 27)) * _MIX2) & _MASK
    return ((z ^ (z >> 31)) >> 11) * 2.0**-53


def _identify(sample: dict, seed: int, fixed_epoch: int | None, epoch: int):
    """The sample's id and random key, from (seed, epoch or the fixed epoch, id)."""
    sid = schema.id_from_key(sample["__key__"])
    return sid, sample_key(seed, epoch if fixed_epoch is None else fixed_epoch, sid)


def _choose(key: int, population: int, k: int) -> list[int]:
    """``k`` distinct indices of ``range(population)`` in random order (draws 0..k-1)."""
    left = list(range(population))
    return [
        left.pop(min(int(sample_uniform(key, j) * (population - j)), population - j - 1))
        for j in range(k)
    ]


def _uniforms(items: list[dict], n: int) -> np.ndarray:
    return sample_uniforms([it["random"] for it in items], n)


def _image(sample: dict, size: int | None = None) -> np.ndarray:
    ext = next(e for e in schema.IMAGE_EXTS if e in sample)
    return decode_rgb(sample[ext], size)


def _batch_tensor(shape: tuple[int, ...], dtype: torch.dtype, shared: bool = True) -> torch.Tensor:
    """An empty tensor; in a DataLoader worker and when ``shared``, in shared memory (as
    ``default_collate`` does), so handing the batch to the main process does not copy it once
    more. Tensors the worker consumes itself (images rendered into views there) pass
    ``shared=False``: shared memory costs more to allocate and would never be handed over."""
    if not shared or get_worker_info() is None:
        return torch.empty(shape, dtype=dtype)
    storage = torch.empty(0, dtype=dtype)._typed_storage()._new_shared(math.prod(shape))
    return torch.empty(0, dtype=dtype).new(storage).view(shape)


def _stack(items: list[dict], key: str, shared: bool = True) -> torch.Tensor:
    arrays = [it[key] for it in items]
    dtype = _TORCH_DTYPES.get(arrays[0].dtype.type)
    if dtype is None:
        return torch.from_numpy(np.stack(arrays))
    out = _batch_tensor((len(arrays), *arrays[0].shape), dtype, shared)
    np.stack(arrays, out=out.numpy())
    return out


def _labels_and_keys(items: list[dict]) -> dict:
    return {
        "label": torch.tensor([it["label"] for it in items]),
        "key": [it["key"] for it in items],
    }


def _label(sample: dict) -> int:
    return int(sample[schema.CLS]) if schema.CLS in sample else -1


def _stack_views(items: list[dict]) -> torch.Tensor:
    """B lists of V (H, W, 3) uint8 arrays → (B, V, 3, H, W) torch laid out channels-last.

    One plain copy of the decoded pixels (transposing to channels-first cost twice as much);
    the model's convolutions take channels-last input as it is (a GPU prefers it).
    """
    views = [view for it in items for view in it["views"]]
    h, w, c = views[0].shape
    out = _batch_tensor((len(items), len(items[0]["views"]), h, w, c), torch.uint8)
    np.stack(views, out=out.numpy().reshape(-1, h, w, c))
    return out.permute(0, 1, 4, 2, 3)


@dataclass
class ObjectSequences:
    """M+1 distinct views of one object; actions from the views' latents (DESIGN.md §2.3)."""

    num_views: int
    image_size: int = 128
    action: str = "rot"
    conventions: Conventions = "canonical"
    seed: int = 0
    fixed_epoch: int | None = None

    def __post_init__(self) -> None:
        if self.action not in OBJECT_ACTIONS:
            raise ValueError(f"object action must be one of {', '.join(OBJECT_ACTIONS)}")
        self._stored: int | None = None

    @property
    def action_dim(self) -> int:
        return OBJECT_ACTIONS[self.action]

    def build(self, sample: dict, epoch: int) -> dict:
        sid, key = _identify(sample, self.seed, self.fixed_epoch, epoch)
        latents = schema.decode_npy(sample[schema.LATENTS])
        if len(latents) < self.num_views:
            raise ValueError(f"{sid} has {len(latents)} views, {self.num_views} are needed")
        chosen = _choose(key, len(latents), self.num_views)
        encoded = schema.object_views(sample, chosen)  # only the M+1 views this sequence uses
        if self._stored is None:
            self._stored = min(Image.open(io.BytesIO(encoded[0])).size)
        return {
            "views": [decode_rgb(v, self.image_size, self._stored) for v in encoded],
            "params": latents[chosen],
            "label": _label(sample),
            "key": sid,
        }

    def collate(self, items: list[dict]) -> dict:
        params = np.stack([it["params"] for it in items])
        return {
            "views": _stack_views(items),
            "params": torch.from_numpy(params.astype(np.float32)),
            "actions": torch.from_numpy(object_actions(params, self.action, self.conventions)),
            **_labels_and_keys(items),
        }


@dataclass
class SaccadeSequences:
    """M+1 foveal patches at fixations sampled from the saliency map with IoR.

    ``on_device=True`` leaves fixation sampling and patch cutting to :meth:`views_on`, so the
    trainer can run them for the whole batch on its GPU.
    """

    num_views: int
    patch_size: int = 32
    ior: IoR = "disk"
    ior_radius: float = 16.0
    use_saliency: bool = True
    image_size: int | None = None  # square-resize images (and maps) to this side if given
    seed: int = 0
    fixed_epoch: int | None = None
    on_device: bool = False

    action_dim = 2

    def build(self, sample: dict, epoch: int) -> dict:
        sid, key = _identify(sample, self.seed, self.fixed_epoch, epoch)
        image = _image(sample, self.image_size)
        sal = None
        if self.use_saliency:
            if schema.SALIENCY not in sample:
                raise ValueError(f"{sid} has no saliency map (shard with --saliency)")
            sal = schema.decode_npy(sample[schema.SALIENCY])  # float16 as stored: half the bytes
        return {
            "image": image,
            "sal": sal,
            "random": key,
            "label": _label(sample),
            "key": sid,
        }

    def collate(self, items: list[dict]) -> dict:
        batch = {
            # Shared memory only if handed to the main process (views made on the device).
            "images": _stack(items, "image", self.on_device).permute(0, 3, 1, 2),
            "uniforms": torch.from_numpy(_uniforms(items, self.num_views)),
            **_labels_and_keys(items),
        }
        if self.use_saliency:
            batch["sal"] = _stack(items, "sal", self.on_device)
        return batch if self.on_device else self.views_on(batch)

    def views_on(self, batch: dict, device: torch.device | str = "cpu") -> dict:
        """Sample fixations, cut patches and form actions for a whole batch on ``device``."""
        images = batch.pop("images").to(device, non_blocking=True)
        uniforms = batch.pop("uniforms").to(device, non_blocking=True)
        sal = batch.pop("sal", None)
        image_hw = tuple(images.shape[-2:])
        if sal is not None:
            sal = sal.to(device, non_blocking=True).float()
            if self.image_size and sal.shape[-2:] != image_hw:
                sal = torch.nn.functional.interpolate(sal[:, None], size=image_hw, mode="bilinear")[
                    :, 0
                ]
        map_hw = tuple(sal.shape[-2:]) if sal is not None else image_hw
        radius = self.ior_radius * map_hw[0] / image_hw[0]
        fix = sample_fixations(sal, uniforms, ior=self.ior, radius=radius, shape=map_hw)
        centres = to_image_pixels(fix, map_hw, image_hw)
        positions = centres.to(torch.float32) / torch.tensor(image_hw, device=device)
        batch["views"] = cut_patches(images, centres, self.patch_size)
        batch["params"] = positions
        batch["actions"] = positions[:, 1:] - positions[:, :-1]
        return batch


@dataclass
class AugmentedSequences:
    """M+1 augmented views of one image (EquiMod protocol); actions = parameter differences.

    ``action``: ``all``, ``crop``, ``jitter``, ``blur`` or a ``+`` combination; ``paper_norm``
    applies the authors' across-view L2 normalisation before differencing.
    """

    num_views: int
    image_size: int = 32
    action: str = "all"
    paper_norm: bool = False
    seed: int = 0
    fixed_epoch: int | None = None
    on_device: bool = False

    def __post_init__(self) -> None:
        self.columns = augment.action_columns(self.action)

    @property
    def action_dim(self) -> int:
        return len(self.columns)

    def build(self, sample: dict, epoch: int) -> dict:
        sid, key = _identify(sample, self.seed, self.fixed_epoch, epoch)
        return {
            "image": _image(sample),
            "random": key,  # the batch's parameters are computed in collate
            "label": _label(sample),
            "key": sid,
        }

    def collate(self, items: list[dict]) -> dict:
        images = _stack(items, "image", self.on_device)  # shared only if handed over as is
        u = _uniforms(items, self.num_views * augment.UNIFORMS)
        params, order = augment.params_from_uniforms(
            u.reshape(len(items), self.num_views, augment.UNIFORMS), min(images.shape[1:3])
        )
        batch = {
            "images": images.permute(0, 3, 1, 2),
            "params": torch.from_numpy(params),
            "order": torch.from_numpy(order),
            **_labels_and_keys(items),
        }
        return batch if self.on_device else self.views_on(batch)

    def views_on(self, batch: dict, device: torch.device | str = "cpu") -> dict:
        """Render every view of the batch from its recorded parameters on ``device``."""
        images = batch.pop("images").to(device, non_blocking=True)
        params = batch["params"] = batch["params"].to(device, non_blocking=True)
        order = batch["order"].to(device, non_blocking=True)
        b, v = params.shape[:2]
        views = augment.apply(
            images,
            params.flatten(0, 1),
            order.flatten(0, 1),
            self.image_size,
            image_index=torch.arange(b, device=images.device).repeat_interleave(v),
        )
        batch["views"] = views.view(b, v, *views.shape[1:])
        batch["actions"] = augment.relative_actions(params, self.columns, self.paper_norm)
        return batch
