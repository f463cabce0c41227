"""The saliency HTTP service: correct answers, a battery of bad requests, a short load.

One server (the CLI in a subprocess, Ray Serve on 127.0.0.1) is started per module; the request
parsing is also tested directly, without a server.
"""

import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
import typer
from data import raw_formats
from PIL import Image
from scipy.special import logsumexp
from typer.testing import CliRunner

from seqjepa.datasets.fixations import sample_fixations
from seqjepa.preprocess.saliency import build_saliency_model
from seqjepa.preprocess.saliency_cli import serve_command
from seqjepa.preprocess.saliency_job import SaliencyRunner
from seqjepa.preprocess.serve import (
    FIXATION_PARAMS,
    SALIENCY_PARAMS,
    Limits,
    RequestError,
    parse_query,
    read_image,
)

SERVE = [
    sys.executable,
    "-c",
    "import typer; from seqjepa.preprocess.saliency_cli import serve_command; "
    "app = typer.Typer(); app.command()(serve_command); app()",
]
MAX_BYTES = 200_000
MAX_PIXELS = 300 * 300
server = pytest.mark.slow


def png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


IMAGE = raw_formats.pixels(np.random.default_rng(0), 60, 80)
IMAGE_PNG = png(IMAGE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(base, path, body=None, method=None, timeout=60):
    """(status, content type, body bytes) of one request; HTTP errors are answers too."""
    method = method or ("POST" if body is not None else "GET")
    req = urllib.request.Request(base + path, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers.get("content-type"), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type"), exc.read()


def _stop(proc):
    for sig, wait in ((signal.SIGINT, 60), (signal.SIGTERM, 30), (signal.SIGKILL, 30)):
        if proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """Base URL of a running service (spectral model, small limits) and its process."""
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    argv = [*SERVE, "--model", "spectral", "--port", str(port), "--num-cpus", "2"]
    argv += ["--max-bytes", str(MAX_BYTES), "--max-pixels", str(MAX_PIXELS)]
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, f"the server exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no answer in 180 s:\n{log.read_text()[-3000:]}"
            try:
                if request(base, "/health", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        yield base, proc
    finally:
        _stop(proc)
    assert proc.returncode is not None


def healthy(base, proc):
    status, _, body = request(base, "/health")
    return proc.poll() is None and status == 200 and json.loads(body)["status"] == "ok"


# Request parsing, without a server.


def test_read_image_checks_before_decoding():
    limits = Limits(max_bytes=MAX_BYTES, max_pixels=MAX_PIXELS)
    assert read_image(IMAGE_PNG, limits).shape == (60, 80, 3)
    flat_large = png(np.zeros((400, 400, 3), np.uint8))
    cases = [(b"", 400), (b"GIF89a nope", 415), (flat_large, 413), (b"x" * (MAX_BYTES + 1), 413)]
    for body, status in cases:
        with pytest.raises(RequestError) as info:
            read_image(body, limits)
        assert info.value.status == status


def test_parse_query_defaults_values_and_refusals():
    q = parse_query([("n", "5"), ("ior", "box"), ("return_patches", "true")], FIXATION_PARAMS)
    assert q == {
        "n": 5,
        "ior": "box",
        "radius": 16.0,
        "seed": 0,
        "patch_size": 32,
        "return_patches": True,
    }
    assert parse_query([], SALIENCY_PARAMS) == {
        "format": "npy",
        "dtype": "float32",
        "map_size": None,
    }
    for pairs in ([("n", "65")], [("radius", "inf")], [("n", "1"), ("n", "2")], [("x", "1")]):
        with pytest.raises(RequestError) as info:
            parse_query(pairs, FIXATION_PARAMS)
        assert info.value.status == 422


def test_serve_refuses_in_one_line_before_starting_ray():
    app = typer.Typer()
    app.command()(serve_command)
    result = CliRunner().invoke(app, ["--model", "deepgaze2e"])
    assert result.exit_code == 2 and "--weights deepgaze2e.pth" in result.output
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["--model", "center", "--port", str(port)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: cannot listen on 127.0.0.1:{port}")


# The live service.


@server
@pytest.mark.timeout(300)
def test_health_names_the_model(service):
    base, _ = service
    status, kind, body = request(base, "/health")
    answer = json.loads(body)
    assert status == 200 and kind == "application/json"
    assert answer["model"] == "spectral-residual" and answer["limits"]["max_bytes"] == MAX_BYTES


@server
@pytest.mark.timeout(300)
def test_saliency_answers_the_jobs_log_density(service):
    base, _ = service
    status, kind, body = request(base, "/saliency", IMAGE_PNG)
    assert status == 200 and kind == "application/x-npy"
    logd = np.load(io.BytesIO(body), allow_pickle=False)
    assert logd.shape == (60, 80) and logd.dtype == np.float32
    assert abs(logsumexp(logd.astype(np.float64))) < 1e-4
    expected = SaliencyRunner(build_saliency_model("spectral-residual"))([IMAGE])[0]
    np.testing.assert_allclose(logd, expected, atol=1e-5)

    status, _, body = request(base, "/saliency?map_size=32&dtype=float16", IMAGE_PNG)
    small = np.load(io.BytesIO(body), allow_pickle=False)
    assert status == 200 and small.shape == (32, 32) and small.dtype == np.float16

    status, kind, body = request(base, "/saliency?format=png", IMAGE_PNG)
    preview = np.asarray(Image.open(io.BytesIO(body)))
    assert status == 200 and kind == "image/png" and preview.shape == (60, 80)
    assert preview.max() == 255


@server
@pytest.mark.timeout(300)
def test_fixations_follow_the_loaders_sampler_with_ior(service):
    base, _ = service
    query = "/fixations?n=6&ior=disk&radius=10&seed=3&patch_size=8&return_patches=true"
    status, kind, body = request(base, query, IMAGE_PNG)
    answer = json.loads(body)
    assert status == 200 and kind == "application/json"
    fix = np.array(answer["fixations"])
    assert fix.shape == (6, 2) and answer["image_size"] == [60, 80]
    distances = np.linalg.norm(fix[:, None] - fix[None], axis=-1)
    assert (distances[~np.eye(6, dtype=bool)] > 10).all(), "disk IoR keeps fixations apart"
    np.testing.assert_allclose(answer["positions"], fix / [60, 80])

    logd = SaliencyRunner(build_saliency_model("spectral-residual"))([IMAGE])[0]
    uniforms = torch.from_numpy(np.random.default_rng(3).random((1, 6)))
    expected = sample_fixations(torch.from_numpy(logd)[None], uniforms, ior="disk", radius=10)
    assert fix.tolist() == expected[0].tolist()

    patches = np.load(io.BytesIO(base64.b64decode(answer["patches"])), allow_pickle=False)
    assert patches.shape == (6, 3, 8, 8) and patches.dtype == np.uint8
    for (r, c), patch in zip(fix, patches, strict=True):
        np.testing.assert_array_equal(patch[:, 4, 4], IMAGE[r, c])
    assert request(base, query, IMAGE_PNG)[2] == body, "the same seed gives the same answer"


BAD_REQUESTS = [
    ("/saliency", b"", "POST", 400),
    ("/saliency", b"plain text, not an image", "POST", 415),
    ("/fixations", IMAGE_PNG[: len(IMAGE_PNG) // 2], "POST", 415),
    ("/saliency", b"\x89PNG" + b"\0" * (MAX_BYTES + 10), "POST", 413),
    ("/saliency", png(np.zeros((400, 400, 3), np.uint8)), "POST", 413),
    ("/saliency?format=jpeg", IMAGE_PNG, "POST", 422),
    ("/saliency?map_size=0", IMAGE_PNG, "POST", 422),
    ("/saliency?dtype=int8", IMAGE_PNG, "POST", 422),
    ("/fixations?n=0", IMAGE_PNG, "POST", 422),
    ("/fixations?n=many", IMAGE_PNG, "POST", 422),
    ("/fixations?n=65", IMAGE_PNG, "POST", 422),
    ("/fixations?ior=circle", IMAGE_PNG, "POST", 422),
    ("/fixations?radius=-1", IMAGE_PNG, "POST", 422),
    ("/fixations?radius=nan", IMAGE_PNG, "POST", 422),
    ("/fixations?seed=-1", IMAGE_PNG, "POST", 422),
    ("/fixations?patch_size=1000", IMAGE_PNG, "POST", 422),
    ("/fixations?return_patches=maybe", IMAGE_PNG, "POST", 422),
    ("/fixations?n=2&n=3", IMAGE_PNG, "POST", 422),
    ("/fixations?colour=red", IMAGE_PNG, "POST", 422),
    ("/saliency", None, "GET", 405),
    ("/health", IMAGE_PNG, "POST", 405),
    ("/predict", IMAGE_PNG, "POST", 404),
]


@server
@pytest.mark.timeout(300)
def test_bad_requests_get_a_json_4xx_and_the_service_lives_on(service):
    base, proc = service
    for path, body, method, expected in BAD_REQUESTS:
        status, kind, answer = request(base, path, body, method)
        assert (status, kind) == (expected, "application/json"), (path, status, answer[:200])
        assert json.loads(answer)["error"], path
    assert healthy(base, proc)
    assert request(base, "/saliency", IMAGE_PNG)[0] == 200


@server
@pytest.mark.timeout(300)
def test_concurrent_load_is_answered_in_full(service):
    base, proc = service
    rng = np.random.default_rng(7)
    images = [png(raw_formats.pixels(rng, h, w)) for h, w in [(60, 80), (48, 48), (60, 80)]]

    def client(k):
        statuses = []
        for i in range(10):
            path = "/saliency" if (k + i) % 2 else f"/fixations?n=4&seed={i}"
            statuses.append(request(base, path, images[(k + i) % 3])[0])
        return statuses

    with ThreadPoolExecutor(4) as pool:
        statuses = [s for result in pool.map(client, range(4)) for s in result]
    assert statuses == [200] * 40
    assert healthy(base, proc)
