"""Every baseline through the real CLIs: `seqjepa-train --method X` on tiny shards, then
`seqjepa-eval run` on its checkpoint (encoder-level heads, the paper's protocol for baselines)."""

import json

import pandas as pd
import pytest
import yaml
from data.tiny import BASELINE_HEADS, TINY, head_overrides
from typer.testing import CliRunner

from seqjepa.evaluate.cli import app as eval_app
from seqjepa.model import METHODS
from seqjepa.train.cli import app as train_app

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SEQJEPA_ONLY = ("model.",)  # the shared tiny list's model keys are seq-JEPA's
COMMON = [o for o in TINY if not o.startswith(SEQJEPA_ONLY)] + [
    "optim.warmup_epochs=0",
    "optim.epochs=1",
    "optim.iters_per_epoch=2",
    "run.tensorboard=false",
]


def preset(tmp_path, data: dict) -> str:
    """A seq-JEPA preset (with a seq-JEPA model section) that --method must replace cleanly."""
    path = tmp_path / "preset.yaml"
    config = {"method": "seqjepa", "model": {"num_layers": 1}, "data": data}
    path.write_text(yaml.safe_dump(config))
    return str(path)


def train_then_eval(tmp_path, method, config, shards, split, extra_eval=()):
    run = tmp_path / "run"
    args = ["--config", config, "--method", method, "--shards", str(shards), "--out", str(run)]
    result = CliRunner().invoke(
        train_app, [*args, "--no-progress", *COMMON, *head_overrides(method)]
    )
    assert result.exit_code == 0, result.output
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["method"] == method and saved["optim"]["optimizer"] == "adam"
    assert saved["optim"]["lr"] == 1e-3 and saved["optim"]["weight_decay"] == 0.0
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "step" in r] == [0, 1]
    if method == "vicreg":  # the method's loss terms are logged beside the loss
        assert set(log[0]["terms"]) == {"inv", "var", "cov"}
    again = CliRunner().invoke(
        train_app, [*args, "--no-progress", *COMMON, *head_overrides(method)]
    )
    assert again.exit_code == 0 and "already trained to step 2; nothing to do" in again.output
    out = tmp_path / "eval"
    args = [str(run / "latest.pt"), "--shards", str(shards), "--train-split", split]
    args += ["--eval-split", split, "--out", str(out), "--quick", "--no-progress", *extra_eval]
    result = CliRunner().invoke(eval_app, ["run", *args])
    assert result.exit_code == 0, result.output
    return saved, pd.read_parquet(out / "results.parquet"), out


OBJECTS = {
    "setting": "objects",
    "split": "all",
    "action": "rot",
    "image_size": 32,
    "seq_len": 3,
    "batch_size": 3,
}


@pytest.mark.parametrize("method", sorted(set(BASELINE_HEADS) - {"conv-jepa"}))
def test_baseline_trains_and_evaluates_on_object_shards(tmp_path, object_shards, method):
    figures = ("--no-figures",) if method != "sie" else ()
    saved, table, out = train_then_eval(
        tmp_path, method, preset(tmp_path, OBJECTS), object_shards, "all", figures
    )
    views = 3 if method == "vicreg-traj" else 2
    assert saved["data"]["seq_len"] == views - 1  # the loader read only the views used
    # Baselines are probed on encoder outputs only (no z_AGG or path integration); those with a
    # predictor are also scored by retrieval (SIE's protocol).
    tasks = {"classification", "rel_rotation", "abs_rotation", "colour"}
    if METHODS[method].predicts_views:
        tasks.add("retrieval")
        hits = table[table.task == "retrieval"].set_index("metric").value
        assert 0 < hits["mrr"] <= 1 and hits["hit@1"] <= hits["hit@5"]
    assert set(table.task) == tasks
    assert set(table[table.task == "classification"].representation) == {"z_res"}
    report = (out / "report.md").read_text()
    if method == "sie":  # the paper's rows for SIE are printed beside ours
        assert "77.49 (M_tr=1, Table 1)" in report and "0.580 (M_tr=1, Table 1)" in report
        assert "0.319 (M_tr=1, Table 10)" in report
        assert (out / "figures" / "embeddings.png").is_file()


def test_conv_jepa_trains_and_evaluates_on_saccade_shards(tmp_path, saccade_shards):
    directory, _ = saccade_shards
    data = {
        "setting": "saccades",
        "action": "pos",
        "patch_size": 16,
        "seq_len": 3,
        "image_size": 0,
        "batch_size": 4,
    }
    saved, table, out = train_then_eval(
        tmp_path, "conv-jepa", preset(tmp_path, data), directory, "train", ("--no-figures",)
    )
    assert saved["data"]["seq_len"] == 3  # Conv-JEPA reads the whole saccade sequence
    assert set(table.task) == {"classification", "position"}
    assert "80.04 (M_tr=4, Table 3)" in (out / "report.md").read_text()


def test_method_and_data_mismatches_are_one_line_errors(tmp_path, object_shards):
    config = preset(tmp_path, OBJECTS)
    args = ["--config", config, "--shards", str(object_shards), "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(train_app, [*args, "--method", "conv-jepa"])
    assert result.exit_code == 2
    assert "method 'conv-jepa' works with the saccades or augment setting" in result.output
    result = CliRunner().invoke(train_app, [*args, "method=simclr"])
    assert result.exit_code == 2  # the preset's seq-JEPA settings do not fit SimCLR
    assert "unknown key 'model.num_layers'" in result.output
    result = CliRunner().invoke(train_app, [*args, "method=simclr", "model=null"])
    assert result.exit_code == 2
    assert "reads 2 views per sample, so data.seq_len must be 1" in result.output
    assert "`seqjepa-train --method simclr` sets it" in result.output
    result = CliRunner().invoke(train_app, [*args, "--method", "simsiam"])
    assert result.exit_code == 2 and "unknown method 'simsiam'" in result.output
