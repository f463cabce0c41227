"""The saliency batch job: complete stores, bucketing, resume after a kill, Ray, the CLI."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import typer
from data import raw_formats
from PIL import Image
from scipy.special import logsumexp
from typer.testing import CliRunner

from seqjepa.datasets import schema
from seqjepa.preprocess.readers.open import open_reader
from seqjepa.preprocess.saliency import INPUT_SCALES, SaliencyModel, build_saliency_model
from seqjepa.preprocess.saliency_cli import InputScale, saliency_command
from seqjepa.preprocess.saliency_job import (
    JOB_FILE,
    ModelSpec,
    PoolOptions,
    SaliencyJobError,
    SaliencyRunner,
    SaliencySettings,
    compute_saliency,
    resize_shorter,
)
from seqjepa.preprocess.saliency_store import SaliencyStore
from seqjepa.preprocess.shard import ShardOptions, shard_dataset

# The CLI as a subprocess, through a local Typer app (the lead wires it into seqjepa-prep).
CLI = [
    sys.executable,
    "-c",
    "import typer; from seqjepa.preprocess.saliency_cli import saliency_command; "
    "app = typer.Typer(); app.command()(saliency_command); app()",
]


def settings(fmt, model="spectral", input_size=None, map_size=None, **kw):
    return SaliencySettings.for_dataset(fmt, ModelSpec(model), input_size, map_size, **kw)


def run_job(fmt, raw, out, model="spectral", workers=0, **kw):
    return compute_saliency(
        open_reader(fmt, raw),
        out,
        settings(fmt, model, **kw),
        pool=PoolOptions(workers=workers),
        progress=False,
    )


def store_maps(root):
    store = SaliencyStore(root)
    return {sid: store[sid] for sid in store._where}


def cli_app():
    app = typer.Typer()
    app.command()(saliency_command)
    return app


class SpyModel(SaliencyModel):
    """The centre model, recording the shape of every batch it is given."""

    name = "spy"

    def __init__(self):
        self.inner = build_saliency_model("center")
        self.shapes = []

    def predict(self, images):
        self.shapes.append(tuple(images.shape))
        return self.inner.predict(images)

    def provenance(self):
        return self.inner.provenance()


def test_runner_batches_one_size_at_a_time_and_keeps_the_order():
    rng = np.random.default_rng(0)
    sizes = [(40, 56), (30, 30), (40, 56), (40, 56), (30, 30)]
    images = [raw_formats.pixels(rng, h, w) for h, w in sizes]
    spy = SpyModel()
    maps = SaliencyRunner(spy, batch_size=2)(images)
    assert spy.shapes == [(2, 3, 40, 56), (1, 3, 40, 56), (2, 3, 30, 30)], "never padded"
    assert [m.shape for m in maps] == sizes
    for m in maps:
        assert m.dtype == np.float32 and abs(logsumexp(m)) < 1e-4


def test_runner_maps_do_not_depend_on_batch_company():
    rng = np.random.default_rng(1)
    images = [raw_formats.pixels(rng, 48, 64) for _ in range(3)]
    runner = SaliencyRunner(build_saliency_model("spectral-residual"), input_size=96)
    together = runner(images, (24, 24))
    alone = [runner([image], (24, 24))[0] for image in images]
    np.testing.assert_array_equal(np.stack(together), np.stack(alone))
    assert not np.allclose(together[0], together[1]), "spectral maps depend on the image"


def test_resize_shorter_follows_the_shard_rule():
    assert resize_shorter(np.zeros((96, 96, 3), np.uint8), 512).shape == (512, 512, 3)
    assert resize_shorter(np.zeros((375, 500, 3), np.uint8), 224).shape == (224, 299, 3)
    image = np.zeros((7, 9, 3), np.uint8)
    assert resize_shorter(image, None) is image


def test_stl10_store_is_complete_and_joins_into_shards(tmp_path):
    source = raw_formats.write_stl10(tmp_path / "raw")
    report = run_job("stl10", tmp_path / "raw", tmp_path / "sal", chunk_size=4)
    assert report.splits == {
        "train": {"maps": 6, "chunks": 2, "skipped": 0},
        "test": {"maps": 4, "chunks": 1, "skipped": 0},
        "unlabeled": {"maps": 5, "chunks": 2, "skipped": 0},
    }
    store = SaliencyStore(tmp_path / "sal")
    assert sorted(store._where) == sorted(source) and len(store) == 15
    meta = store.meta
    assert meta["map_size"] == [96, 96]
    assert meta["provenance"]["model"] == "spectral-residual"
    assert meta["provenance"]["input_size"] == 512, "STL-10 runs at 512 px as in the paper"
    for sid in source:
        m = store[sid].astype(np.float64)
        assert store[sid].dtype == np.float16 and abs(logsumexp(m)) < 0.02

    index = shard_dataset(
        open_reader("stl10", tmp_path / "raw"),
        tmp_path / "shards",
        options=ShardOptions(shard_size=5),
        saliency=store,
        workers=0,
        progress=False,
    )
    assert sum(info.samples for info in index.splits.values()) == 15


def test_store_maps_equal_the_runner_on_the_raw_pixels(tmp_path):
    source = raw_formats.write_stl10(tmp_path / "raw", counts=(("train", 3),))
    run_job("stl10", tmp_path / "raw", tmp_path / "spectral", chunk_size=2)
    runner = SaliencyRunner(build_saliency_model("spectral-residual"), input_size=512)
    maps = store_maps(tmp_path / "spectral")
    for sid, (pixels, _) in source.items():
        expected = runner([pixels], (96, 96))[0].astype(np.float16)
        np.testing.assert_array_equal(maps[sid], expected)
    run_job("stl10", tmp_path / "raw", tmp_path / "center", model="center")
    center = store_maps(tmp_path / "center")
    assert np.array_equal(center["stl10/train/0"], center["stl10/train/2"]), "image-independent"


def _mixed_folder(root):
    """An ImageFolder with three image sizes, a grey PNG and one corrupt JPEG."""
    written = raw_formats.write_imagefolder(root, per_class=2, size=(40, 56))
    rng = np.random.default_rng(5)
    for i, (h, w) in enumerate([(30, 30), (64, 48), (30, 30)]):
        image = raw_formats.pixels(rng, h, w)
        (root / "dog" / f"extra_{i}.jpg").write_bytes(raw_formats.jpeg_bytes(image))
    Image.fromarray(np.full((20, 24), 128, np.uint8)).save(root / "cat" / "grey.png")
    (root / "cat" / "broken.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    return len(written) + 4  # readable images


def _folder_store(tmp_path):
    """Run the CLI over the mixed folder; return the number of readable images and the result."""
    readable = _mixed_folder(tmp_path / "raw")
    args = ["--dataset", "imagefolder", "--root", str(tmp_path / "raw"), "--out"]
    args += [str(tmp_path / "sal"), "--model", "center", "--map-size", "16"]
    args += ["--chunk-size", "3", "--workers", "0", "--no-progress"]
    return readable, CliRunner().invoke(cli_app(), args)


def test_imagefolder_via_the_cli_skips_a_corrupt_jpeg(tmp_path):
    readable, result = _folder_store(tmp_path)
    assert result.exit_code == 0, result.output
    assert "1 unreadable samples skipped" in result.output
    store = SaliencyStore(tmp_path / "sal")
    assert len(store) == readable and "imagefolder/train/cat/broken" not in store
    assert store["imagefolder/train/cat/grey"].shape == (16, 16)
    skipped = json.loads((tmp_path / "sal" / JOB_FILE).read_text())["skipped"]
    assert [s["id"] for chunk in skipped.values() for s in chunk] == [
        "imagefolder/train/cat/broken"
    ]


def test_a_folder_with_a_corrupt_jpeg_joins_into_shards(tmp_path):
    readable, result = _folder_store(tmp_path)
    assert result.exit_code == 0, result.output
    index = shard_dataset(
        open_reader("imagefolder", tmp_path / "raw"),
        tmp_path / "shards",
        saliency=SaliencyStore(tmp_path / "sal"),
        workers=0,
        progress=False,
    )
    assert index.splits["train"].samples == readable and index.splits["train"].skipped == 1
    assert SaliencyStore(tmp_path / "sal").unreadable.keys() == {"imagefolder/train/cat/broken"}


def test_rerun_is_free_and_other_settings_are_refused(tmp_path):
    raw_formats.write_stl10(tmp_path / "raw", counts=(("train", 5),))
    first = run_job("stl10", tmp_path / "raw", tmp_path / "sal", chunk_size=2)
    before = store_maps(tmp_path / "sal")
    again = run_job("stl10", tmp_path / "raw", tmp_path / "sal", chunk_size=4)
    assert (again.computed, again.already_done) == (0, 3), "the first run's chunking is pinned"
    assert again.splits == first.splits
    after = store_maps(tmp_path / "sal")
    assert before.keys() == after.keys()
    with pytest.raises(SaliencyJobError, match="other settings"):
        run_job("stl10", tmp_path / "raw", tmp_path / "sal", model="center")
    with pytest.raises(SaliencyJobError, match="other settings"):
        run_job("stl10", tmp_path / "raw", tmp_path / "sal", map_size=48)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(SaliencyJobError, match="not a saliency store"):
        run_job("stl10", tmp_path / "raw", tmp_path / "other")


def test_a_changed_source_is_refused(tmp_path):
    raw_formats.write_stl10(tmp_path / "raw", counts=(("train", 3),))
    run_job("stl10", tmp_path / "raw", tmp_path / "sal")
    raw_formats.write_stl10(tmp_path / "raw2", counts=(("train", 4),))
    with pytest.raises(SaliencyJobError, match="3 train samples, now 4"):
        run_job("stl10", tmp_path / "raw2", tmp_path / "sal")


def test_deepgaze_with_random_weights_runs_through_the_job(tmp_path):
    raw_formats.write_imagefolder(tmp_path / "raw", per_class=1, size=(48, 64))
    reader = open_reader("imagefolder", tmp_path / "raw")
    spec = ModelSpec("deepgaze2e", allow_random_weights=True)
    report = compute_saliency(
        reader,
        tmp_path / "sal",
        SaliencySettings(spec, map_size=12, input_size=64, batch_size=2),
        pool=PoolOptions(workers=0, gpus_per_actor=0),
        progress=False,
    )
    assert report.splits["train"]["maps"] == 2
    store = SaliencyStore(tmp_path / "sal")
    assert store.meta["provenance"]["model"] == "deepgaze-iie[random-weights]"
    assert abs(logsumexp(store["imagefolder/train/cat/cat_0"].astype(np.float64))) < 0.02


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "deepgaze2e"], "--weights deepgaze2e.pth"),
        (["--model", "spectral", "--gpus-per-actor", "1"], "runs on the CPU only"),
        (["--model", "center", "--map-size", "0"], "map size must be >= 1"),
        (["--model", "center", "--chunk-size", "0"], "chunk size must be >= 1"),
    ],
)
def test_cli_refuses_bad_settings_in_one_line(tmp_path, extra, message):
    raw_formats.write_stl10(tmp_path / "raw", counts=(("train", 2),))
    args = ["--dataset", "stl10", "--root", str(tmp_path / "raw"), "--out", str(tmp_path / "s")]
    result = CliRunner().invoke(cli_app(), [*args, "--workers", "0", *extra])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_cli_input_scales_are_the_models():
    assert [s.value for s in InputScale] == list(INPUT_SCALES)


def test_cli_refuses_object_datasets(tmp_path):
    raw_formats.write_3diebench(tmp_path / "raw")
    args = ["--dataset", "3diebench", "--root", str(tmp_path / "raw"), "--out"]
    result = CliRunner().invoke(
        cli_app(), [*args, str(tmp_path / "s"), "--model", "center", "--workers", "0"]
    )
    assert result.exit_code == 2 and "saliency maps are for images" in result.output


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_resume_after_a_kill_gives_the_uninterrupted_store(tmp_path):
    raw_formats.write_stl10(tmp_path / "raw", counts=(("unlabeled", 400),))
    run_job("stl10", tmp_path / "raw", tmp_path / "clean", chunk_size=20)
    out = tmp_path / "killed"
    argv = [*CLI, "--dataset", "stl10", "--root", str(tmp_path / "raw"), "--out", str(out)]
    argv += ["--model", "spectral", "--chunk-size", "20", "--workers", "0", "--no-progress"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list(out.glob("unlabeled-*.json")):
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no chunk was written in 120 s"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done = len(list(out.glob("unlabeled-*.json")))
    assert 1 <= done < 20, f"the kill came too late to test anything ({done} chunks done)"

    result = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert f"{done} chunk(s) were already done" in result.stdout
    clean, resumed = store_maps(tmp_path / "clean"), store_maps(out)
    assert clean.keys() == resumed.keys() and len(clean) == 400
    for sid, m in clean.items():
        np.testing.assert_array_equal(resumed[sid], m)
    assert not list(out.glob("*.tmp"))


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_ray_actor_pool_writes_the_inline_store(tmp_path):
    raw_formats.write_stl10(tmp_path / "raw", counts=(("train", 12), ("test", 5)))
    inline = run_job("stl10", tmp_path / "raw", tmp_path / "inline", chunk_size=4)
    pooled = run_job("stl10", tmp_path / "raw", tmp_path / "ray", workers=2, chunk_size=4)
    assert pooled.workers == 2 and pooled.splits == inline.splits
    a, b = store_maps(tmp_path / "inline"), store_maps(tmp_path / "ray")
    assert a.keys() == b.keys()
    for sid in a:
        np.testing.assert_array_equal(a[sid], b[sid])
    ids = json.loads((tmp_path / "ray" / "train-000000.json").read_text())
    assert ids == [schema.sample_id("stl10", "train", str(i)) for i in range(4)]
