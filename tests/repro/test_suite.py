"""The suites run the project's real commands, evaluate on the held-out test split and fit
every seed; the twins differ only in action conditioning."""

from pathlib import Path

from seqjepa.repro.report import summarise
from seqjepa.repro.suite import EXPERIMENTS, SUITES, UNCONDITIONED, plan


def test_plan_is_real_commands_scored_on_test_for_every_seed(tmp_path):
    stages = plan(tmp_path, SUITES["full"], seeds=3, cpus=2, progress=False)
    tools = {Path(s.argv[0]).name for s in stages if s.argv}
    assert tools == {"seqjepa-prep", "seqjepa-train", "seqjepa-eval"}
    evals = [s for s in stages if s.name.startswith("eval/")]
    assert len(evals) == 3 * len(EXPERIMENTS)
    for s in evals:
        assert s.argv[s.argv.index("--eval-split") + 1] == "test"
        assert s.argv[s.argv.index("--train-split") + 1] == "train"
    trains = [s for s in stages if s.name.startswith("train/")]
    assert {a for s in trains for a in s.argv if a.startswith("run.seed=")} == {
        "run.seed=0",
        "run.seed=1",
        "run.seed=2",
    }


def test_twins_differ_only_in_action_conditioning():
    for cond, twin in (("objects-rot", "objects-none"), ("augment", "augment-none")):
        a, b = EXPERIMENTS[cond], EXPERIMENTS[twin]
        assert a.config == b.config and a.data == b.data and a.m_vals == b.m_vals
        assert b.overrides == (*a.overrides, *UNCONDITIONED)


def test_demo_suite_runs_its_experiments_only_and_its_report_leads_with_c1_and_c3(tmp_path):
    demo = SUITES["demo"]
    stages = plan(tmp_path, demo, seeds=1, cpus=2, progress=False)
    trained = {s.name[len("train/") : -len("-s0")] for s in stages if s.name.startswith("train/")}
    assert trained == {"objects-rot", "objects-none", "saccades"}
    summarise(tmp_path, "demo", demo, 1, [], 0.0)  # nothing evaluated yet: every claim FAILs
    rows = [line for line in (tmp_path / "report.md").read_text().splitlines() if line[:3] == "| C"]
    assert [row.split(" | ")[0] for row in rows] == ["| C1", "| C3", "| C2", "| C5"]
    assert "FAIL" in rows[0] and "missing" in rows[0]
