"""Cycles render cost and quality per setting: frames/s per core and PSNR against 100 spp + OIDN.

Renders the same views of one built-in object (default: the textured crate) at 256 px for 16, 32
and 100 samples per pixel, each with and without the OpenImageDenoise denoiser, in this process
with ``--threads`` Cycles threads:

    python benchmarks/render.py [--frames 3] [--size 256] [--threads 1] [--object crate]

frames/s per core is given two ways: from wall time (÷ threads; inflated by other load on the
machine) and from the process's CPU time (robust to sharing). PSNR is over the 8-bit RGB frames
(before JPEG), against the SIE setting (100 spp + denoiser) of the same views.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from seqjepa.preprocess.render.objects import builtin_names, write_builtin_objects
from seqjepa.preprocess.render.poses import view_latent
from seqjepa.preprocess.render.sources import model_path

REFERENCE = (100, True)
SETTINGS = [(16, False), (16, True), (32, False), (32, True), (100, False)]


def psnr(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    pairs = zip(a, b, strict=True)
    mse = np.mean([np.mean((x.astype(float) - y.astype(float)) ** 2) for x, y in pairs])
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3, help="timed frames per setting")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1, help="Cycles threads (cores used)")
    parser.add_argument("--object", default="crate", help="built-in object name")
    parser.add_argument("--mode", default="id", help="rotation mode of the views")
    args = parser.parse_args()

    from seqjepa.preprocess.render.scene import Scene, bpy_version  # imports bpy

    with tempfile.TemporaryDirectory() as tmp:
        write_builtin_objects(Path(tmp))
        key = next(k for k, name in builtin_names().items() if name == args.object)
        scene = Scene(
            size=args.size, samples=REFERENCE[0], denoise=REFERENCE[1], threads=args.threads
        )
        scene.load(model_path(Path(tmp), *key))
        latents = [view_latent(args.mode, 0, *key, v) for v in range(args.frames)]
        print(
            f"bpy {bpy_version()}, object {args.object}, {args.size} px, {args.threads} thread(s), "
            f"{args.frames} frame(s) per setting"
        )
        print(
            f"{'samples':>7s} {'denoise':>7s} {'wall s/frame':>12s} {'CPU s/frame':>11s} "
            f"{'frames/s/core (wall)':>20s} {'frames/s/core (CPU)':>19s} {'PSNR vs 100+OIDN':>16s}"
        )
        frames = {}
        for samples, denoise in [REFERENCE, *SETTINGS]:
            scene.set_quality(samples, denoise)
            scene.render(latents[0])  # warm-up: kernels, BVH, textures
            wall0, cpu0 = time.perf_counter(), time.process_time()
            frames[samples, denoise] = [scene.render(lat) for lat in latents]
            wall = (time.perf_counter() - wall0) / args.frames
            cpu = (time.process_time() - cpu0) / args.frames
            quality = psnr(frames[samples, denoise], frames[REFERENCE])
            q = "ref" if (samples, denoise) == REFERENCE else f"{quality:.1f} dB"
            print(
                f"{samples:7d} {'on' if denoise else 'off':>7s} {wall:12.2f} {cpu:11.2f} "
                f"{1 / (wall * args.threads):20.3f} {1 / cpu:19.3f} {q:>16s}",
                flush=True,
            )
        scene.close()


if __name__ == "__main__":
    main()
