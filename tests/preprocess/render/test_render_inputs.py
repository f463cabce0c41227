"""Built-in objects, split/class files, the output layout and the CLI's input errors (no bpy)."""

import json

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from seqjepa.preprocess.render.cli import render
from seqjepa.preprocess.render.layout import OutputTree, decode_view, encode_view
from seqjepa.preprocess.render.objects import SYNSETS, write_builtin_objects
from seqjepa.preprocess.render.sources import (
    InputError,
    check_objects,
    check_root,
    objects_of_synsets,
    read_class_list,
    read_split_file,
)


def _obj_vertices(path):
    lines = path.read_text().splitlines()
    v = np.array([[float(x) for x in ln.split()[1:4]] for ln in lines if ln.startswith("v ")])
    faces = [ln for ln in lines if ln.startswith("f ")]
    idx = np.array([int(tok.split("/")[0]) for f in faces for tok in f.split()[1:]])
    return v, idx


def _tree_bytes(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_builtin_objects_are_shapenet_like_and_deterministic(tmp_path):
    keys = write_builtin_objects(tmp_path / "a")
    assert write_builtin_objects(tmp_path / "b") == keys
    assert _tree_bytes(tmp_path / "a") == _tree_bytes(tmp_path / "b")
    assert len(keys) >= 5 and {s for s, _ in keys} == set(SYNSETS)
    textured = 0
    for synset, obj in keys:
        assert len(obj) == 32 and int(obj, 16) >= 0
        models = tmp_path / "a" / synset / obj / "models"
        v, idx = _obj_vertices(models / "model_normalized.obj")
        assert idx.min() == 1 and idx.max() == len(v)
        lo, hi = v.min(0), v.max(0)
        assert np.allclose((lo + hi) / 2, 0, atol=1e-5)
        assert np.linalg.norm(hi - lo) == pytest.approx(1.0, abs=1e-4)
        mtl = (models / "model_normalized.mtl").read_text()
        assert "Kd " in mtl
        for line in mtl.splitlines():
            if line.startswith("map_Kd"):
                tex = cv2.imread(str(models / line.split()[1]))
                assert tex is not None and tex.std() > 10
                textured += 1
    assert textured >= 2
    taxonomy = json.loads((tmp_path / "a" / "taxonomy.json").read_text())
    assert {t["synsetId"] for t in taxonomy} == set(SYNSETS)
    assert sum(t["numInstances"] for t in taxonomy) == len(keys)
    check_root(tmp_path / "a")
    found, skipped = objects_of_synsets(tmp_path / "a", sorted(SYNSETS))
    assert sorted(found) == sorted(keys) and skipped == 0


def test_split_files_round_trip_in_3diebench_format(tmp_path):
    objects = [("02691156", "a1"), ("04379243", "t9"), ("02691156", "a0")]
    classes = ["04379243", "02691156", "03001627"]
    tree = OutputTree(tmp_path)
    images_path, labels_path = tree.write_split("val", objects, sorted(classes))
    images = np.load(images_path, allow_pickle=False)
    labels = np.load(labels_path, allow_pickle=False)
    assert images.dtype.kind == "U" and list(images) == [
        "/02691156/a1/",
        "/04379243/t9/",
        "/02691156/a0/",
    ]
    assert labels.dtype == np.int64 and list(labels) == [0, 2, 0]
    assert read_split_file(images_path) == objects
    text = tmp_path / "split.txt"
    text.write_text("# objects\n02691156/a1\n\n/04379243/t9/  # a table\n02691156/a1\n")
    assert read_split_file(text) == objects[:2]
    (tmp_path / "classes.txt").write_text("\n".join(classes))
    assert read_class_list(tmp_path / "classes.txt") == sorted(classes)


@pytest.mark.parametrize(
    "content, match",
    [
        ("02691156\n", "entry 1"),
        ("a/b/c\n", "entry 1"),
        ("", "no objects"),
    ],
)
def test_bad_split_files(tmp_path, content, match):
    path = tmp_path / "split.txt"
    path.write_text(content)
    with pytest.raises(InputError, match=match):
        read_split_file(path)


def test_bad_npy_split_and_missing_objects(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(3))
    with pytest.raises(InputError, match="int64"):
        read_split_file(tmp_path / "x.npy")
    with pytest.raises(InputError, match="not found"):
        read_split_file(tmp_path / "nope.npy")
    root = tmp_path / "shapenet"
    keys = write_builtin_objects(root)
    check_objects(root, keys, "split")
    with pytest.raises(InputError, match="1 object"):
        check_objects(root, [*keys, (keys[0][0], "missing")], "split")
    with pytest.raises(InputError, match="99999999"):
        check_objects(root, [("99999999", "x")], "split")
    with pytest.raises(InputError, match="unknown synset"):
        objects_of_synsets(root, ["99999999"])


def test_channel_orders():
    """3diebench stores R and B swapped (as SIE's cv2.imwrite of an RGB array); rgb does not."""
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 200  # pure red in RGB
    on_disk = {
        o: cv2.imdecode(np.frombuffer(encode_view(red, o), np.uint8), 1)
        for o in ("3diebench", "rgb")
    }
    # cv2 decodes to BGR: a standard viewer shows the 3diebench file blue, the rgb file red
    assert on_disk["3diebench"][..., 0].mean() > 190 and on_disk["3diebench"][..., 2].mean() < 10
    assert on_disk["rgb"][..., 2].mean() > 190 and on_disk["rgb"][..., 0].mean() < 10
    for order in ("3diebench", "rgb"):
        back = decode_view(encode_view(red, order), order)
        assert back[..., 0].mean() > 190 and back[..., 2].mean() < 10


def _cli(args):
    app = typer.Typer()
    app.command()(render)
    return CliRunner().invoke(app, args)


def _assert_one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for w in words:
        assert w in lines[0]


def test_cli_rejects_bad_input_without_writing(tmp_path):
    out = tmp_path / "out"
    root = tmp_path / "shapenet"
    keys = write_builtin_objects(root)
    r = _cli(["--shapenet", str(tmp_path / "nowhere"), "--synsets", "02691156", "--out", str(out)])
    _assert_one_line_error(r, "nowhere", "--shapenet")
    r = _cli(["--shapenet", str(root), "--synsets", "02691156", "--out", str(out)])
    _assert_one_line_error(r, "02691156", "unknown synset")
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{keys[0][0]}/{keys[0][1]}\nnot-a-pair\n")
    r = _cli(["--shapenet", str(root), "--objects", str(bad), "--out", str(out)])
    _assert_one_line_error(r, str(bad), "entry 2")
    r = _cli(["--shapenet", str(root), "--out", str(out)])
    _assert_one_line_error(r, "--objects", "--synsets")
    r = _cli(["--shapenet", "builtin", "--synsets", "02691156", "--out", str(out)])
    _assert_one_line_error(r, "02691156", "built-in")
    r = _cli(["--shapenet", "builtin", "--out", str(out), "--samples", "0"])
    _assert_one_line_error(r, "samples")
    assert not out.exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "image_0.jpg").write_bytes(b"x")
    r = _cli(["--shapenet", "builtin", "--out", str(busy)])
    _assert_one_line_error(r, str(busy), "not empty")
    assert sorted(p.name for p in busy.iterdir()) == ["image_0.jpg"]


def test_procedural_set_has_twenty_distinct_objects_per_class(tmp_path):
    from seqjepa.preprocess.render.objects import OBJECTS_PER_FAMILY, PROCEDURAL_SYNSETS

    keys = [k for k in write_builtin_objects(tmp_path) if k[0] in PROCEDURAL_SYNSETS]
    assert len(PROCEDURAL_SYNSETS) == 10 and len(keys) == 10 * OBJECTS_PER_FAMILY == 200
    meshes = {(tmp_path / s / o / "models" / "model_normalized.obj").read_text() for s, o in keys}
    assert len(meshes) == len(keys)  # no two objects share a mesh
