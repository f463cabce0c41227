"""`seqjepa-prep serve`: saliency maps and saccade fixations over HTTP, on Ray Serve.

The request body is the encoded image itself (JPEG, PNG, WebP or BMP bytes); settings go in
the query string::

    GET  /health
    POST /saliency?format=npy|png&dtype=float32|float16&map_size=S
    POST /fixations?n=8&ior=disk|box|none&radius=16&seed=0&patch_size=32&return_patches=false

``/saliency`` answers a log-density (logsumexp 0) as ``.npy`` at the image's size (or S×S,
stretched over the whole image, like the saliency store), or a grey PNG preview of the density.
``/fixations`` samples with the training loader's sampler (``seqjepa.datasets.fixations``) on
that map, the uniforms drawn from ``numpy.random.default_rng(seed)``, and answers JSON: pixel
(row, col) fixations, positions as fractions of the image size (row / H, col / W, the saccade
actions' convention), and optionally the patches centred on them as base64 ``.npy``.

Why this shape:

- One deployment holds the model (built once per replica, explicit ``num_cpus``, 0.5 by default
  so the service fits a 2-core machine next to Serve's own actors); ``@serve.batch`` gathers
  concurrent requests, and :class:`~seqjepa.preprocess.saliency_job.SaliencyRunner` runs images
  of one size together, never padded, exactly as the batch job does.
- Every bad request gets a 4xx and ``{"error": "..."}``: empty body 400, too many bytes or
  pixels 413 (checked from the header before decoding), not an image 415, bad parameters 422.
  Limits are enforced before any work, so malformed input cannot take the service down.
- It binds 127.0.0.1 by default: there is no authentication.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import logging
import math
import signal
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image
from ray import serve
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from seqjepa.datasets.decode import DecodeError, decode_rgb
from seqjepa.datasets.fixations import cut_patches, sample_fixations
from seqjepa.datasets.schema import encode_npy

from .parallel import ray_session
from .saliency_job import ModelSpec, SaliencyRunner, at_size, gpus_per_worker

logger = logging.getLogger(__name__)
APP_NAME = "seqjepa-saliency"
NPY = "application/x-npy"


class RequestError(Exception):
    """A request the service refuses: HTTP ``status`` and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 10 * 2**20
    max_pixels: int = 4096 * 4096


def read_image(body: bytes, limits: Limits) -> np.ndarray:
    """The request body as HxWx3 uint8 RGB, or the :class:`RequestError` that refuses it."""
    if not body:
        raise RequestError(400, "empty body: send the image bytes (JPEG, PNG, WebP or BMP)")
    if len(body) > limits.max_bytes:
        raise RequestError(
            413, f"body has {len(body)} bytes, over the {limits.max_bytes}-byte limit"
        )
    try:
        with Image.open(io.BytesIO(body)) as header:  # reads the header only
            width, height = header.size
    except Image.DecompressionBombError:
        raise RequestError(413, "image has too many pixels") from None
    except (OSError, ValueError):
        raise RequestError(415, "body is not an image (JPEG, PNG, WebP or BMP)") from None
    if width * height > limits.max_pixels:
        raise RequestError(
            413, f"image has {width}×{height} pixels, over the {limits.max_pixels} limit"
        )
    try:
        return decode_rgb(body)
    except DecodeError:
        raise RequestError(415, "body does not decode as an image") from None


@dataclass(frozen=True)
class Param:
    """One query parameter: how to parse it, its default, what values it admits."""

    parse: Callable[[str], Any]
    default: Any
    valid: Callable[[Any], bool]
    rule: str


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _bool(text: str) -> bool:
    words = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
    return words[text.lower()]


def _one_of(*options: str) -> Param:
    return Param(str, options[0], lambda v: v in options, " or ".join(options))


def _int_in(default: int | None, lo: int, hi: int) -> Param:
    return Param(int, default, lambda v: lo <= v <= hi, f"an integer in {lo}..{hi}")


SALIENCY_PARAMS = {
    "format": _one_of("npy", "png"),
    "dtype": _one_of("float32", "float16"),
    "map_size": _int_in(None, 1, 1024),
}
FIXATION_PARAMS = {
    "n": _int_in(8, 1, 64),
    "ior": _one_of("disk", "box", "none"),
    "radius": Param(_finite, 16.0, lambda v: 0 <= v <= 4096, "a number in 0..4096 (pixels)"),
    "seed": _int_in(0, 0, 2**63 - 1),
    "patch_size": _int_in(32, 1, 256),
    "return_patches": Param(_bool, False, lambda v: True, "true or false"),
}


def parse_query(pairs: Iterable[tuple[str, str]], params: dict[str, Param]) -> dict[str, Any]:
    """Query pairs → parameter values; unknown, repeated or invalid ones are a 422."""
    values = {name: p.default for name, p in params.items()}
    seen: set[str] = set()
    for name, text in pairs:
        if name not in params:
            raise RequestError(
                422, f"unknown parameter {name!r}; allowed: {', '.join(params) or 'none'}"
            )
        if name in seen:
            raise RequestError(422, f"parameter {name!r} is given twice")
        seen.add(name)
        p = params[name]
        try:
            value = p.parse(text)
        except (ValueError, KeyError, OverflowError):
            value = None
        if value is None or not p.valid(value):
            raise RequestError(422, f"{name}={text!r}: expected {p.rule}")
        values[name] = value
    return values


def png_preview(log_density: np.ndarray) -> bytes:
    """8-bit grey PNG of the density, scaled so its peak is white."""
    density = np.exp(log_density - log_density.max())
    buf = io.BytesIO()
    Image.fromarray(np.round(density * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def fixation_answer(image: np.ndarray, log_density: torch.Tensor, q: dict[str, Any]) -> dict:
    """Fixations (and patches) on one image's log-density, sampled as the loader samples."""
    h, w = image.shape[:2]
    uniforms = torch.from_numpy(np.random.default_rng(q["seed"]).random((1, q["n"])))
    fix = sample_fixations(log_density[None], uniforms, ior=q["ior"], radius=q["radius"])
    answer = {
        "image_size": [h, w],
        "fixations": fix[0].tolist(),
        "positions": (fix[0].double() / torch.tensor([h, w])).tolist(),
        **{k: q[k] for k in ("n", "ior", "radius", "seed", "patch_size")},
    }
    if q["return_patches"]:
        pixels = torch.from_numpy(image).permute(2, 0, 1)[None]
        patches = cut_patches(pixels, fix, q["patch_size"])[0].numpy()
        answer["patches"] = base64.b64encode(encode_npy(patches)).decode()
        answer["patches_format"] = "base64 .npy, uint8 (n, 3, P, P), zero outside the image"
    return answer


class SaliencyService:
    """The Serve deployment: one model, batched; routes, limits and JSON errors."""

    def __init__(
        self,
        spec: ModelSpec,
        input_size: int | None,
        batch_size: int,
        limits: Limits,
        threads: int,
        device: str,
    ) -> None:
        torch.set_num_threads(threads)
        self.runner = SaliencyRunner(spec.build(device), input_size, batch_size)
        self.limits = limits
        self.provenance = {**self.runner.model.provenance(), "input_size": input_size}
        self._maps.set_max_batch_size(batch_size)
        self.routes = {
            "/health": ("GET", self.health),
            "/saliency": ("POST", self.saliency),
            "/fixations": ("POST", self.fixations),
        }

    @serve.batch(max_batch_size=8, batch_wait_timeout_s=0.005)
    async def _maps(self, images: list[np.ndarray]) -> list[torch.Tensor]:
        # In a thread, so the event loop keeps taking requests (and health checks) meanwhile.
        return await asyncio.to_thread(self.runner.model_maps, images)

    async def __call__(self, request: Request) -> Response:
        path = request.url.path.rstrip("/") or "/"
        try:
            if path not in self.routes:
                raise RequestError(
                    404, f"no endpoint {path}; use GET /health, POST /saliency, POST /fixations"
                )
            method, handler = self.routes[path]
            if request.method != method:
                raise RequestError(405, f"{path} takes {method}, not {request.method}")
            return await handler(request)
        except RequestError as exc:
            return JSONResponse({"error": exc.message}, status_code=exc.status)
        except Exception:
            logger.exception("request to %s failed", path)
            return JSONResponse({"error": "internal error (see the server log)"}, 500)

    async def health(self, request: Request) -> Response:
        parse_query(request.query_params.multi_items(), {})
        return JSONResponse(
            {
                "status": "ok",
                "model": self.provenance["model"],
                "provenance": self.provenance,
                "limits": asdict(self.limits),
            }
        )

    async def saliency(self, request: Request) -> Response:
        q = parse_query(request.query_params.multi_items(), SALIENCY_PARAMS)
        image = await self._image(request)
        size = (q["map_size"],) * 2 if q["map_size"] else image.shape[:2]
        logd = at_size(await self._maps(image), size).numpy()
        if q["format"] == "png":
            return Response(png_preview(logd), media_type="image/png")
        return Response(encode_npy(logd.astype(q["dtype"])), media_type=NPY)

    async def fixations(self, request: Request) -> Response:
        q = parse_query(request.query_params.multi_items(), FIXATION_PARAMS)
        image = await self._image(request)
        logd = at_size(await self._maps(image), image.shape[:2])
        answer = await asyncio.to_thread(fixation_answer, image, logd, q)
        return JSONResponse({"model": self.provenance["model"], **answer})

    async def _image(self, request: Request) -> np.ndarray:
        body = await self._body(request)
        return await asyncio.to_thread(read_image, body, self.limits)  # decoding takes a while

    async def _body(self, request: Request) -> bytes:
        """The body, refused as soon as it exceeds the byte limit (declared or streamed)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limits.max_bytes:
            raise RequestError(
                413, f"body has {declared} bytes, over the {self.limits.max_bytes}-byte limit"
            )
        body = bytearray()
        async for part in request.stream():
            body += part
            if len(body) > self.limits.max_bytes:
                raise RequestError(413, f"body is over the {self.limits.max_bytes}-byte limit")
        return bytes(body)


@dataclass(frozen=True)
class ServeOptions:
    """Where and how wide to serve."""

    host: str = "127.0.0.1"
    port: int = 8000
    input_size: int | None = None  # shorter side before the model; None: native
    batch_size: int = 8
    limits: Limits = Limits()
    replicas: int = 1
    cpus_per_replica: float = 0.5
    gpus_per_replica: float | None = None  # None: 1 when Ray has a GPU and the model uses it
    num_cpus: int | None = None  # local Ray only; default all cores
    address: str | None = None  # Ray cluster; default RAY_ADDRESS, else a local Ray


def check_port(host: str, port: int) -> None:
    """Fail early (one line) when ``host:port`` cannot be bound, before starting Ray."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise ValueError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None


def serve_forever(
    spec: ModelSpec, options: ServeOptions, on_ready: Callable[[str], None] = print
) -> None:
    """Start Ray and the service, call ``on_ready(url)``, serve until SIGINT or SIGTERM.

    The model is built here once first, so bad weights fail in one line before Ray starts.
    """
    o = options
    if o.replicas < 1 or o.cpus_per_replica <= 0 or o.batch_size < 1:
        raise ValueError("replicas, CPUs per replica and batch size must be positive")
    if o.limits.max_bytes < 1 or o.limits.max_pixels < 1:
        raise ValueError("the byte and pixel limits must be positive")
    check_port(o.host, o.port)
    spec.build("cpu")  # bad weights or centre bias: one line, before Ray starts
    with ray_session(o.num_cpus, o.address, log_to_driver=True) as ray:
        # After ray.init, which installs its own SIGTERM handler (a stack dump): stop cleanly.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            _deploy(spec, o, ray.cluster_resources().get("GPU", 0))
            on_ready(f"http://{o.host}:{o.port}")
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            # Only this application: on a shared cluster, Serve and other apps stay up.
            with contextlib.suppress(Exception):
                serve.delete(APP_NAME)


def _deploy(spec: ModelSpec, o: ServeOptions, cluster_gpus: float) -> None:
    """Start Serve's HTTP proxy on ``host:port`` and run the application at ``/``."""
    gpus = gpus_per_worker(spec, o.gpus_per_replica, cluster_gpus)
    deployment = serve.deployment(SaliencyService).options(
        num_replicas=o.replicas,
        max_ongoing_requests=4 * o.batch_size,
        ray_actor_options={"num_cpus": o.cpus_per_replica, "num_gpus": gpus},
    )
    threads = max(1, round(o.cpus_per_replica))
    device = "cuda" if gpus > 0 else "cpu"
    serve.start(http_options={"host": o.host, "port": o.port})
    serve.run(
        deployment.bind(spec, o.input_size, o.batch_size, o.limits, threads, device),
        name=APP_NAME,
        route_prefix="/",
    )
