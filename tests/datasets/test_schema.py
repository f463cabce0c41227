"""Schema v2 packs an object's views into one member; v1 shards (one member per view) still read."""

import json
import shutil

import numpy as np
import pytest
import torch

from seqjepa.datasets import schema
from seqjepa.datasets.loader import build_loader
from seqjepa.datasets.sequences import ObjectSequences
from seqjepa.datasets.shards import iter_shard
from seqjepa.datasets.stream import StreamConfig
from seqjepa.preprocess.shard import verify_shards
from seqjepa.preprocess.shard.tarwriter import write_tar


def test_packed_views_round_trip_in_order_and_by_position():
    views = [bytes([i]) * (3 * i + 1) for i in range(12)] + [b""]
    packed = schema.pack_views(views)
    members = {schema.VIEWS: packed}
    assert schema.object_views(members) == views
    assert schema.object_views(members, np.array([7, 0, 12])) == [views[7], views[0], b""]
    assert schema.object_views({schema.VIEWS: schema.pack_views([])}) == []
    assert schema.object_views({schema.VIEWS: memoryview(packed)}, [3]) == [views[3]]


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p[:-1],  # payload truncated
        lambda p: p[:20],  # offset table truncated
        lambda p: b"NOTVIEWS" + p[8:],
        lambda p: p + b"x",  # trailing bytes: offsets do not end at the payload's end
    ],
)
def test_damaged_packed_views_raise_value_error(damage):
    packed = schema.pack_views([b"abc", b"defg", b"h"])
    with pytest.raises(ValueError):
        schema.object_views({schema.VIEWS: damage(packed)})


def test_missing_views_or_positions_raise_value_error():
    with pytest.raises(ValueError, match="no object views"):
        schema.object_views({schema.CLS: b"1"})
    with pytest.raises(ValueError, match="position 3"):
        schema.object_views({schema.VIEWS: schema.pack_views([b"a", b"b"])}, [3])
    with pytest.raises(ValueError, match="position 5"):
        schema.object_views({schema.view_member(0): b"a"}, [5])


def test_v1_members_read_by_position():
    members = {schema.view_member(k): f"v{k}".encode() for k in range(11)} | {"cls": b"0"}
    assert schema.object_views(members) == [f"v{k}".encode() for k in range(11)]
    assert schema.object_views(members, [10, 2]) == [b"v10", b"v2"]


@pytest.mark.parametrize(
    "array",
    [
        np.arange(350, dtype=np.float32).reshape(50, 7),
        np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
        np.arange(6, dtype=">i4").reshape(2, 3),
        np.float16(1.5) * np.ones((4, 5, 2), np.float16),
        np.array(3.0),
    ],
)
def test_decode_npy_fast_path_matches_np_load(array):
    data = _npy(array)  # np.save keeps Fortran order, so decode_npy's order="F" branch runs
    for view in (data, data, memoryview(data)):  # the first call parses the header
        out = schema.decode_npy(view)
        np.testing.assert_array_equal(out, array)
        assert out.dtype == array.dtype and out.shape == array.shape and out.flags.writeable
    with pytest.raises(ValueError):
        schema.decode_npy(data[:-1])  # a known header with too little data


def _npy(array):
    import io

    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    return buf.getvalue()


def write_v1_copy(src, dst):
    """Rewrite a v2 object shard directory in the version 1 layout (one member per view)."""
    dst.mkdir()
    index = schema.DatasetIndex.read(src)
    for split in index.splits.values():
        for i, info in enumerate(split.shards):
            samples = []
            for sid, members in iter_shard(src / info.name):
                views = schema.object_views(members)
                members.pop(schema.VIEWS)
                members |= {schema.view_member(k): v for k, v in enumerate(views)}
                samples.append((sid, members))
            split.shards[i] = write_tar(dst / info.name, samples)
    index.schema_version = 1
    index.write(dst)
    shutil.copy(src / schema.SAMPLES_FILE, dst / schema.SAMPLES_FILE)


def test_v1_shards_give_the_same_sequences_as_v2(object_shards, tmp_path):
    v1 = tmp_path / "v1"
    write_v1_copy(object_shards, v1)
    assert json.loads((v1 / "index.json").read_text())["schema_version"] == 1
    _, members = next(iter_shard(next(v1.glob("*.tar"))))
    assert schema.VIEWS not in members and schema.view_member(5) in members
    _, members = next(iter_shard(next(object_shards.glob("*.tar"))))
    assert schema.VIEWS in members and not any(m.startswith("view0") for m in members)
    assert verify_shards(v1) == []
    cfg = StreamConfig(batch_size=2, shuffle_initial=2, shuffle_buffer=4)
    out = []
    for directory in (object_shards, v1):
        builder = ObjectSequences(num_views=4, image_size=32, seed=3)
        loader, _ = build_loader(directory, "all", builder, cfg)
        out.append(list(loader))
    assert len(out[0]) == len(out[1]) == 3
    for a, b in zip(*out, strict=True):
        assert a["key"] == b["key"]
        torch.testing.assert_close(a["views"], b["views"])
        torch.testing.assert_close(a["actions"], b["actions"])


def test_unknown_schema_version_is_refused(object_shards, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(object_shards, copy)
    raw = json.loads((copy / "index.json").read_text())
    (copy / "index.json").write_text(json.dumps({**raw, "schema_version": 99}))
    with pytest.raises(ValueError, match="schema version 99"):
        schema.DatasetIndex.read(copy)
