"""Predictor retrieval (MRR, Hit@k) and nearest-neighbour search.

MRR/Hit@k follow SIE's protocol (``eval_MRR_Hk.py``) adapted to seq-JEPA's aggregate +
predictor, as the paper does not say how it adapted it (reference notes §5.4). For every object
and every stored view e: the context is z_AGG of the object's first M stored views (for M = 1
view 0 alone, its token's action part zero); the prediction is h(z_AGG, e(a)) with a the
relative action from the last context view to view e (in the model's own action type and
conventions); it is L2-normalised and scored by dot product against the L2-normalised
target-encoder outputs of *all* stored views of the same object. The rank of view e is 1-based,
the context views themselves count as queries and candidates (SIE includes e = 0, the identity
action), and ties count against the query. MRR = mean 1/rank; Hit@k = fraction with rank ≤ k.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from seqjepa.datasets.actions import object_actions

from . import metrics
from .features import ObjectViews
from .loading import EvalModel

HIT_KS = (1, 5)


@torch.no_grad()
def predictor_ranks(em: EvalModel, views: ObjectViews, m: int) -> np.ndarray:
    """Ranks of every (object, view) query with an M-view context; objects with ≤ M views are
    skipped (no view would be left unseen)."""
    model, device = em.model, em.device
    action, conventions = em.cfg.data.action, em.cfg.data.conventions
    out = []
    for o in range(len(views.keys)):
        rows = np.flatnonzero(views.obj == o)
        if len(rows) <= m:
            continue
        lat = views.latents[rows]
        k = len(rows)
        context = torch.from_numpy(views.z[rows[:m]]).to(device)[None]
        # Consecutive context actions, then a placeholder for the last token (zeroed inside).
        ctx_actions = np.concatenate(
            [object_actions(lat[:m], action, conventions), np.zeros((1, em.action_dim), np.float32)]
        )
        ctx_emb = model.embed_actions(torch.from_numpy(ctx_actions).to(device)[None])
        agg = model.aggregate(context, ctx_emb)
        pairs = np.stack([np.broadcast_to(lat[m - 1], lat.shape), lat], 1)
        to_each = torch.from_numpy(object_actions(pairs, action, conventions)).to(device)
        pred = model.predict(agg.expand(k, -1), model.embed_actions(to_each))
        cand = torch.from_numpy(views.z_target[rows]).to(device)
        scores = F.normalize(pred, dim=-1) @ F.normalize(cand, dim=-1).T
        out.append(metrics.ranks(scores.cpu().numpy(), np.arange(k)))
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def retrieval_scores(rank: np.ndarray) -> dict[str, float]:
    scores = {"mrr": metrics.mean_reciprocal_rank(rank)}
    scores.update({f"hit@{k}": metrics.hit_at(rank, k) for k in HIT_KS})
    return scores


def nearest_neighbours(x: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Indices (Q, k) of the ``k`` rows of ``x`` with the highest cosine similarity to each query
    row ``x[queries]``, the query itself excluded."""
    xn = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    sims = xn[queries] @ xn.T
    sims[np.arange(len(queries)), queries] = -np.inf
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]
