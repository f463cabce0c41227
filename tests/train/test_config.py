import pytest
import yaml

from seqjepa.model import SeqJEPA
from seqjepa.train.config import ConfigError, load_config, save_config


def write(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_defaults_are_the_paper_settings():
    cfg = load_config()
    assert isinstance(cfg.model, SeqJEPA.Config)
    assert (cfg.optim.optimizer, cfg.optim.lr, cfg.optim.weight_decay) == ("adamw", 4e-4, 1e-3)
    assert (cfg.optim.start_lr, cfg.optim.final_lr, cfg.optim.warmup_epochs) == (1e-5, 1e-5, 20)
    assert cfg.data.batch_size == 512 and cfg.optim.ema_base == 0.996


def test_yaml_and_overrides(tmp_path):
    p = write(tmp_path, "data:\n  seq_len: 1\nmodel:\n  action_embed_dim: 64\n")
    cfg = load_config(p, ["data.batch_size=64", "optim.lr=1e-3", "model.condition_predictor=false"])
    assert cfg.data.seq_len == 1 and cfg.data.batch_size == 64
    assert cfg.optim.lr == 1e-3 and isinstance(cfg.optim.lr, float)
    assert cfg.model.action_embed_dim == 64 and cfg.model.condition_predictor is False


def test_int_is_accepted_for_float():
    cfg = load_config(None, ["optim.lr=1"])
    assert cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.seq_lne=3"], r"unknown key 'data.seq_lne' \(did you mean 'data.seq_len'\?\)"),
        (["model.action_dim=3"], r"unknown key 'model.action_dim'"),
        (["bogus.x=1"], r"unknown key 'bogus'"),
        (["data.seq_len=three"], r"data.seq_len must be int, got str 'three'"),
        (["data.seq_len=2.5"], r"data.seq_len must be int"),
        (["model.ema=1"], r"model.ema must be bool"),
        (["data.setting=video"], r"data.setting must be one of objects, augment"),
        (["data.seq_len=0"], r"data: seq_len must be >= 1"),
        (["optim.warmup_epochs=30", "optim.epochs=10"], r"warmup_epochs must be in"),
        (["method=nope"], r"unknown method 'nope'"),
        (["data=3"], r"data must be a mapping"),
        (["novalue"], r"must look like section.key=value"),
    ],
)
def test_bad_configs_give_clear_errors(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, overrides)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "data: [unclosed"))
    with pytest.raises(ConfigError, match="mapping of sections"):
        load_config(write(tmp_path, "- a\n- b\n"))


def test_saved_config_round_trips(tmp_path):
    cfg = load_config(None, ["data.seq_len=5", "model.num_layers=2"])
    path = save_config(cfg, tmp_path / "run")
    saved = yaml.safe_load(path.read_text())
    assert saved["data"]["seq_len"] == 5 and saved["model"]["num_layers"] == 2
    assert load_config(path) == cfg


@pytest.mark.parametrize("preset", sorted(__import__("pathlib").Path("configs").glob("*.yaml")))
def test_every_preset_loads(preset):
    load_config(preset)
