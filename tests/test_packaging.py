"""The project installs as one `seqjepa` namespace from a wheel as well as editable."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

SUBPACKAGES = ("preprocess", "datasets", "model", "train", "evaluate")
SCRIPTS = ("seqjepa-prep", "seqjepa-train", "seqjepa-eval")


def run(*args, **kw):
    proc = subprocess.run(args, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{args[:3]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return proc


@pytest.mark.slow
def test_wheel_contains_the_namespace_and_runs(tmp_path):
    run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path))
    (wheel,) = tmp_path.glob("seqjepa-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        entry_points = zf.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
        zf.extractall(tmp_path / "site")
    root = Path(__file__).resolve().parents[1]
    for sub in SUBPACKAGES:
        for init in (root / sub).rglob("__init__.py"):
            assert f"seqjepa/{init.relative_to(root).as_posix()}" in names, f"{init} not in wheel"
    assert not any(n.split("/")[0] in SUBPACKAGES for n in names), "no top-level collisions"
    for script in SCRIPTS:
        assert f"{script} = seqjepa." in entry_points
    code = "import seqjepa.model as m, seqjepa.train.cli as t; print(m.__file__); t.app(['--help'])"
    out = run(
        sys.executable, "-c", code, cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site")}
    ).stdout
    assert out.startswith(str(tmp_path / "site"))
    assert "Train on shards" in out


@pytest.mark.parametrize("script", SCRIPTS)
def test_console_scripts_answer_help(script):
    bin_dir = Path(sys.executable).parent
    out = run(str(bin_dir / script), "--help").stdout
    assert "Usage" in out
