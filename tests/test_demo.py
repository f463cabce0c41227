"""`make demo` is seqjepa-repro's demo suite; every suite's commands name only real options."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_options import command_key, prefetch, unknown_options

from seqjepa.repro.suite import SUITES, plan

ROOT = Path(__file__).resolve().parents[1]


def test_make_demo_runs_the_demo_suite():
    makefile = (ROOT / "Makefile").read_text()
    assert "$(BIN)/seqjepa-repro --suite demo --out $(DEMO_OUT)" in makefile
    assert "pip install --quiet -e '.[render]'" in makefile  # bpy for the render stage


@pytest.mark.slow  # the --help of each CLI (each imports torch and Ray)
@pytest.mark.parametrize("suite", sorted(SUITES))
def test_suite_commands_use_only_real_cli_options(tmp_path, suite):
    stages = plan(tmp_path, SUITES[suite], seeds=1, cpus=2, progress=False)
    commands = [s.argv for s in stages if s.argv]
    for argv in commands:
        for arg in argv:
            if arg.endswith(".yaml"):
                assert Path(arg).is_file(), arg
    prefetch(command_key(a) for a in commands)
    for argv in commands:
        assert not unknown_options(argv), (argv, unknown_options(argv))
