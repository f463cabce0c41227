"""The shard tar reader yields exactly WebDataset's samples, and refuses damage."""

import io
import tarfile

import pytest
import webdataset as wds

from seqjepa.datasets import shards
from seqjepa.datasets.shards import read_samples, stream_samples


def wds_samples(path):
    return list(wds.tarfile_to_samples()([{"url": str(path)}]))


def write(path, members, fmt=tarfile.GNU_FORMAT, dirs=()):
    with tarfile.open(path, "w", format=fmt) as tf:
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            tf.addfile(info)
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


LONG = "synset/" + "x" * 150 + "/obj"
MEMBERS = [
    ("a/b/s0.cls", b"1"),
    ("a/b/s0.JPG", b"\xff" * 700),  # suffixes are lower-cased, as WebDataset does
    ("a/b/s0.latents.npy", b"n" * 512),
    ("a/b/s1.cls", b""),
    ("__meta__", b"skipped"),
    (f"{LONG}.views.bin", b"v" * 1025),
    (f"{LONG}.json", '{"é": 1}'.encode()),
    ("nodot", b"skipped too"),
    ("c.d/e.f.png", b"p"),
]


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
def test_same_samples_as_webdataset(tmp_path, fmt):
    members = MEMBERS if fmt != tarfile.USTAR_FORMAT else MEMBERS[:5]  # ustar: names ≤ 255
    path = write(tmp_path / "s.tar", members, fmt, dirs=("a/", "a/b/"))
    ours = list(read_samples(path))
    assert ours == wds_samples(path)
    assert [s["__key__"] for s in ours][:2] == ["a/b/s0", "a/b/s1"]


@pytest.mark.parametrize("view_bytes", [shards.VIEW_BYTES, 1])  # 1: every member a mapped view
def test_our_shards_read_as_webdataset_reads_them(
    object_shards, saccade_shards, monkeypatch, view_bytes
):
    monkeypatch.setattr(shards, "VIEW_BYTES", view_bytes)
    for path in [*sorted(object_shards.glob("*.tar")), *sorted(saccade_shards[0].glob("*.tar"))]:
        assert list(read_samples(path)) == wds_samples(path)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda b: b[:700], "truncated"),
        (lambda b: b[:1600], "truncated"),
        (lambda b: b[:100], "truncated header"),
        (lambda b: b[:148] + b"9" + b[149:], "number field"),
        (lambda b: b[: 512 * 5 + 124] + b"7" + b[512 * 5 + 125 :], "checksum"),
    ],
)
def test_damage_raises_read_error_and_drops_the_sample_in_progress(tmp_path, damage, message):
    path = write(tmp_path / "s.tar", MEMBERS[:4])
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(tarfile.ReadError, match=message):
        list(read_samples(path))
    errors = []
    out = list(stream_samples([str(path), str(path) + ".missing"], lambda e: not errors.append(e)))
    assert len(errors) == 2 and isinstance(errors[1], FileNotFoundError)
    assert all("cls" in s for s in out) and len(out) <= 1


def test_duplicate_member_is_damage(tmp_path):
    path = write(tmp_path / "s.tar", [("k.cls", b"1"), ("k.cls", b"2")])
    with pytest.raises(tarfile.ReadError, match="duplicate"):
        list(read_samples(path))


def test_compressed_shard_is_named(tmp_path):
    path = tmp_path / "s.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        info = tarfile.TarInfo("k.cls")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"1"))
    with pytest.raises(tarfile.ReadError, match="compressed"):
        list(read_samples(path))
