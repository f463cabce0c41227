"""Evaluation defaults that decide which numbers a report holds."""

from pathlib import Path

from seqjepa.evaluate.pipeline import default_m_vals
from seqjepa.train.config import load_config


def test_default_m_val_sweep_includes_the_presets_own_m_val():
    assert default_m_vals(3) == (1, 3, 5)  # the paper's (3,3) and (3,5)
    assert default_m_vals(4, 6) == (1, 4, 6)  # STL-10 4 → 6
    cfg = load_config(Path(__file__).parents[2] / "configs" / "3diebench-rotcolor-m4.yaml")
    # Table 7 reports rotation+colour at M_tr = 4, M_val = 5: not in 1, M_tr, M_tr + 2
    assert default_m_vals(cfg.data.seq_len, cfg.data.eval_seq_len) == (1, 4, 5, 6)
