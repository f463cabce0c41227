"""Evaluation defaults that decide which numbers a report holds."""

from pathlib import Path

from seqjepa.evaluate.pipeline import FRESH_ROW_BUDGET, default_m_vals, train_draws
from seqjepa.train.config import load_config


def test_default_m_val_sweep_includes_table_12_and_the_presets_own_m_val():
    assert default_m_vals(3) == (1, 3, 5)  # Table 12's 1, 3, 5; the paper's (3,3) and (3,5)
    assert default_m_vals(1) == (1, 3, 5)
    assert default_m_vals(4, 6) == (1, 3, 4, 5, 6)  # STL-10 4 → 6
    cfg = load_config(Path(__file__).parents[2] / "configs" / "3diebench-rotcolor-m4.yaml")
    # Table 7 reports rotation+colour at M_tr = 4, M_val = 5
    assert default_m_vals(cfg.data.seq_len, cfg.data.eval_seq_len) == (1, 3, 4, 5, 6)


def test_fresh_draws_per_head_epoch_by_default_within_the_memory_budget():
    assert train_draws(None, 300, 120) == 300  # one fresh draw per head epoch
    assert train_draws(None, 300, FRESH_ROW_BUDGET // 10) == 10  # cycles what fits
    assert train_draws(None, 300, 10 * FRESH_ROW_BUDGET) == 1
    assert train_draws(1, 300, 120) == 1  # the fixed, cached sequence
