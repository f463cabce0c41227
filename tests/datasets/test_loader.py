import warnings

import numpy as np
import pytest
import torch

from seqjepa.datasets import shards
from seqjepa.datasets.actions import object_actions
from seqjepa.datasets.loader import LoaderPosition, build_loader
from seqjepa.datasets.sequences import ObjectSequences, SaccadeSequences
from seqjepa.datasets.stream import StreamConfig

pytestmark = pytest.mark.timeout(300)


def objects(num_views=4, **kw):
    return ObjectSequences(num_views=num_views, image_size=32, seed=7, **kw)


def batches(directory, builder, workers=0, split=None, **kw):
    cfg = StreamConfig(
        **{"batch_size": 2, "shuffle_initial": 2, "shuffle_buffer": 4, **kw.pop("cfg", {})}
    )
    split = split or ("all" if isinstance(builder, ObjectSequences) else "train")
    loader, _ = build_loader(directory, split, builder, cfg, workers=workers, **kw)
    return list(loader)


def by_key(batch_list, field="views"):
    return {k: batch[field][i] for batch in batch_list for i, k in enumerate(batch["key"])}


@pytest.mark.parametrize("view_bytes", [shards.VIEW_BYTES, 1])  # 1: members as mapped views
def test_object_batches_views_match_their_latents(object_shards, monkeypatch, view_bytes):
    monkeypatch.setattr(shards, "VIEW_BYTES", view_bytes)
    out = batches(object_shards, objects(4))
    assert out and all(
        b["views"].shape == (2, 4, 3, 32, 32) and b["views"].dtype == torch.uint8 for b in out
    )
    for b in out:
        np.testing.assert_allclose(
            b["actions"].numpy(),
            object_actions(b["params"].numpy().astype(np.float64), "rot"),
            atol=1e-6,
        )
        assert b["actions"].shape == (2, 3, 4) and (b["actions"][..., 3] >= 0).all()
        view_ids = np.round(b["params"][..., 0].numpy() / 0.1)  # latent rot_x = 0.1 k
        intensity = b["views"].float().mean(dim=(2, 3, 4)).numpy()  # image k = 20 k (+ synset)
        np.testing.assert_allclose(intensity, 20 * view_ids, atol=3)
        for row in view_ids:
            assert len(set(row)) == 4, "views of a sequence are distinct"


def test_sequences_depend_on_seed_epoch_and_id_not_on_workers(object_shards):
    one = {"batch_size": 1}
    inline = by_key(batches(object_shards, objects(3), cfg=one))
    workers = by_key(batches(object_shards, objects(3), workers=2, cfg=one))
    assert inline.keys() == workers.keys()
    for key in inline:
        torch.testing.assert_close(inline[key], workers[key])
    other_epoch = by_key(
        batches(object_shards, objects(3), cfg=one, position=LoaderPosition(epoch=1))
    )
    assert any(not torch.equal(inline[k], other_epoch[k]) for k in inline)
    fixed = objects(3, fixed_epoch=0)
    assert all(
        torch.equal(a, b)
        for k, a in by_key(
            batches(object_shards, fixed, cfg=one, position=LoaderPosition(epoch=5))
        ).items()
        for b in [inline[k]]
    )


def test_ranks_and_workers_see_disjoint_data_covering_the_split(object_shards):
    keys = []
    for rank in range(2):
        out = batches(
            object_shards, objects(2), workers=2, rank=rank, world_size=2, cfg={"batch_size": 1}
        )
        keys.append([k for b in out for k in b["key"]])
    assert not set(keys[0]) & set(keys[1])
    assert len(keys[0]) == len(set(keys[0])) and len(keys[1]) == len(set(keys[1]))
    assert len(keys[0]) + len(keys[1]) == 6  # 2 synsets x 3 objects


def test_too_few_shards_for_the_layout_is_refused(object_shards):
    with pytest.raises(ValueError, match="6 shards cannot feed 4 rank"):
        batches(object_shards, objects(2), workers=2, rank=0, world_size=4)


@pytest.mark.parametrize("workers", [0, 2])
def test_resampled_epochs_have_a_fixed_length_and_advance(object_shards, workers):
    cfg = {"resampled": True, "batches_per_epoch": 5}
    builder = objects(2)
    loader, _ = build_loader(
        object_shards,
        "all",
        builder,
        StreamConfig(batch_size=2, shuffle_initial=2, **cfg),
        workers=workers,
    )
    first, second = list(loader), list(loader)  # persistent workers: the second pass is epoch 1
    assert len(first) == len(second) == len(loader) == 5
    assert [int(b["epoch"]) for b in first + second] == [0] * 5 + [1] * 5


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_position_skips_exactly_the_consumed_batches(object_shards, workers):
    cfg = {"resampled": True, "batches_per_epoch": 6}
    full = batches(object_shards, objects(2), workers=workers, cfg=cfg)
    tail = batches(
        object_shards, objects(2), workers=workers, cfg=cfg, position=LoaderPosition(0, 4)
    )
    assert len(tail) == 2
    for a, b in zip(full[4:], tail, strict=True):
        assert a["key"] == b["key"]
        torch.testing.assert_close(a["views"], b["views"])


def test_damaged_shard_is_skipped_with_a_warning_and_counted(object_shards, tmp_path):
    import shutil

    copy = tmp_path / "shards"
    shutil.copytree(object_shards, copy)
    victim = sorted(copy.glob("all-*.tar"))[0]
    victim.write_bytes(victim.read_bytes()[:700])  # truncated mid-member
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = batches(copy, objects(2), cfg={"batch_size": 1, "shuffle": False})
    assert len(out) == 5 and int(out[-1]["corrupt"]) >= 1
    assert any("damaged" in str(w.message) for w in caught)


def test_evaluation_with_more_views_than_stored_is_counted_not_fatal(object_shards):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = batches(object_shards, objects(7), cfg={"drop_last": False})
    assert out == []


def test_saccade_patches_are_cut_at_the_sampled_fixations(saccade_shards):
    directory, source = saccade_shards
    builder = SaccadeSequences(num_views=5, patch_size=16, ior="disk", ior_radius=16, seed=1)
    out = batches(directory, builder, cfg={"batch_size": 3})
    assert out
    for b in out:
        assert b["views"].shape == (3, 5, 3, 16, 16) and b["actions"].shape == (3, 4, 2)
        torch.testing.assert_close(b["actions"], b["params"][:, 1:] - b["params"][:, :-1])
        for i, key in enumerate(b["key"]):
            image = torch.from_numpy(source[key][0]).permute(2, 0, 1)
            padded = torch.nn.functional.pad(image, (8, 8, 8, 8))
            for t in range(5):
                r, c = (b["params"][i, t] * 96).round().long().tolist()
                torch.testing.assert_close(b["views"][i, t], padded[:, r : r + 16, c : c + 16])
            centres = (b["params"][i] * 96).round()
            d = torch.cdist(centres, centres) + torch.eye(5) * 1e3
            assert d.min() > 16, "inhibition of return keeps fixations apart"


def test_saccade_device_path_matches_the_worker_path(saccade_shards):
    directory, _ = saccade_shards
    host = batches(directory, SaccadeSequences(num_views=4, seed=3), cfg={"batch_size": 3})
    raw = batches(
        directory, SaccadeSequences(num_views=4, seed=3, on_device=True), cfg={"batch_size": 3}
    )
    builder = SaccadeSequences(num_views=4, seed=3)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    for h, r in zip(host, raw, strict=True):
        moved = builder.views_on(r, device)
        torch.testing.assert_close(moved["views"].cpu(), h["views"])
        torch.testing.assert_close(moved["actions"].cpu(), h["actions"])


def test_shards_without_saliency_are_refused_for_saliency_sampling(object_shards):
    with pytest.raises(ValueError, match="objects shards"):
        batches(object_shards, SaccadeSequences(num_views=3), split="all")


EXIT_WITH_LIVE_WORKERS = """
import sys
from seqjepa.datasets.loader import build_loader
from seqjepa.datasets.sequences import AugmentedSequences
from seqjepa.datasets.stream import StreamConfig

builder = AugmentedSequences(num_views=3, image_size=32, seed=0)
loader, _ = build_loader(sys.argv[1], "train", builder, StreamConfig(4), workers=1)
batches = iter(loader)  # a module global: still alive when the interpreter exits
print(tuple(next(batches)["views"].shape))
"""


@pytest.mark.timeout(180)
def test_interpreter_exits_with_workers_still_alive(cifar_shards):
    """Workers ignore SIGTERM (for clean preemption), so the loader must stop them itself when
    a script ends with a live iterator; otherwise the interpreter waits for them forever."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", EXIT_WITH_LIVE_WORKERS, str(cifar_shards)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(4, 3, 3, 32, 32)"
