"""End to end through `render` on local Ray: layout, splits, failures, resume, determinism."""

import colorsys
import importlib.util
import json
import os

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from seqjepa.preprocess.render.cli import render
from seqjepa.preprocess.render.objects import write_builtin_objects
from seqjepa.preprocess.render.poses import view_latent

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="needs bpy"),
    pytest.mark.slow,
]
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _cli(args):
    app = typer.Typer()
    app.command()(render)
    return CliRunner().invoke(app, args)


def _snapshot(folder):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}


def _hue(patch):
    r, g, b = patch.reshape(-1, 3).mean(0) / 255
    return colorsys.rgb_to_hsv(r, g, b)[0]


@pytest.mark.timeout(400)
def test_render_resume_and_settings_guard(tmp_path, ray_local):
    root = tmp_path / "shapenet"
    keys = write_builtin_objects(root)
    (crate_s, crate_o), (can_s, can_o) = keys[0], keys[3]  # the two textured objects
    broken = root / crate_s / "broken" / "models"
    broken.mkdir(parents=True)
    (broken / "model_normalized.obj").write_text("this is not a mesh\n")
    split = tmp_path / "split.txt"
    split.write_text(f"{can_s}/{can_o}\n{crate_s}/broken\n{crate_s}/{crate_o}\n")
    out = tmp_path / "out"
    args = ["--shapenet", str(root), "--objects", str(split), "--out", str(out), "--views", "2"]
    args += ["--first-view", "2", "--mode", "so3-ood", "--seed", "5", "--size", "64"]
    args += ["--samples", "4", "--workers", "2", "--no-progress", "--split-name", "ood"]

    first = _cli(args)
    assert first.exit_code == 0, first.output
    assert "rendered 2 object(s), 4 frame(s)" in first.output and "1 failed" in first.output
    assert f"failed {crate_s}/broken" in first.output

    for s, o in ((crate_s, crate_o), (can_s, can_o)):
        folder = out / s / o
        assert sorted(p.name for p in folder.iterdir()) == [
            ".done", "image_2.jpg", "image_3.jpg", "latent_2.npy", "latent_3.npy",
        ]  # fmt: skip
        for k in (2, 3):
            lat = np.load(folder / f"latent_{k}.npy", allow_pickle=False)
            assert lat.dtype == np.float64 and lat.shape == (7,)
            assert np.array_equal(lat, view_latent("so3-ood", 5, s, o, k))
            img = cv2.imread(str(folder / f"image_{k}.jpg"))
            assert img.shape == (64, 64, 3)
            # 3diebench channel order: a standard reader sees hue (2/3 - h) mod 1 on the floor
            seen = _hue(img[:8, :, ::-1])
            gap = abs(seen - (2 / 3 - lat[3]) % 1) % 1
            assert min(gap, 1 - gap) < 0.06
    assert not (out / crate_s / "broken" / ".done").exists()

    images = np.load(out / "ood_images.npy", allow_pickle=False)
    labels = np.load(out / "ood_labels.npy", allow_pickle=False)
    assert list(images) == [f"/{can_s}/{can_o}/", f"/{crate_s}/{crate_o}/"]
    assert images.dtype.kind == "U" and labels.dtype == np.int64
    assert list(labels) == [1, 0]  # index into the sorted synsets [crate_s, can_s]
    manifest = json.loads((out / "render.json").read_text())
    assert manifest["settings"]["mode"] == "so3-ood" and manifest["settings"]["samples"] == 4
    assert manifest["settings"]["channel_order"] == "3diebench"
    assert manifest["bpy"].startswith("4.2")
    assert manifest["objects"][f"{crate_s}/broken"]["status"] == "failed"
    assert manifest["objects"][f"{can_s}/{can_o}"]["status"] == "done"

    # an interrupted object: no marker, a view missing; the other object must not be touched
    crate_dir, can_dir = out / crate_s / crate_o, out / can_s / can_o
    kept = _snapshot(crate_dir)
    before = _snapshot(can_dir)
    (can_dir / ".done").unlink()
    (can_dir / "image_3.jpg").unlink()
    second = _cli(args)
    assert second.exit_code == 0, second.output
    assert "rendered 1 object(s)" in second.output and "1 already done" in second.output
    assert _snapshot(crate_dir) == kept
    after = _snapshot(can_dir)
    for k in (2, 3):
        assert after[f"latent_{k}.npy"][0] == before[f"latent_{k}.npy"][0]
        old = cv2.imdecode(np.frombuffer(before[f"image_{k}.jpg"][0], np.uint8), 1).astype(float)
        new = cv2.imdecode(np.frombuffer(after[f"image_{k}.jpg"][0], np.uint8), 1).astype(float)
        assert np.abs(old - new).max() <= 2  # same view, same image
    assert list(np.load(out / "ood_images.npy")) == list(images)

    # different settings into the same directory: refused, nothing changed
    manifest_bytes = (out / "render.json").read_bytes()
    changed = list(args)
    changed[changed.index("--samples") + 1] = "8"
    third = _cli(changed)
    assert third.exit_code == 2
    assert third.output.startswith("error: ") and "samples 4 -> 8" in third.output
    assert (out / "render.json").read_bytes() == manifest_bytes
    assert _snapshot(crate_dir) == kept
