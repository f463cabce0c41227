"""`seqjepa-prep render`: 3DIEBench-style views of ShapeNet objects, ID or truly OOD poses."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from ..cli_errors import cli_error
from .job import ClusterOptions, RenderError, RenderSettings, check_out_dir, run_render
from .objects import SYNSETS as BUILTIN_SYNSETS
from .objects import builtin_names, write_builtin_objects
from .sources import (
    InputError,
    check_objects,
    check_root,
    objects_of_synsets,
    parse_synsets,
    read_class_list,
    read_split_file,
)

BUILTIN = "builtin"
BUILTIN_DIR = ".builtin-shapenet"


class Mode(str, Enum):
    id = "id"
    paper_ood = "paper-ood"
    so3_ood = "so3-ood"


class ChannelOrder(str, Enum):
    diebench = "3diebench"
    rgb = "rgb"


def _limit_per_synset(keys: list[tuple[str, str]], limit: int | None) -> list[tuple[str, str]]:
    if limit is None:
        return keys
    seen: dict[str, int] = {}
    out = []
    for s, o in keys:
        if seen.get(s, 0) < limit:
            out.append((s, o))
            seen[s] = seen.get(s, 0) + 1
    return out


def _builtin_keys(objects: Path | None, synsets: list[str]) -> list[tuple[str, str]]:
    known = list(builtin_names())
    if objects is not None:
        keys = read_split_file(objects)
        missing = [k for k in keys if k not in set(known)]
        if missing:
            raise InputError(
                f"split file {objects} lists {len(missing)} object(s) that are not built in "
                f"(first: {'/'.join(missing[0])}); built-in synsets: {', '.join(BUILTIN_SYNSETS)}"
            )
        return keys
    if synsets:
        for s in synsets:
            if s not in BUILTIN_SYNSETS:
                raise InputError(
                    f"unknown synset {s!r}: the built-in set has {', '.join(BUILTIN_SYNSETS)}"
                )
        return sorted(k for k in known if k[0] in synsets)
    return sorted(known)


def render(
    shapenet: str = typer.Option(
        ...,
        "--shapenet",
        help="ShapeNetCore.v2 root (<synset>/<object>/models/model_normalized.obj), or 'builtin' "
        "for the small procedural object set (written to OUT/.builtin-shapenet).",
    ),
    out: Path = typer.Option(..., "--out", help="Output directory (3DIEBench layout)."),
    objects: Path = typer.Option(
        None,
        "--objects",
        help="Split file: 3DIEBench *_images.npy ('/<synset>/<object>/') or text, one "
        "<synset>/<object> per line.",
    ),
    synsets: list[str] = typer.Option(
        None, "--synsets", help="Render every object of these synsets (repeat or comma-separate)."
    ),
    views: int = typer.Option(50, "--views", help="Views per object (3DIEBench: 50)."),
    first_view: int = typer.Option(
        0, "--first-view", help="Id of the first view (seq-JEPA's OOD set used views 2..5)."
    ),
    mode: Mode = typer.Option(
        Mode.id,
        "--mode",
        help="id: Euler angles U(-pi/2, pi/2) as 3DIEBench. paper-ood: the seq-JEPA paper's "
        "+-U(pi/2, pi), which are the SAME rotations as id (only the Euler labels differ). "
        "so3-ood: rotations no id triple reaches.",
    ),
    seed: int = typer.Option(
        0, "--seed", help="Latents are a hash of (seed, synset, object, view)."
    ),
    samples: int = typer.Option(32, "--samples", help="Cycles samples per pixel (SIE: 100)."),
    denoise: bool = typer.Option(True, "--denoise/--no-denoise", help="OpenImageDenoise."),
    fov: float = typer.Option(
        0.691, "--fov", help="Camera field of view in radians (3DIEBench: 0.691; less: closer)."
    ),
    size: int = typer.Option(256, "--size", help="Image side in pixels."),
    channel_order: ChannelOrder = typer.Option(
        ChannelOrder.diebench,
        "--channel-order",
        help="3diebench (default): R and B swapped on disk, as the published 3DIEBench JPEGs "
        "(SIE wrote RGB arrays with cv2.imwrite), so new splits match the training data. "
        "rgb: true colours.",
    ),
    split_name: str = typer.Option(
        None, "--split-name", help="Writes OUT/<name>_images.npy and _labels.npy; default: mode."
    ),
    classes: Path = typer.Option(
        None,
        "--classes",
        help="Synset list pinning the label order (e.g. the 55 3DIEBench classes; one per line, "
        "JSON list or taxonomy.json). Default: the synsets rendered.",
    ),
    limit: int = typer.Option(None, "--limit", help="At most this many objects per synset."),
    workers: int = typer.Option(None, "--workers", help="Render actors (default: fill the CPUs)."),
    cpus_per_worker: float = typer.Option(
        1.0, "--cpus-per-worker", help="Ray CPUs per actor; Cycles uses as many threads."
    ),
    gpus_per_worker: float = typer.Option(
        0.0, "--gpus-per-worker", help="> 0 renders on the GPU (fractions share one)."
    ),
    num_cpus: int = typer.Option(None, "--num-cpus", help="CPUs of the local Ray (default all)."),
    address: str = typer.Option(
        None, "--address", envvar="RAY_ADDRESS", help="Ray cluster to join (default: local)."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Render 3DIEBench-style views (image_<k>.jpg + latent_<k>.npy per object); resumable."""
    try:
        settings = RenderSettings(
            mode=mode.value,
            seed=seed,
            views=views,
            first_view=first_view,
            size=size,
            samples=samples,
            denoise=denoise,
            channel_order=channel_order.value,
            fov=fov,
        )
        cluster = ClusterOptions(workers, cpus_per_worker, gpus_per_worker, num_cpus, address)
        if limit is not None and limit < 1:
            raise ValueError(f"--limit must be >= 1, got {limit}")
    except ValueError as exc:
        raise cli_error(str(exc)) from None
    names = parse_synsets(synsets or [])
    try:
        if objects is not None and names:
            raise InputError("pass either --objects or --synsets, not both")
        check_out_dir(out, settings)
        class_list = read_class_list(classes) if classes is not None else None
        if shapenet == BUILTIN:
            keys = _builtin_keys(objects, names)
            root = out / BUILTIN_DIR
        else:
            root = Path(shapenet)
            check_root(root)
            if objects is not None:
                keys = read_split_file(objects)
                check_objects(root, keys, f"split file {objects}")
            elif names:
                keys, skipped = objects_of_synsets(root, names)
                if skipped:
                    typer.echo(
                        f"note: {skipped} object folder(s) without a model skipped", err=True
                    )
            else:
                raise InputError("pass --objects SPLIT_FILE or --synsets SYNSET[,SYNSET...]")
        keys = _limit_per_synset(keys, limit)
        if not keys:
            raise InputError("no objects to render")
        if class_list is not None:
            extra = sorted({s for s, _ in keys} - set(class_list))
            if extra:
                raise InputError(f"synset(s) {', '.join(extra[:5])} are not in --classes {classes}")
    except (InputError, RenderError) as exc:
        raise cli_error(str(exc)) from None
    if shapenet == BUILTIN:
        write_builtin_objects(root)
    try:
        report = run_render(
            keys,
            root,
            out,
            settings,
            split_name=split_name,
            classes=class_list,
            cluster=cluster,
            progress=progress,
        )
    except RenderError as exc:
        raise cli_error(str(exc), 1) from None
    typer.echo(report.summary())
    typer.echo(f"split: {', '.join(str(p) for p in report.splits.values())}")
    if report.failed and report.rendered + report.skipped == 0:
        raise typer.Exit(1)
