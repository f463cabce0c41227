"""Saliency stage throughput: the models through the job's runner, the batch job, the service.

Prints plain lines, comparable run to run:

* ``runner``: images/s of :class:`SaliencyRunner` (resize → model → map resize, what every job
  worker and the service run) for each model at STL-10 size (96² uint8 → 512² input → 96² map,
  as in the paper) and at a typical ImageNet size (500×375 native → 224² map), with
  ``--threads`` torch threads (default 1: one actor's share). DeepGaze IIE uses random weights
  (its speed does not depend on them) and only ``--deepgaze-images`` images: ~1.5 s each.
* ``job``: end-to-end images/s of ``compute_saliency`` over a generated STL-10 split (decode,
  model, float16 chunks written), inline and with a local Ray actor pool.
* ``service``: requests/s and p50/p95 latency of ``/saliency`` and ``/fixations`` under
  ``--clients`` concurrent clients, against ``seqjepa-prep serve`` started in a subprocess.

    python benchmarks/saliency.py [--sections runner job service] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from data import raw_formats

from seqjepa.preprocess.readers.open import open_reader
from seqjepa.preprocess.saliency_job import (
    ModelSpec,
    PoolOptions,
    SaliencyRunner,
    SaliencySettings,
    compute_saliency,
)

MODELS = ("center", "spectral", "deepgaze2e")
# name: (image (H, W), input size (shorter side) or None for native, map size)
SIZES = {"stl10 96->512->96": ((96, 96), 512, 96), "imagenet 375x500->224": ((375, 500), None, 224)}
SERVE = (
    "import typer; from seqjepa.preprocess.saliency_cli import serve_command; "
    "app = typer.Typer(); app.command()(serve_command); app()"
)


def runner_rates(models, device: str, images: int, deepgaze_images: int, batch: int) -> None:
    rng = np.random.default_rng(0)
    for name in models:
        spec = ModelSpec(name, allow_random_weights=name == "deepgaze2e")
        model = spec.build(device if spec.gpu_capable else "cpu")
        count = deepgaze_images if spec.gpu_capable else images
        for setting, (hw, input_size, map_size) in SIZES.items():
            runner = SaliencyRunner(model, input_size, batch)
            pictures = [raw_formats.pixels(rng, *hw) for _ in range(count)]
            runner(pictures[:1], (map_size, map_size))  # warm-up: allocator, caches
            start = time.perf_counter()
            runner(pictures, (map_size, map_size))
            seconds = time.perf_counter() - start
            print(
                f"runner   {spec.name:18s} {setting:22s} {count:4d} img  "
                f"{count / seconds:9.2f} img/s  {seconds / count:8.4f} s/img",
                flush=True,
            )


def job_rates(models, images: int, workers: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw"
        raw_formats.write_stl10(raw, counts=(("unlabeled", images),))
        for name in models:
            for w in workers:
                settings = SaliencySettings.for_dataset("stl10", ModelSpec(name), None, None)
                start = time.perf_counter()
                report = compute_saliency(
                    open_reader("stl10", raw),
                    Path(tmp) / f"{name}-{w}",
                    settings,
                    pool=PoolOptions(workers=w),
                    progress=False,
                )
                wall = time.perf_counter() - start
                print(
                    f"job      {ModelSpec(name).name:18s} stl10 x{images} workers={w}: "
                    f"{report.images_per_s:8.1f} img/s computing, {images / wall:8.1f} img/s "
                    f"wall (start-up included, {wall:.1f} s)",
                    flush=True,
                )


def _encode(image: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format=fmt)
    return buf.getvalue()


def _post(url: str, body: bytes) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=120) as resp:
        resp.read()
        if resp.status != 200:
            raise RuntimeError(f"{url}: HTTP {resp.status}")
    return time.perf_counter() - start


def _load(url: str, body: bytes, clients: int, requests: int) -> tuple[float, float, float]:
    """Requests/s, p50 and p95 latency (ms) of ``requests`` POSTs from ``clients`` threads."""
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = list(pool.map(_post, [url] * requests, [body] * requests))
    rate = requests / (time.perf_counter() - start)
    p50, p95 = np.percentile(latencies, [50, 95]) * 1000
    return rate, p50, p95


def _start_service(model: str, port: int) -> subprocess.Popen:
    argv = [sys.executable, "-c", SERVE, "--model", model, "--port", str(port)]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "RAY_AUTH_MODE": "disabled"},
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).read()
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the service did not start")


def service_rates(models, clients: int, requests: int) -> None:
    rng = np.random.default_rng(0)
    bodies = {
        "stl10 96x96 png": _encode(raw_formats.pixels(rng, 96, 96), "PNG"),
        "imagenet 375x500 jpg": _encode(raw_formats.pixels(rng, 375, 500), "JPEG"),
    }
    endpoints = ("/saliency", "/fixations?n=8&return_patches=true")
    for model in models:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        start = time.perf_counter()
        proc = _start_service(model, port)
        print(f"service  {model}: up in {time.perf_counter() - start:.1f} s", flush=True)
        try:
            for setting, body in bodies.items():
                for endpoint in endpoints:
                    url = f"http://127.0.0.1:{port}{endpoint}"
                    _post(url, body)  # warm-up
                    rate, p50, p95 = _load(url, body, clients, requests)
                    print(
                        f"service  {model:10s} {setting:21s} {endpoint.split('?')[0]:11s} "
                        f"{clients} clients: {rate:7.1f} req/s  p50 {p50:7.1f} ms  "
                        f"p95 {p95:7.1f} ms",
                        flush=True,
                    )
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", default=["runner", "job", "service"])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--device", default="cpu", help="for DeepGaze in the runner section")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--deepgaze-images", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--job-images", type=int, default=1000)
    parser.add_argument("--job-workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=80)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), {os.cpu_count()} CPU(s)")
    fallbacks = [m for m in args.models if m != "deepgaze2e"]
    if "runner" in args.sections:
        runner_rates(args.models, args.device, args.images, args.deepgaze_images, args.batch)
    if "job" in args.sections:
        job_rates(fallbacks, args.job_images, args.job_workers)
    if "service" in args.sections:
        service_rates(fallbacks, args.clients, args.requests)


if __name__ == "__main__":
    main()
