"""scripts/demo.py (`make demo`): stage plan, resume markers, built-in data, report, end to end."""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_options import command_key, prefetch, unknown_options

ROOT = Path(__file__).resolve().parents[1]


def _load_demo():
    spec = importlib.util.spec_from_file_location("seqjepa_demo", ROOT / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


demo = _load_demo()


def test_make_demo_runs_the_script():
    makefile = (ROOT / "Makefile").read_text()
    assert "scripts/demo.py --out $(DEMO_OUT)" in makefile
    assert "pip install --quiet -e '.[render]'" in makefile  # bpy for the render stage


def test_plan_names_existing_configs_and_real_options(tmp_path):
    stages = demo.plan(tmp_path, demo.PROFILES["full"], 2, saccades=True, progress=False)
    names = [s.name for s in stages]
    assert names[0] == "objects/render" and names[-1] == "saccades/eval"
    assert len(set(names)) == len(names)
    commands = [s.argv for s in stages if s.argv]
    for argv in commands:
        for arg in argv:
            if arg.endswith(".yaml"):
                assert Path(arg).is_file(), arg
    by_name = {s.name: s.argv for s in stages}
    assert "--quick" in by_name["objects/eval"]
    assert by_name["objects/train"][by_name["objects/train"].index("--shards") + 1] == str(
        tmp_path / "objects" / "shards"
    )
    assert {"saccades/saliency", "saccades/eval"} <= set(names)  # the full plan has both legs
    only_objects = demo.plan(tmp_path, demo.PROFILES["full"], 2, saccades=False, progress=True)
    assert all(s.name.startswith("objects/") for s in only_objects)


@pytest.mark.slow  # the --help of five CLIs (each imports torch and Ray)
def test_plan_uses_only_real_cli_options(tmp_path):
    stages = demo.plan(tmp_path, demo.PROFILES["full"], 2, saccades=True, progress=False)
    commands = [s.argv for s in stages if s.argv]
    prefetch(command_key(a) for a in commands)
    for argv in commands:
        assert not unknown_options(argv), (argv, unknown_options(argv))


def test_object_splits_cover_every_class_and_are_stable(tmp_path):
    splits = demo.write_object_splits(tmp_path)
    images = {s: np.load(splits / f"{s}_images.npy") for s in ("train", "val")}
    labels = {s: np.load(splits / f"{s}_labels.npy") for s in ("train", "val")}
    assert len(images["train"]) == 5 and len(images["val"]) == 3
    assert not set(images["train"]) & set(images["val"])
    assert set(labels["train"]) == set(labels["val"]) == {0, 1, 2}
    for split in images:  # label = rank of the synset, as 3DIEBench
        synsets = [p.strip("/").split("/")[0] for p in images[split]]
        ranks = [["90000001", "90000002", "90000003"].index(s) for s in synsets]
        assert list(labels[split]) == ranks
    mtimes = {p: p.stat().st_mtime_ns for p in splits.iterdir()}
    demo.write_object_splits(tmp_path)  # unchanged bytes are not rewritten (shard fingerprint)
    assert {p: p.stat().st_mtime_ns for p in splits.iterdir()} == mtimes


def test_photo_folder_is_an_imagefolder_of_real_photos(tmp_path):
    from PIL import Image

    profile = demo.PROFILES["smoke"]
    counts = demo.write_photo_folder(tmp_path, profile)
    assert counts == {"train": 3 * profile.crops_train, "val": 3 * profile.crops_val}
    assert sorted(p.name for p in (tmp_path / "train").iterdir()) == ["china", "flower", "hopper"]
    files = sorted(tmp_path.rglob("*.png"))
    with Image.open(files[0]) as im:
        assert im.size == (profile.crop_px, profile.crop_px) and im.mode == "RGB"
        assert "icc_profile" not in im.info
    before = [f.read_bytes() for f in files]
    demo.write_photo_folder(tmp_path, profile)
    assert [f.read_bytes() for f in files] == before  # deterministic


def test_mrr_chance():
    assert demo.mrr_chance(1) == 1.0
    assert demo.mrr_chance(2) == pytest.approx(0.75)
    assert demo.mrr_chance(16) == pytest.approx(0.2112956)  # H_16 / 16, computed by hand


def _results_csv(path: Path, rows: list[tuple]) -> None:
    path.mkdir(parents=True)
    header = ["split", "task", "representation", "metric", "value", "m_val"]
    header += ["variant", "probe", "n_train", "n_eval"]
    with (path / "results.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for task, rep, metric, value, m_val, variant in rows:
            w.writerow(["val", task, rep, metric, value, m_val, variant, "linear", 5, 3])


def test_report_headlines_and_notes(tmp_path):
    _results_csv(
        tmp_path / "objects" / "eval",
        [
            ("classification", "z_agg", "top1", 66.67, 3, "full"),
            ("rel_rotation", "z_pair", "r2_sklearn", -0.5, "", "full"),
            ("retrieval", "predictor", "mrr", 0.25, 3, "full"),
        ],
    )
    run = tmp_path / "objects" / "train"
    run.mkdir(parents=True)
    (run / "log.jsonl").write_text(
        '{"step": 0, "loss": 0.99}\n{"step": 9, "loss": 0.3}\n'
        '{"epoch_end": 0, "probe_acc": 0.5, "probe_r2": 0.1}\n'
    )
    rows = demo.headline_objects(tmp_path / "objects" / "eval", views=16)
    values = {name.split(" (")[0].split(",")[0]: value for name, value, _ in rows}
    assert values["linear probe top-1 on z_AGG"] == "66.7 %"
    assert values["relative-rotation R²"] == "-0.500"
    assert values["relative-rotation error"] == "–"  # missing rows are shown, not fatal
    results = [demo.StageResult("objects/train", "objects: train", "seqjepa-train ...", 12.0, True)]
    path = demo.write_report(tmp_path, results, demo.PROFILES["full"], False, 2, 3.0)
    text = path.read_text()
    assert "| objects: train | 12 (earlier) | `seqjepa-train ...` |" in text
    assert "loss 0.990 → 0.300" in text
    assert "0.211 (random ranking)" in text  # MRR chance for 16 views
    assert "not evidence about seq-JEPA" in text


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="needs bpy (render extra)")
def test_demo_end_to_end_smoke_and_resume(tmp_path):
    """The rotation leg with tiny sizes: real render, shard, train, eval, report; then a re-run
    that skips every stage."""
    out = tmp_path / "demo"
    cmd = [sys.executable, str(ROOT / "scripts" / "demo.py"), "--out", str(out)]
    cmd += ["--profile", "smoke", "--no-saccades", "--num-cpus", "1", "--no-progress"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    report = out / "report.md"
    assert first.stdout.strip().endswith(f"report: {report}")
    text = report.read_text()
    assert "objects: train seq-JEPA" in text and "## What these numbers mean" in text
    for rel in ("objects/eval/report.md", "objects/eval/results.csv", "objects/preview.png"):
        assert (out / rel).is_file(), rel
    assert "(earlier)" not in text
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.count("done earlier") == 7
    assert report.read_text().count("(earlier)") == 7
