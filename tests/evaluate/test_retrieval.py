"""Predictor retrieval: each query is scored against the right candidate, with the right action."""

from pathlib import Path

import numpy as np
import torch

from seqjepa.datasets.actions import object_actions
from seqjepa.evaluate.features import ObjectViews
from seqjepa.evaluate.loading import EvalModel
from seqjepa.evaluate.retrieval import (
    nearest_neighbours,
    pair_predictor_ranks,
    predictor_ranks,
    retrieval_scores,
)
from seqjepa.model import InputSpec, build_method
from seqjepa.train.config import load_config

TINY = ["model.num_layers=1", "model.predictor_hidden=32", "model.action_embed_dim=16"]


def tiny_model() -> EvalModel:
    torch.manual_seed(0)
    cfg = load_config(None, [*TINY, "data.setting=objects", "data.image_size=32"])
    model = build_method("seqjepa", InputSpec(4, 32, 3), cfg.model).eval()
    return EvalModel(model, cfg, Path("tiny"), "", 0, 4, torch.device("cpu"))


def object_views(views_per_object=(5, 2, 4), dim=512, seed=0) -> ObjectViews:
    rng = np.random.default_rng(seed)
    rows = sum(views_per_object)
    lat = np.concatenate(
        [rng.uniform(-1.5, 1.5, (rows, 3)), rng.uniform(size=(rows, 4))], axis=1
    ).astype(np.float32)
    return ObjectViews(
        z=rng.normal(size=(rows, dim)).astype(np.float32),
        z_target=rng.normal(size=(rows, dim)).astype(np.float32),
        latents=lat,
        obj=np.repeat(np.arange(len(views_per_object)), views_per_object),
        labels=np.zeros(len(views_per_object), np.int64),
        keys=np.array([f"o{i}" for i in range(len(views_per_object))]),
    )


@torch.no_grad()
def predictions(em: EvalModel, views: ObjectViews, o: int, m: int) -> np.ndarray:
    """The predictor's output for every view of object o from its first m views, step by step."""
    rows = np.flatnonzero(views.obj == o)
    lat, model = views.latents[rows], em.model
    context = torch.from_numpy(views.z[rows[:m]])[None]
    ctx = [object_actions(lat[i : i + 2], "rot")[0] for i in range(m - 1)] + [np.zeros(4)]
    emb = model.embed_actions(torch.tensor(np.array(ctx), dtype=torch.float32)[None])
    agg = model.aggregate(context, emb)
    out = []
    for e in range(len(rows)):
        a = object_actions(np.stack([lat[m - 1], lat[e]]), "rot")  # last context view -> e
        out.append(model.predict(agg, model.embed_actions(torch.from_numpy(a)[None]))[0])
    return torch.stack(out).numpy()


def test_ranks_are_one_when_each_candidate_is_its_own_prediction():
    em, views = tiny_model(), object_views()
    for m in (1, 2):
        aligned = ObjectViews(**{**views.__dict__, "z_target": views.z_target.copy()})
        for o in range(len(views.keys)):
            if (views.obj == o).sum() > m:
                aligned.z_target[views.obj == o] = predictions(em, views, o, m)
        rank = predictor_ranks(em, aligned, m)
        assert rank.tolist() == [1] * len(rank)
        assert retrieval_scores(rank) == {"mrr": 1.0, "hit@1": 1.0, "hit@5": 1.0}


def test_ranks_cover_every_view_of_objects_with_unseen_views():
    em, views = tiny_model(), object_views((5, 2, 4))
    for m, expected in ((1, 11), (2, 9), (3, 9), (4, 5), (5, 0)):
        rank = predictor_ranks(em, views, m)
        assert len(rank) == expected  # objects with <= m views have no unseen view: skipped
        assert ((rank >= 1) & (rank <= 5)).all()
    scores = retrieval_scores(predictor_ranks(em, views, 1))
    assert 0 < scores["hit@1"] <= scores["hit@5"] <= 1 and scores["mrr"] <= 1


def test_nearest_neighbours_by_cosine_exclude_the_query():
    x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0], [10.0, 0.5]])
    nn = nearest_neighbours(x, np.array([0, 2]), 2)
    assert nn[0].tolist() == [4, 1]  # cosine ignores the norm of row 4
    assert nn[1].tolist() == [1, 4]


def test_pair_predictor_ranks_follow_sies_protocol_in_the_methods_own_space():
    """SIE baseline: source = first stored view; prediction W(a_{0→e})·equi(z_0) is ranked
    against the equivariant projections of all the object's views (their target features)."""
    torch.manual_seed(0)
    overrides = ["method=sie", "model.projector=[32,16]", "data.setting=objects"]
    cfg = load_config(None, [*overrides, "data.seq_len=1", "data.image_size=32"])
    model = build_method("sie", InputSpec(4, 32, 2), cfg.model).eval()
    em = EvalModel(model, cfg, Path("tiny"), "", 0, 4, torch.device("cpu"))
    views = object_views((5, 1, 4))
    rank = pair_predictor_ranks(em, views)
    assert len(rank) == 9  # the one-view object has nothing to retrieve
    expected = []
    with torch.no_grad():
        for o in (0, 2):
            rows = np.flatnonzero(views.obj == o)
            lat = views.latents[rows]
            cand = model.equi_projector(torch.from_numpy(views.z_target[rows][:, 256:]))
            cand = torch.nn.functional.normalize(cand, dim=-1)
            for e in range(len(rows)):
                a = torch.from_numpy(object_actions(np.stack([lat[0], lat[e]]), "rot"))  # (1, 4)
                z0 = torch.from_numpy(views.z[rows[:1]])
                pred = model.predictor(model.equi_projector(z0[:, 256:]), a)
                sims = (torch.nn.functional.normalize(pred, dim=-1) @ cand.T)[0]
                expected.append(int((sims >= sims[e]).sum()))  # ties count against the query
    assert rank.tolist() == expected
