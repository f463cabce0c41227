"""Frozen-feature extraction (the model in eval mode; cached by :mod:`.cache`).

Evaluation sequences are seeded: pass e runs the setting's sequence builder with
``fixed_epoch=e`` over the shards in stored order, so every run with the same seed reads the
same views, fixations or augmentations.

One pass reads sequences of ``max(M_val) + 1`` views and, for every M in the sweep, aggregates
the *first* M views: the sweep compares nested prefixes of the same sequence, so differences
between M values are not sampling noise. Per sequence it keeps the encoder outputs of views 1
and 2 (pairs for the equivariance heads), the single-view representation z_res, z_AGG for each
M (plus its two path-integration ablations: action embeddings zeroed, visual inputs zeroed), the
embedding of a_M, the cosine between the predictor's output and the target encoding of view
M+1 (the held-out training objective), the per-view parameters, labels and sample ids.
Baselines have no aggregator: their sweep is empty (K = 0) and two views are read per sample.
``passes`` > 1 repeats the whole split with the next epochs' seeds, so each sample contributes
that many different sequences (other views, augmentations or fixations); ``draw`` records which
pass each row came from, so a head can train on draw ``e mod passes`` in its epoch ``e`` (fresh
sequences every epoch, as the paper's loaders draw them).

For the predictor retrieval metrics (MRR/Hit@k) :func:`extract_object_views` encodes *every*
stored view of each object with the online and the target encoder.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from seqjepa.datasets import schema
from seqjepa.datasets.decode import decode_rgb
from seqjepa.datasets.loader import build_loader
from seqjepa.datasets.normalization import normalization_for
from seqjepa.datasets.shards import iter_shard
from seqjepa.datasets.stream import StreamConfig
from seqjepa.train.data import make_builder

from .loading import EvalError, EvalModel, open_split

THUMB_SIDE = 64
SACCADE_EXAMPLES = 8


@dataclass
class SequenceFeatures:
    m_vals: np.ndarray  # (K,) the M sweep
    z_pair: np.ndarray  # (N, 2, D) online encoder, views 1 and 2
    z_res: np.ndarray  # (N, D) single-view representation (augment: the clean image)
    agg: np.ndarray  # (N, K, A) z_AGG of the first M views
    agg_no_actions: np.ndarray  # (N, K, A) action embeddings zeroed
    agg_no_visual: np.ndarray  # (N, K, A) encoder outputs zeroed
    action_emb: np.ndarray  # (N, K, a) e(a_M); a = 0 for unconditioned models
    pred_cos: np.ndarray  # (N, K) cos(predictor output, target encoding of view M+1)
    params: np.ndarray  # (N, V, P) per-view parameters
    labels: np.ndarray  # (N,)
    keys: np.ndarray  # (N,) sample ids
    draw: np.ndarray  # (N,) the pass (0 .. passes−1) each row was drawn in
    thumbs: np.ndarray  # (T, 3, t, t) uint8 view 1 of the first T sequences
    images: np.ndarray  # saccades: (S, 3, H, W) uint8 full images of the first S sequences
    saliency: np.ndarray  # saccades: (S, h, w) log-density maps (empty without saliency)

    def m_index(self, m: int) -> int:
        return int(np.flatnonzero(self.m_vals == m)[0])


class _Normalise:
    def __init__(self, dataset: str, device: torch.device) -> None:
        mean, std = normalization_for(dataset)
        self.mean = torch.tensor(mean, device=device).view(3, 1, 1)
        self.std = torch.tensor(std, device=device).view(3, 1, 1)

    def __call__(self, uint8: torch.Tensor) -> torch.Tensor:
        return (uint8.float() / 255 - self.mean) / self.std


def _thumbnails(views: torch.Tensor) -> torch.Tensor:
    side = views.shape[-1]
    if side <= THUMB_SIDE:
        return views.cpu()
    small = F.interpolate(views.float(), size=THUMB_SIDE, mode="bilinear", antialias=True)
    return small.round().clamp(0, 255).to(torch.uint8).cpu()


@torch.no_grad()
def extract_sequences(
    em: EvalModel,
    shards: str | Path,
    split: str,
    m_vals: list[int],
    *,
    seed: int = 0,
    batch_size: int = 64,
    workers: int = 0,
    passes: int = 1,
    thumbs: int = 2000,
    progress=None,
) -> SequenceFeatures:
    """Encode every fixed evaluation sequence of ``split`` (see the module docstring);
    ``passes`` > 1 draws that many seeded sequences per sample (epochs 0, 1, ...)."""
    cfg, model, device = em.cfg, em.model, em.device
    setting = cfg.data.setting
    sequence = model.sequence_model
    views_read = max(m_vals, default=1) + 1  # baselines (no M sweep): the first two views
    stream = StreamConfig(batch_size, shuffle=False, drop_last=False)
    parts: dict[str, list] = {f.name: [] for f in dataclasses.fields(SequenceFeatures)}
    keys: list[str] = []
    norm = None
    for epoch in range(passes):  # pass e draws every sample's sequence from epoch e's seeds
        builder = make_builder(cfg.data, views_read, seed, on_device=True, fixed_epoch=epoch)
        loader, index = build_loader(shards, split, builder, stream, workers=workers)
        norm = norm or _Normalise(index.dataset, device)
        for batch in loader:
            seen = len(keys)
            clean = batch.get("images")  # augment and saccades: the unaugmented image
            if setting == "saccades" and seen < SACCADE_EXAMPLES:
                parts["images"].append(clean[: SACCADE_EXAMPLES - seen])
                if "sal" in batch:
                    parts["saliency"].append(batch["sal"][: SACCADE_EXAMPLES - seen].float())
            if "views" not in batch:
                batch = builder.views_on(batch, device)
            views = batch["views"].to(device)
            b, v = views.shape[:2]
            z = model.encode(norm(views.flatten(0, 1))).view(b, v, -1)
            if setting == "augment":
                full = F.interpolate(
                    clean.to(device).float(),
                    size=cfg.data.image_size,
                    mode="bilinear",
                    antialias=True,
                )
                parts["z_res"].append(model.encode(norm(full.round().clamp(0, 255))).cpu())
            else:
                parts["z_res"].append(z[:, 0].cpu())
            if sequence:
                emb = model.embed_actions(batch["actions"].to(device).float())
                for name, value in _per_m(model, views, z, emb, m_vals, norm).items():
                    parts[name].append(value.cpu())
            parts["z_pair"].append(z[:, :2].cpu())
            parts["params"].append(batch["params"].float().cpu())
            parts["labels"].append(batch["label"].long().cpu())
            if seen < thumbs:
                parts["thumbs"].append(_thumbnails(views[: thumbs - seen, 0]))
            keys.extend(batch["key"])
            parts["draw"].append(torch.full((b,), epoch, dtype=torch.int64))
            if progress is not None:
                progress(b)
    if not keys:
        raise EvalError(f"split {split!r} of {shards} yielded no sequences")
    arrays = {name: torch.cat(p).numpy() for name, p in parts.items() if p}
    n = len(keys)
    for name in ("agg", "agg_no_actions", "agg_no_visual", "action_emb"):
        arrays.setdefault(name, np.zeros((n, 0, 0), np.float32))  # no aggregator: K = 0
    arrays.setdefault("pred_cos", np.zeros((n, 0), np.float32))
    arrays.setdefault("images", np.zeros((0, 3, 0, 0), np.uint8))
    arrays.setdefault("saliency", np.zeros((0, 0, 0), np.float32))
    return SequenceFeatures(
        **arrays, m_vals=np.asarray(m_vals, dtype=np.int64), keys=np.asarray(keys, dtype=str)
    )


def _per_m(model, views, z, emb, m_vals, norm) -> dict[str, torch.Tensor]:
    """z_AGG, its ablations, e(a_M) and the prediction cosine for each M: (B, K, ...)."""
    out = {k: [] for k in ("agg", "agg_no_actions", "agg_no_visual", "action_emb", "pred_cos")}
    for m in m_vals:
        z_m = z[:, :m]
        e_m = emb[:, :m] if emb is not None else None
        no_actions = torch.zeros_like(e_m) if e_m is not None else None
        agg = model.aggregate(z_m, e_m)
        out["agg"].append(agg)
        out["agg_no_actions"].append(model.aggregate(z_m, no_actions))
        out["agg_no_visual"].append(model.aggregate(torch.zeros_like(z_m), e_m))
        out["action_emb"].append(e_m[:, -1] if e_m is not None else z.new_zeros(len(z), 0))
        target = model.target_features(norm(views[:, m]))
        pred = model.predict(agg, e_m)
        out["pred_cos"].append(F.cosine_similarity(pred, target, dim=-1))
    return {name: torch.stack(values, 1) for name, values in out.items()}


# ---------------------------------------------------------------------------- all views


@dataclass
class ObjectViews:
    z: np.ndarray  # (R, D) online encoder, one row per stored view
    z_target: np.ndarray  # (R, D) target encoder (the predictor's targets)
    latents: np.ndarray  # (R, 7)
    obj: np.ndarray  # (R,) object index of each row
    labels: np.ndarray  # (O,)
    keys: np.ndarray  # (O,)


def _samples(shards, index, split):
    for path in index.shard_paths(shards, split):
        yield from iter_shard(path)


@torch.no_grad()
def extract_object_views(
    em: EvalModel,
    shards: str | Path,
    split: str,
    *,
    batch_size: int = 64,
    max_objects: int | None = None,
    progress=None,
) -> ObjectViews:
    """Encode all stored views of each object of ``split`` (in stored order)."""
    index = open_split(shards, split, "objects")
    norm = _Normalise(index.dataset, em.device)
    size = em.cfg.data.image_size
    z, zt, latents, obj, labels, keys = [], [], [], [], [], []
    pending: list[np.ndarray] = []

    def flush() -> None:
        x = norm(torch.from_numpy(np.stack(pending)).permute(0, 3, 1, 2).to(em.device))
        z.append(em.model.encode(x).cpu())
        zt.append(em.model.target_features(x).cpu())
        pending.clear()

    for sid, members in itertools.islice(_samples(shards, index, split), max_objects):
        lat = schema.decode_npy(members[schema.LATENTS]).astype(np.float32)
        encoded = schema.object_views(members, range(len(lat)))
        stored = min(Image.open(io.BytesIO(encoded[0])).size)
        for view in encoded:
            pending.append(decode_rgb(view, size, stored))
            if len(pending) >= batch_size:
                flush()
        latents.append(lat)
        obj.append(np.full(len(lat), len(keys)))
        labels.append(int(members[schema.CLS]) if schema.CLS in members else -1)
        keys.append(sid)
        if progress is not None:
            progress(1)
    if pending:
        flush()
    if not keys:
        raise EvalError(f"split {split!r} of {shards} holds no objects")
    return ObjectViews(
        z=torch.cat(z).numpy(),
        z_target=torch.cat(zt).numpy(),
        latents=np.concatenate(latents),
        obj=np.concatenate(obj).astype(np.int64),
        labels=np.asarray(labels, dtype=np.int64),
        keys=np.asarray(keys, dtype=str),
    )
