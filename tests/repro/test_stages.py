"""The resumable stage runner behind `make demo` and seqjepa-repro."""

import sys

import pytest

from seqjepa.repro.stages import Runner, Stage, StageError


def test_runner_skips_finished_stages_and_reruns_changed_ones(tmp_path):
    calls = []
    log = []
    runner = Runner(tmp_path, None, "`again`", echo=log.append)
    step = Stage("a/step", "a step", step=lambda: calls.append(1), key=["v1"])
    cmd = Stage("a/cmd", "a command", [sys.executable, "-c", "pass"])
    assert not runner.run(step, 1, 2).skipped
    assert not runner.run(cmd, 2, 2).skipped
    again = Runner(tmp_path, None, "`again`", echo=log.append)
    assert again.run(step, 1, 2).skipped and again.run(cmd, 2, 2).skipped
    assert calls == [1]
    changed = Stage("a/step", "a step", step=lambda: calls.append(2), key=["v2"])
    assert not again.run(changed, 1, 2).skipped
    assert calls == [1, 2]
    assert any("done earlier" in line for line in log)


def test_runner_reports_a_failed_stage_and_writes_no_marker(tmp_path):
    runner = Runner(tmp_path, None, "`again`", echo=lambda *_: None)
    bad = Stage("x/fail", "fails", [sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(StageError, match=r"x/fail failed \(exit 3\).*re-run `again`"):
        runner.run(bad, 1, 1)
    assert not runner.marker("x/fail").exists()
