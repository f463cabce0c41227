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


def _object_ranks(views: ObjectViews, min_views: int, scores) -> np.ndarray:
    """1-based ranks of each object's views among its own, from ``scores(rows)`` (k × k)."""
    out = []
    for o in range(len(views.keys)):
        rows = np.flatnonzero(views.obj == o)
        if len(rows) >= min_views:
            out.append(metrics.ranks(scores(rows), np.arange(len(rows))))
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def _actions_from(em: EvalModel, lat: np.ndarray, source: int) -> torch.Tensor:
    """Relative actions from stored view ``source`` to every stored view (k, A)."""
    pairs = np.stack([np.broadcast_to(lat[source], lat.shape), lat], 1)
    actions = object_actions(pairs, em.cfg.data.action, em.cfg.data.conventions)[:, 0]
    return torch.from_numpy(actions).to(em.device)


def _cosines(pred: torch.Tensor, cand: torch.Tensor) -> np.ndarray:
    return (F.normalize(pred, dim=-1) @ F.normalize(cand, dim=-1).T).cpu().numpy()


@torch.no_grad()
def predictor_ranks(em: EvalModel, views: ObjectViews, m: int) -> np.ndarray:
    """Ranks of every (object, view) query with an M-view context; objects with ≤ M views are
    skipped (no view would be left unseen)."""
    model, device = em.model, em.device
    action, conventions = em.cfg.data.action, em.cfg.data.conventions

    def scores(rows: np.ndarray) -> np.ndarray:
        lat = views.latents[rows]
        context = torch.from_numpy(views.z[rows[:m]]).to(device)[None]
        # Consecutive context actions, then a placeholder for the last token (zeroed inside).
        ctx_actions = np.concatenate(
            [object_actions(lat[:m], action, conventions), np.zeros((1, em.action_dim), np.float32)]
        )
        ctx_emb = model.embed_actions(torch.from_numpy(ctx_actions).to(device)[None])
        agg = model.aggregate(context, ctx_emb)
        to_each = model.embed_actions(_actions_from(em, lat, m - 1)[:, None])
        pred = model.predict(agg.expand(len(rows), -1), to_each)
        return _cosines(pred, torch.from_numpy(views.z_target[rows]).to(device))

    return _object_ranks(views, m + 1, scores)


@torch.no_grad()
def pair_predictor_ranks(em: EvalModel, views: ObjectViews) -> np.ndarray:
    """SIE's protocol itself, for two-view baselines with a predictor: from the first stored
    view and the action to view e, predict view e's embedding and rank it among the embeddings
    of all the object's views."""
    model, device = em.model, em.device

    def scores(rows: np.ndarray) -> np.ndarray:
        source = torch.from_numpy(views.z[rows[:1]]).to(device).expand(len(rows), -1)
        pred = model.predict_view(source, _actions_from(em, views.latents[rows], 0))
        cand = model.candidate_embeddings(torch.from_numpy(views.z_target[rows]).to(device))
        return _cosines(pred, cand)

    return _object_ranks(views, 2, scores)


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
