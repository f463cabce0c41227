"""`seqjepa-eval run` end to end: a tiny checkpoint trained on real shards → table, report, figures.

One checkpoint per setting is trained for a few steps (module fixtures), then evaluated with
`--quick` through the real CLI.
"""

import json

import numpy as np
import pandas as pd
import pytest
from data import raw_formats
from data.tiny import TINY as TINY_BASE
from matplotlib.image import imread
from typer.testing import CliRunner

from seqjepa.evaluate.cli import app
from seqjepa.preprocess.readers.open import open_reader
from seqjepa.preprocess.shard import ShardOptions, shard_dataset
from seqjepa.train.config import load_config
from seqjepa.train.trainer import Trainer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

TINY = [
    *TINY_BASE,
    "optim.warmup_epochs=0",
    "optim.epochs=2",
    "optim.iters_per_epoch=2",
    "run.tensorboard=false",
]


def train(run_dir, overrides):
    Trainer(load_config(None, TINY + overrides), run_dir).fit(progress=False)
    return run_dir / "latest.pt"


@pytest.fixture(scope="module")
def objects_checkpoint(tmp_path_factory, object_shards):
    run = tmp_path_factory.mktemp("objects_run")
    return train(
        run,
        [
            f"data.shards={object_shards}",
            "data.split=all",
            "data.setting=objects",
            "data.image_size=32",
            "data.seq_len=2",
            "data.batch_size=3",
        ],
    )


@pytest.fixture(scope="module")
def ood_shards(tmp_path_factory):
    """A rendered-OOD-like objects set: 4 views (ids 2..5) per object, same two synsets."""
    root = tmp_path_factory.mktemp("ood")
    raw_formats.write_3diebench(root / "raw", objects=2, views=(2, 3, 4, 5))
    out = root / "paper-ood"
    shard_dataset(
        open_reader("3diebench", root / "raw"),
        out,
        options=ShardOptions(shard_size=2),
        workers=0,
        progress=False,
    )
    return out


def run_cli(*args):
    return CliRunner().invoke(app, ["run", *map(str, args), "--quick", "--no-progress"])


def check_figures(out, names):
    for name in names:
        path = out / "figures" / f"{name}.png"
        assert path.is_file() and path.stat().st_size > 5000, name
        assert imread(path)[..., :3].std() > 0.01, f"{name} is blank"


def test_objects_end_to_end_with_ood(tmp_path, objects_checkpoint, object_shards, ood_shards):
    out = tmp_path / "results"
    args = [objects_checkpoint, "--shards", object_shards, "--train-split", "all"]
    args += ["--eval-split", "all", "--out", out, "--ood-shards", ood_shards]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "results.parquet")
    assert len(pd.read_csv(out / "results.csv")) == len(table)
    ours = table[table.split == "all"]
    assert {"classification", "rel_rotation", "abs_rotation", "colour", "prediction"} <= set(
        ours.task
    )
    assert {"retrieval", "path_integration"} <= set(ours.task)
    agg = ours[(ours.task == "classification") & (ours.representation == "z_agg")]
    assert sorted(agg.m_val) == [1, 2, 3, 4, 5]  # default sweep: 1, 3, 5, M_tr, M_tr + 2
    assert ours.loc[ours.task == "classification", "value"].between(0, 100).all()
    rel = ours[ours.task == "rel_rotation"]
    assert set(rel.metric) == {"r2_sklearn", "r2_global", "rot_err_deg"}
    assert rel.loc[rel.metric == "rot_err_deg", "value"].between(0, 180).all()
    hits = ours[ours.task == "retrieval"].pivot_table(
        index="m_val", columns="metric", values="value"
    )
    assert ((hits["hit@1"] <= hits["hit@5"]) & (hits["mrr"] > 0) & (hits["mrr"] <= 1)).all()
    pi = ours[ours.task == "path_integration"]
    assert set(pi.variant) == {"full", "actions zeroed", "visual zeroed"}
    assert sorted(pi.m_val.unique()) == [1, 2, 3, 4, 5]
    ood = table[table.split.str.startswith("ood:paper-ood/")]
    assert set(ood.split) == {"ood:paper-ood/train", "ood:paper-ood/val"}
    assert set(ood.task) == {
        "classification",
        "rel_rotation",
        "abs_rotation",
        "colour",
        "prediction",
    }
    assert set(ood.m_val.dropna()) == {1, 2, 3}  # 4 stored views: M_val 4 and 5 do not fit

    report = (out / "report.md").read_text()
    assert "84.08 (M_tr=1, Table 12)" in report  # the paper's number beside our z_AGG, M_val=1
    assert "0.650 (M_tr=1, Table 1)" in report
    assert "Table 9 (paper's OOD set)" in report and "## Timings" in report
    payload = json.loads((out / "results.json").read_text())
    proto = payload["protocol"]
    assert proto["m_vals"] == [1, 2, 3, 4, 5] and proto["seed"] == 0 and proto["quick"]
    assert proto["heads"]["mlp_epochs"] == 10 and "without replacement" in proto["sampling"]
    assert {"load checkpoint", "features: train", "path integration", "figures"} <= set(
        payload["timings_s"]
    )
    check_figures(out, ["embeddings", "retrieval_grid", "accuracy_vs_m", "path_integration"])

    again = run_cli(*args, "--no-figures")  # features come from the cache; same numbers
    assert again.exit_code == 0, again.output
    cache = json.loads((out / "results.json").read_text())["cache"]
    assert all(entry["hit"] for entry in cache.values())
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), table)

    redraw = CliRunner().invoke(app, ["figures", str(out)])
    assert redraw.exit_code == 0, redraw.output
    check_figures(out, ["embeddings"])


def test_saccades_end_to_end(tmp_path, saccade_shards):
    directory, _ = saccade_shards
    checkpoint = train(
        tmp_path / "run",
        [
            f"data.shards={directory}",
            "data.setting=saccades",
            "data.action=pos",
            "data.patch_size=16",
            "data.seq_len=2",
            "data.image_size=0",
            "data.batch_size=4",
            "model.cifar_stem=false",
        ],
    )
    out = tmp_path / "results"
    result = run_cli(
        checkpoint,
        "--shards",
        directory,
        "--train-split",
        "train",
        "--eval-split",
        "train",
        "--out",
        out,
        "--m-val",
        "1,3",
    )
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "results.parquet")
    assert set(table.task) == {"classification", "position", "prediction", "path_integration"}
    pos = table[table.task == "position"]
    assert set(pos.metric) == {"r2_sklearn", "r2_global"} and set(pos.probe) == {"linear"}
    pi = table[table.task == "path_integration"]
    assert set(pi.probe) == {"linear"} and sorted(pi.m_val.unique()) == [1, 3]
    report = (out / "report.md").read_text()
    assert "Table 3" in report and "Table 12" in report
    check_figures(out, ["embeddings", "saccades", "accuracy_vs_m", "path_integration"])


def test_augment_end_to_end(tmp_path, cifar_shards):
    checkpoint = train(
        tmp_path / "run",
        [
            f"data.shards={cifar_shards}",
            "data.setting=augment",
            "data.action=crop+jitter",
            "data.image_size=32",
            "data.seq_len=2",
            "data.batch_size=4",
            "model.cifar_stem=false",
        ],
    )
    out = tmp_path / "results"
    args = [checkpoint, "--shards", cifar_shards, "--train-split", "train", "--eval-split"]
    result = run_cli(*args, "train", "--out", out, "--m-val", "1,2", "--no-figures")
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "results.parquet")
    assert set(table.task) == {"classification", "crop", "jitter", "blur", "prediction"}
    assert table.groupby("task").probe.first().to_dict() == {
        "blur": "linear",
        "classification": "linear",
        "crop": "mlp",
        "jitter": "mlp",
        "prediction": "",
    }
    assert "no numbers for this dataset and conditioning" in (out / "report.md").read_text()
    proto = json.loads((out / "results.json").read_text())["protocol"]
    assert proto["fresh_per_epoch"] and proto["sequences_per_sample"] == 10  # --quick: 10 epochs

    # The same seed gives the same numbers twice (features re-extracted: a fresh cache).
    again = tmp_path / "again"
    result = run_cli(*args, "train", "--out", again, "--m-val", "1,2", "--no-figures")
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(table, pd.read_parquet(again / "results.parquet"))

    # Three seeded sequences per image: three times the points, each pass a new augmentation.
    out3 = tmp_path / "results3"
    result = run_cli(*args, "train", "--out", out3, "--m-val", "1", "--no-figures",
                     "--sequences-per-sample", "3", "--eval-sequences-per-sample", "3")  # fmt: skip
    assert result.exit_code == 0, result.output
    table3 = pd.read_parquet(out3 / "results.parquet")
    n1 = table[table.task == "crop"].n_eval.iloc[0]
    assert table3[table3.task == "crop"].n_eval.iloc[0] == 3 * n1 == 3 * 16
    payload = json.loads((out3 / "results.json").read_text())
    assert payload["protocol"]["sequences_per_sample"] == 3
    feats = np.load(payload["cache"]["eval"]["path"])
    params = feats["params"]
    assert (feats["keys"][:16] == feats["keys"][16:32]).all()
    assert not np.allclose(params[:16], params[16:32])  # another draw of the augmentations


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--m-val", "6"], "evaluating needs 7 views per object (M_val 6 observed + 1 target)"),
        (["--conventions", "scipy"], "--conventions must be canonical or paper"),
        (["--eval-split", "val"], "split 'val' is not in"),
    ],
)
def test_bad_input_is_a_one_line_error(tmp_path, objects_checkpoint, object_shards, extra, message):
    args = [objects_checkpoint, "--shards", object_shards, "--train-split", "all"]
    args += ["--eval-split", "all", "--out", tmp_path / "r", *extra]
    result = run_cli(*args)
    assert result.exit_code == 2
    assert f"error: {message}" in result.output
    assert "Traceback" not in result.output


def test_missing_checkpoint_and_wrong_shards(tmp_path, objects_checkpoint, saccade_shards):
    directory, _ = saccade_shards
    common = ["--train-split", "train", "--eval-split", "train", "--out", tmp_path / "r"]
    missing = run_cli(tmp_path / "nope.pt", "--shards", directory, *common)
    assert missing.exit_code == 2 and "error: checkpoint" in missing.output
    wrong = run_cli(objects_checkpoint, "--shards", directory, *common)
    assert wrong.exit_code == 2
    assert "holds images shards, but the checkpoint was trained on the objects" in wrong.output
