"""``seqjepa-repro`` end to end on the smoke suite (plumbing only: its gates are not asserted;
its numbers mean nothing at this size): real render, shard, train and eval commands, a report
row per claim, and a re-run that skips every finished stage."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.timeout(1200)
def test_smoke_suite_end_to_end_and_resumable(tmp_path):
    out = tmp_path / "repro"
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "seqjepa.repro.cli", "--profile", "smoke", "--out", str(out)]
    argv += ["--num-cpus", "2", "--no-progress"]
    first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1100)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    report = (out / "report.md").read_text()
    for cid in ("C1", "C2", "C3", "C4", "C5"):
        assert f"| {cid} |" in report
    payload = json.loads((out / "results.json").read_text())
    assert set(payload["claims"]) == {"C1", "C2", "C3", "C4", "C5"}
    assert all(c["status"] in ("PASS", "FAIL", "REPORTED") for c in payload["claims"].values())
    c1 = payload["claims"]["C1"]["measures"]["rot_r2_cond"]["per_seed"]
    assert len(c1) == 1 and c1[0] is not None  # read from the real evaluation table
    assert all(
        st["command"] or st["name"].endswith(("splits", "images")) for st in payload["stages"]
    )
    assert (out / "figures" / "C1.png").is_file()

    second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.count("done earlier") == len(payload["stages"])
