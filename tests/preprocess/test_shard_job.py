"""Sharding as a job: determinism, resume, bad input, real Ray, verify, preview, CLI."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from data import raw_formats

from seqjepa.datasets import schema
from seqjepa.preprocess.readers import FormatError
from seqjepa.preprocess.readers.open import open_reader
from seqjepa.preprocess.saliency_store import SaliencyStore, SaliencyStoreWriter
from seqjepa.preprocess.shard import ShardError, ShardOptions, preview, shard_dataset, verify_shards

PREP = [sys.executable, "-m", "seqjepa.preprocess.cli"]


def shard(fmt, root, out, workers=0, saliency=None, **kw):
    return shard_dataset(
        open_reader(fmt, root),
        out,
        options=ShardOptions(**kw),
        saliency=saliency,
        workers=workers,
        progress=False,
    )


def digests(index):
    return {s.name: s.sha256 for info in index.splits.values() for s in info.shards}


def prep(*args, **kw):
    return subprocess.run([*PREP, *map(str, args)], capture_output=True, text=True, **kw)


def test_same_input_gives_byte_identical_shards(tmp_path):
    raw_formats.write_3diebench(tmp_path / "raw")
    a = shard("3diebench", tmp_path / "raw", tmp_path / "a", shard_size=1)
    b = shard("3diebench", tmp_path / "raw", tmp_path / "b", shard_size=1)
    assert digests(a) == digests(b) and len(digests(a)) == 4
    c = shard("3diebench", tmp_path / "raw", tmp_path / "c", shard_size=1, seed=1)
    assert digests(c) != digests(a), "the write-time shuffle seed matters"


@pytest.mark.timeout(180)
@pytest.mark.slow
def test_real_ray_writes_the_same_shards_as_inline(tmp_path):
    raw_formats.write_stl10(tmp_path / "raw")
    inline = shard("stl10", tmp_path / "raw", tmp_path / "inline", shard_size=2)
    ray = shard("stl10", tmp_path / "raw", tmp_path / "ray", workers=2, shard_size=2)
    assert digests(ray) == digests(inline)
    assert verify_shards(tmp_path / "ray") == []


def _shard_argv(raw, out, shard_size):
    return [
        "shard",
        "stl10",
        "--root",
        str(raw),
        "--out",
        str(out),
        "--shard-size",
        str(shard_size),
        "--workers",
        "0",
        "--no-progress",
    ]


@pytest.mark.slow
def test_resume_after_a_kill_mid_run_finishes_only_missing_shards(tmp_path):
    raw_formats.write_stl10(tmp_path / "raw", counts=(("unlabeled", 400),))
    clean = shard("stl10", tmp_path / "raw", tmp_path / "clean", shard_size=10)
    out = tmp_path / "killed"
    proc = subprocess.Popen([*PREP, *_shard_argv(tmp_path / "raw", out, 10)])
    deadline = time.monotonic() + 60
    while len(list((out / ".state").glob("*.json"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = sorted(p.name for p in (out / ".state").glob("*.json"))
    assert 3 <= len(finished) < len(digests(clean)), "the kill landed mid-run"
    for record in finished:  # everything recorded as finished is complete and correct
        name = record.removesuffix(".json")
        assert (out / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()
    resumed = prep(*_shard_argv(tmp_path / "raw", out, 10))
    assert resumed.returncode == 0, resumed.stderr
    assert digests(schema.DatasetIndex.read(out)) == digests(clean)
    assert not list(out.glob("*.tmp")) and verify_shards(out) == []


def test_damaged_or_unrecorded_shards_are_rewritten_on_resume(tmp_path):
    raw_formats.write_stl10(tmp_path / "raw")
    clean = shard("stl10", tmp_path / "raw", tmp_path / "clean", shard_size=2)
    out = tmp_path / "out"
    shard("stl10", tmp_path / "raw", out, shard_size=2)
    (out / "train-000000.tar").write_bytes(b"truncated")  # a damaged final file
    (out / ".state" / "test-000001.tar.json").unlink()  # killed between rename and record
    (out / "unlabeled-000002.tar").unlink()
    resumed = shard("stl10", tmp_path / "raw", out, shard_size=2)
    assert digests(resumed) == digests(clean)
    assert verify_shards(out) == []


def test_disk_full_fails_cleanly_and_resumes(tmp_path):
    raw_formats.write_stl10(tmp_path / "raw")
    out = tmp_path / "out"
    code = (
        "import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
        "resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000)); "
        "from seqjepa.preprocess.cli import app; sys.argv[0] = 'seqjepa-prep'; app()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *_shard_argv(tmp_path / "raw", out, 4)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: no space left writing") and proc.stderr.count("\n") == 1
    assert not list(out.glob("*.tar")) and not list(out.glob("*.tmp"))
    assert prep(*_shard_argv(tmp_path / "raw", out, 4)).returncode == 0
    assert verify_shards(out) == []


def test_corrupt_source_images_are_skipped_and_counted(tmp_path):
    source = raw_formats.write_imagefolder(tmp_path / "raw")
    bad = tmp_path / "raw" / "dog" / "dog_1.jpg"
    bad.write_bytes(bad.read_bytes()[:200])  # truncated JPEG
    index = shard("imagefolder", tmp_path / "raw", tmp_path / "out")
    assert index.splits["train"].samples == len(source) - 1
    assert index.splits["train"].skipped == 1
    skipped = json.loads((tmp_path / "out" / "skipped.json").read_text())
    assert [s["id"] for s in skipped] == ["imagefolder/train/dog/dog_1"]


def test_saliency_store_is_joined_by_id(tmp_path):
    source = raw_formats.write_stl10(tmp_path / "raw", counts=(("train", 5),))
    writer = SaliencyStoreWriter(tmp_path / "sal", "stl10", (8, 8), {"model": "test"})
    ids = sorted(source)
    maps = np.random.default_rng(0).normal(size=(len(ids), 8, 8)).astype(np.float32)
    writer.write_chunk("train", 0, ids[:3], maps[:3])
    writer.write_chunk("train", 1, ids[3:], maps[3:])
    index = shard(
        "stl10", tmp_path / "raw", tmp_path / "out", saliency=SaliencyStore(tmp_path / "sal")
    )
    samples = dict(s for p in index.shard_paths(tmp_path / "out", "train") for s in schema_iter(p))
    for i, sid in enumerate(ids):
        np.testing.assert_array_equal(
            schema.decode_npy(samples[sid]["sal.npy"]), maps[i].astype(np.float16)
        )
    assert index.provenance["saliency"]["model"] == "test"


def test_samples_the_saliency_job_could_not_read_are_skipped(tmp_path):
    """A readable image the saliency store lists as unreadable has no map: the shard job skips
    it with the store's reason instead of writing a sample without saliency."""
    source = raw_formats.write_stl10(tmp_path / "raw", counts=(("train", 4),))
    ids = sorted(source)
    writer = SaliencyStoreWriter(tmp_path / "sal", "stl10", (8, 8), {"model": "test"})
    unreadable = {ids[1]: "decoder failed"}
    kept = [i for i in ids if i not in unreadable]
    writer.write_chunk("train", 0, kept, np.zeros((len(kept), 8, 8)), unreadable)
    index = shard(
        "stl10", tmp_path / "raw", tmp_path / "out", saliency=SaliencyStore(tmp_path / "sal")
    )
    assert index.splits["train"].samples == 3 and index.splits["train"].skipped == 1
    skipped = json.loads((tmp_path / "out" / "skipped.json").read_text())
    assert [(s["id"], s["reason"]) for s in skipped] == [
        (ids[1], "unreadable to the saliency job: decoder failed")
    ]


def schema_iter(path):
    from seqjepa.datasets.shards import iter_shard

    return iter_shard(path)


def test_uncovered_saliency_store_is_refused(tmp_path):
    source = raw_formats.write_stl10(tmp_path / "raw", counts=(("train", 4),))
    writer = SaliencyStoreWriter(tmp_path / "sal", "stl10", (8, 8), {"model": "test"})
    writer.write_chunk("train", 0, sorted(source)[:2], np.zeros((2, 8, 8)))
    with pytest.raises(ShardError, match="does not cover 2 of 4 train samples"):
        shard("stl10", tmp_path / "raw", tmp_path / "out", saliency=SaliencyStore(tmp_path / "sal"))
    assert not list((tmp_path / "out").glob("*.tar"))


def test_output_of_another_dataset_or_options_is_refused(tmp_path):
    raw_formats.write_stl10(tmp_path / "stl")
    raw_formats.write_cifar100(tmp_path / "cifar")
    shard("stl10", tmp_path / "stl", tmp_path / "out", shard_size=4)
    with pytest.raises(ShardError, match="holds shards of 'stl10' made with different"):
        shard("cifar100", tmp_path / "cifar", tmp_path / "out")
    with pytest.raises(ShardError, match="different options"):
        shard("stl10", tmp_path / "stl", tmp_path / "out", shard_size=4, size=48)


@pytest.mark.parametrize(
    ("fmt", "make", "message"),
    [
        ("stl10", lambda p: None, "does not exist"),
        ("stl10", lambda p: p.mkdir(), "not the STL-10 binary release"),
        ("cifar100", lambda p: p.mkdir(), "not cifar-100-python"),
        ("imagenet", lambda p: p.mkdir(), "not an ILSVRC-2012 folder"),
        ("tinyimagenet", lambda p: p.mkdir(), "not tiny-imagenet-200"),
        ("3diebench", lambda p: p.mkdir(), "not a 3DIEBench tree"),
        ("imagefolder", lambda p: p.mkdir(), "holds no class folders"),
        ("webdataset", lambda p: p.mkdir(), "holds no"),
    ],
)
def test_missing_or_wrong_roots_are_named(tmp_path, fmt, make, message):
    make(tmp_path / "root")
    with pytest.raises(FormatError, match=message):
        open_reader(fmt, tmp_path / "root")


def test_truncated_binary_and_malicious_pickle_are_refused(tmp_path):
    raw_formats.write_stl10(tmp_path / "stl")
    x = tmp_path / "stl" / "stl10_binary" / "train_X.bin"
    x.write_bytes(x.read_bytes()[:-5])
    with pytest.raises(FormatError, match="truncated"):
        open_reader("stl10", tmp_path / "stl").entries("train")
    raw_formats.write_cifar100(tmp_path / "cifar")

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch pwned",))

    import pickle

    (tmp_path / "cifar" / "cifar-100-python" / "meta").write_bytes(pickle.dumps(Evil()))
    with pytest.raises(FormatError, match="refusing to load"):
        open_reader("cifar100", tmp_path / "cifar")


def test_verify_reports_corruption_precisely(tmp_path):
    raw_formats.write_3diebench(tmp_path / "raw")
    shard("3diebench", tmp_path / "raw", tmp_path / "out", shard_size=1)
    assert verify_shards(tmp_path / "out") == []
    target = tmp_path / "out" / "train-000000.tar"
    data = bytearray(target.read_bytes())
    data[2048] ^= 0xFF  # flip a byte inside the first member's payload
    target.write_bytes(bytes(data))
    (tmp_path / "out" / "val-000001.tar").unlink()
    problems = verify_shards(tmp_path / "out")
    assert any("train-000000.tar: sha256 differs" in p for p in problems)
    assert any("val-000001.tar: missing" in p for p in problems)
    result = prep("verify", tmp_path / "out")
    assert result.returncode == 1 and "problem(s)" in result.stderr


def test_cli_shard_verify_preview(tmp_path):
    raw_formats.write_3diebench(tmp_path / "raw")
    done = prep(
        "shard",
        "3diebench",
        "--root",
        tmp_path / "raw",
        "--out",
        tmp_path / "out",
        "--size",
        "32",
        "--workers",
        "0",
        "--no-progress",
    )
    assert done.returncode == 0, done.stderr
    assert "train: 2 samples" in done.stdout
    assert prep("verify", tmp_path / "out").returncode == 0
    shown = prep("preview", tmp_path / "out", "--out", tmp_path / "grid.png")
    assert shown.returncode == 0 and (tmp_path / "grid.png").stat().st_size > 1000
    bad = prep("shard", "stl10", "--root", tmp_path / "nowhere", "--out", tmp_path / "o2")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "--root" in bad.stderr
    assert not (tmp_path / "o2").exists()


def test_preview_overlays_saliency(tmp_path):
    source = raw_formats.write_stl10(tmp_path / "raw", counts=(("train", 3),))
    writer = SaliencyStoreWriter(tmp_path / "sal", "stl10", (96, 96), {"model": "test"})
    writer.write_chunk("train", 0, sorted(source), np.zeros((3, 96, 96)))
    shard("stl10", tmp_path / "raw", tmp_path / "out", saliency=SaliencyStore(tmp_path / "sal"))
    path = preview(tmp_path / "out", tmp_path / "p.png")
    assert path.stat().st_size > 1000
