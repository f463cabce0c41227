"""`seqjepa-prep saliency` (the batch job) and `seqjepa-prep serve` (the HTTP service).

Both take the model the same way: ``--model deepgaze2e --weights deepgaze2e.pth`` (the DeepGaze
IIE release file, never downloaded), or ``spectral`` / ``center``, which need no weights.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from .cli_errors import cli_error


class Model(str, Enum):
    deepgaze2e = "deepgaze2e"
    spectral = "spectral"
    center = "center"


class InputScale(str, Enum):
    # saliency.INPUT_SCALES, spelled out so that `seqjepa-prep` starts without importing torch.
    rgb = "0-255"
    authors_bug = "unit-authors-bug"


MODEL_HELP = (
    "deepgaze2e: DeepGaze IIE (needs --weights); spectral: spectral residual × centre prior; "
    "center: the centre prior alone."
)
WEIGHTS_HELP = "deepgaze2e.pth from the DeepGaze v1.0.0 release (nothing is downloaded)."
CENTERBIAS_HELP = "Centre-bias log-density template, e.g. centerbias_mit1003.npy."
SCALE_HELP = "0-255 (correct), or unit-authors-bug to reproduce the seq-JEPA scripts' 0–1 input."


def _paths(*paths: Path | None) -> list[str | None]:
    """Absolute paths, so the provenance (and a resume's settings check) does not depend on
    the working directory."""
    return [None if p is None else str(p.resolve()) for p in paths]


def saliency_command(
    dataset: str = typer.Option(
        ...,
        "--dataset",
        help="Raw format: stl10, cifar100, tinyimagenet, imagenet, imagefolder or webdataset.",
    ),
    root: Path = typer.Option(..., "--root", help="Root of the raw data."),
    out: Path = typer.Option(..., "--out", help="Saliency store directory (created)."),
    model: Model = typer.Option(Model.deepgaze2e, "--model", help=MODEL_HELP),
    weights: Path = typer.Option(None, "--weights", help=WEIGHTS_HELP),
    centerbias: Path = typer.Option(None, "--centerbias", help=CENTERBIAS_HELP),
    input_scale: InputScale = typer.Option(InputScale.rgb, "--input-scale", help=SCALE_HELP),
    input_size: int = typer.Option(
        None,
        "--input-size",
        help="Resize the shorter side to this before the model (bilinear; default 512 for "
        "stl10, as in the paper; 0 or other datasets: native resolution).",
    ),
    map_size: int = typer.Option(
        None,
        "--map-size",
        help="Side of the stored square maps (default: 96 stl10, 32 cifar100, 64 tinyimagenet, "
        "224 otherwise); a map covers the whole image, stretched if it is not square.",
    ),
    split: list[str] = typer.Option(None, "--split", help="Split(s); default: every split."),
    name: str = typer.Option(
        None, "--name", help="Dataset name in the sample ids (default: the format; as shard)."
    ),
    val_labels: Path = typer.Option(
        None, "--val-labels", help="imagenet: LOC_val_solution.csv for a flat val/."
    ),
    batch_size: int = typer.Option(16, "--batch-size", help="Images per model call."),
    chunk_size: int = typer.Option(
        256, "--chunk-size", help="Samples per stored chunk (the unit of resume)."
    ),
    workers: int = typer.Option(
        None, "--workers", help="Ray actors (default: fill the CPUs/GPUs; 0 = this process)."
    ),
    cpus_per_actor: float = typer.Option(
        1.0, "--cpus-per-actor", help="Ray CPUs per actor; torch uses as many threads."
    ),
    gpus_per_actor: float = typer.Option(
        None,
        "--gpus-per-actor",
        help="GPUs per actor (fractions share one); default 1 when Ray sees GPUs and the model "
        "is deepgaze2e, else 0.",
    ),
    address: str = typer.Option(
        None, "--address", envvar="RAY_ADDRESS", help="Ray cluster to join (default: local)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Compute saliency maps of an image dataset into a store (resumable, idempotent)."""
    from .readers import FormatError
    from .readers.open import open_reader
    from .saliency_job import (
        ModelSpec,
        PoolOptions,
        SaliencyJobError,
        SaliencySettings,
        compute_saliency,
    )

    try:
        spec = ModelSpec(model.value, *_paths(weights, centerbias), input_scale.value)
        settings = SaliencySettings.for_dataset(
            dataset, spec, input_size, map_size, batch_size=batch_size, chunk_size=chunk_size
        )
        pool = PoolOptions(workers, cpus_per_actor, gpus_per_actor, address)
        reader = open_reader(dataset, root, split, None, val_labels)
        report = compute_saliency(
            reader, out, settings, splits=split or None, dataset=name, pool=pool, progress=progress
        )
    except (FormatError, SaliencyJobError, FileNotFoundError, ValueError) as exc:
        raise cli_error(str(exc)) from None
    typer.echo(report.summary())


def serve_command(
    model: Model = typer.Option(Model.deepgaze2e, "--model", help=MODEL_HELP),
    weights: Path = typer.Option(None, "--weights", help=WEIGHTS_HELP),
    centerbias: Path = typer.Option(None, "--centerbias", help=CENTERBIAS_HELP),
    input_scale: InputScale = typer.Option(InputScale.rgb, "--input-scale", help=SCALE_HELP),
    input_size: int = typer.Option(
        None,
        "--input-size",
        help="Resize the shorter side to this before the model (default or 0: native); maps "
        "are answered at the image's own size.",
    ),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind (no authentication: keep it local)."
    ),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    batch_size: int = typer.Option(8, "--batch-size", help="Most requests batched together."),
    max_bytes: int = typer.Option(10 * 2**20, "--max-bytes", help="Largest request body."),
    max_pixels: int = typer.Option(4096 * 4096, "--max-pixels", help="Largest image (H×W)."),
    replicas: int = typer.Option(1, "--replicas", help="Model replicas."),
    cpus_per_replica: float = typer.Option(
        0.5, "--cpus-per-replica", help="Ray CPUs per replica (torch threads: rounded, ≥ 1)."
    ),
    gpus_per_replica: float = typer.Option(
        None,
        "--gpus-per-replica",
        help="Default 1 when Ray sees GPUs and the model is deepgaze2e, else 0.",
    ),
    num_cpus: int = typer.Option(None, "--num-cpus", help="CPUs of the local Ray (default all)."),
    address: str = typer.Option(
        None, "--address", envvar="RAY_ADDRESS", help="Ray cluster to join (default: local)."
    ),
) -> None:
    """Serve saliency maps and fixations over HTTP: /saliency, /fixations, /health."""
    from .saliency_job import ModelSpec, SaliencyJobError
    from .serve import Limits, ServeOptions, serve_forever

    def ready(url: str) -> None:
        typer.echo(f"serving {model.value} at {url} (GET /health, POST /saliency, POST /fixations)")

    try:
        spec = ModelSpec(model.value, *_paths(weights, centerbias), input_scale.value)
        if input_size is not None and input_size < 0:
            raise ValueError("--input-size must be >= 0")
        options = ServeOptions(
            host=host,
            port=port,
            input_size=input_size or None,
            batch_size=batch_size,
            limits=Limits(max_bytes, max_pixels),
            replicas=replicas,
            cpus_per_replica=cpus_per_replica,
            gpus_per_replica=gpus_per_replica,
            num_cpus=num_cpus,
            address=address,
        )
        serve_forever(spec, options, ready)
    except (SaliencyJobError, FileNotFoundError, ValueError) as exc:
        raise cli_error(str(exc)) from None
