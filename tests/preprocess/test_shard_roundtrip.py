"""Every raw format round-trips through shards: ids, labels, pixels/bytes, views and latents."""

import io

import numpy as np
import pytest
import webdataset as wds
from data import raw_formats
from PIL import Image

from seqjepa.datasets import schema
from seqjepa.datasets.decode import decode_rgb
from seqjepa.datasets.shards import iter_shard
from seqjepa.preprocess.readers.open import open_reader
from seqjepa.preprocess.shard import ShardOptions, shard_dataset


def read_all(out):
    index = schema.DatasetIndex.read(out)
    samples = {}
    for split in index.splits:
        for path in index.shard_paths(out, split):
            samples.update(dict(iter_shard(path)))
    return index, samples


def decode(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def shard(fmt, root, out, **kw):
    reader = open_reader(fmt, root, kw.pop("splits", None))
    return shard_dataset(reader, out, options=ShardOptions(**kw), workers=0, progress=False)


@pytest.mark.parametrize(
    ("fmt", "builder"),
    [("stl10", raw_formats.write_stl10), ("cifar100", raw_formats.write_cifar100)],
)
@pytest.mark.parametrize("pixels", ["ppm", "png"])
def test_binary_formats_round_trip_pixels_exactly(tmp_path, fmt, builder, pixels):
    source = builder(tmp_path / "raw")
    shard(fmt, tmp_path / "raw", tmp_path / "out", shard_size=3, pixels=pixels)
    index, samples = read_all(tmp_path / "out")
    assert set(samples) == set(source)
    for sid, (img, label) in source.items():
        members = samples[sid]
        assert int(members["cls"]) == label
        np.testing.assert_array_equal(decode(members[pixels]), img)
        np.testing.assert_array_equal(decode_rgb(members[pixels]), img)  # the loader's decoder
    assert index.kind == "images" and len(index.class_names) in (10, 100)
    assert sum(s.samples for s in index.splits.values()) == len(source)


@pytest.mark.parametrize(
    ("fmt", "builder", "splits"),
    [
        ("imagefolder", raw_formats.write_imagefolder, None),
        ("imagenet", raw_formats.write_imagenet, None),
        ("tinyimagenet", raw_formats.write_tinyimagenet, None),
        ("webdataset", raw_formats.write_webdataset, None),
    ],
)
def test_encoded_formats_copy_bytes_verbatim(tmp_path, fmt, builder, splits):
    source = builder(tmp_path / "raw")
    shard(fmt, tmp_path / "raw", tmp_path / "out", shard_size=2, splits=splits)
    _, samples = read_all(tmp_path / "out")
    assert set(samples) == set(source)
    for sid, (data, label) in source.items():
        members = samples[sid]
        image = next(v for k, v in members.items() if k in schema.IMAGE_EXTS)
        assert image == data, f"{sid} was re-encoded"
        assert int(members["cls"]) == label


def test_imagenet_val_in_class_folders(tmp_path):
    source = raw_formats.write_imagenet(tmp_path / "raw", flat_val=False)
    shard("imagenet", tmp_path / "raw", tmp_path / "out")
    _, samples = read_all(tmp_path / "out")
    assert {k: int(v["cls"]) for k, v in samples.items()} == {k: v[1] for k, v in source.items()}


def test_3diebench_split_files_may_live_outside_the_root(tmp_path):
    raw_formats.write_3diebench(tmp_path / "raw")
    (tmp_path / "splits").mkdir()
    for f in (tmp_path / "raw").glob("*_*.npy"):
        f.rename(tmp_path / "splits" / f.name)
    reader = open_reader("3diebench", tmp_path / "raw", splits_dir=tmp_path / "splits")
    assert reader.fingerprint()["files"]  # hashed by absolute path, no crash
    index = shard_dataset(
        reader, tmp_path / "out", options=ShardOptions(), workers=0, progress=False
    )
    assert set(index.splits) == {"train", "val"}


def test_3diebench_objects_keep_all_views_and_latents(tmp_path):
    source = raw_formats.write_3diebench(tmp_path / "raw", views=(2, 3, 4, 5))
    index = shard("3diebench", tmp_path / "raw", tmp_path / "out", shard_size=1)
    assert set(index.splits) == {"train", "val"} and index.kind == "objects"
    _, samples = read_all(tmp_path / "out")
    assert len(samples) == len(source)
    for sid, members in samples.items():
        imgs, latents, view_ids, label = source[sid.split("/", 2)[2]]
        assert int(members["cls"]) == label
        assert schema.object_views(members) == imgs
        assert set(members) == {"cls", "json", "latents.npy", "views.bin"}
        np.testing.assert_array_equal(
            schema.decode_npy(members["latents.npy"]), latents.astype(np.float32)
        )
        meta = __import__("json").loads(members["json"])
        assert meta["view_ids"] == view_ids and meta["id"] == sid


def test_resize_sets_shorter_side(tmp_path):
    raw_formats.write_3diebench(tmp_path / "raw")
    shard("3diebench", tmp_path / "raw", tmp_path / "out", size=32)
    _, samples = read_all(tmp_path / "out")
    views = [decode(v) for m in samples.values() for v in schema.object_views(m)]
    assert views and all(v.shape == (32, 32, 3) for v in views)
    raw_formats.write_imagefolder(tmp_path / "folder", size=(40, 60))
    shard("imagefolder", tmp_path / "folder", tmp_path / "out2", size=20)
    _, samples = read_all(tmp_path / "out2")
    shapes = {
        decode(next(v for k, v in m.items() if k in schema.IMAGE_EXTS)).shape
        for m in samples.values()
    }
    assert shapes == {(20, 30, 3)}


def test_plain_webdataset_reads_our_shards_with_ids_as_keys(tmp_path):
    source = raw_formats.write_stl10(tmp_path / "raw")
    index = shard("stl10", tmp_path / "raw", tmp_path / "out", shard_size=4)
    urls = [str(p) for s in index.splits for p in index.shard_paths(tmp_path / "out", s)]
    keys = [schema.id_from_key(s["__key__"]) for s in wds.WebDataset(urls, shardshuffle=False)]
    assert sorted(keys) == sorted(source)


def test_ids_with_dots_survive(tmp_path):
    root = tmp_path / "raw"
    img = raw_formats.pixels(np.random.default_rng(0), 16, 16)
    (root / "a.b").mkdir(parents=True)
    (root / "a.b" / "x.v2.png").write_bytes(raw_formats._png(img))
    (root / "c").mkdir()
    (root / "c" / "y.png").write_bytes(raw_formats._png(img))
    shard("imagefolder", root, tmp_path / "out")
    _, samples = read_all(tmp_path / "out")
    assert set(samples) == {"imagefolder/train/a.b/x.v2", "imagefolder/train/c/y"}


def test_shards_are_class_mixed_and_sized(tmp_path):
    raw_formats.write_imagefolder(tmp_path / "raw", classes=("a", "b", "c", "d"), per_class=6)
    index = shard("imagefolder", tmp_path / "raw", tmp_path / "out", shard_size=8)
    info = index.splits["train"]
    assert [s.samples for s in info.shards] == [8, 8, 8]
    read_all(tmp_path / "out")
    first = list(iter_shard(tmp_path / "out" / "train-000000.tar"))
    assert len({int(m["cls"]) for _, m in first}) > 1, "write-time shuffle mixes classes"
