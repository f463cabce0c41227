"""Throughput of the saliency models (random DeepGaze weights: speed does not depend on them).

Prints one line per (model, setting) with images/s and s/image:

- ``stl10-96to512``: 96² uint8 images, bilinearly upsampled to 512² (as the seq-JEPA STL-10
  script did), the model at 512², the log-density resized back to 96²;
- ``imagenet-500x375``: a typical native ImageNet size, the model at that size;
- ``stl10-96``: the model directly at 96² (fallbacks only; DeepGaze was trained at ~1024 px).

    python benchmarks/saliency_models.py [--models deepgaze-iie center spectral-residual]
        [--batch 4] [--repeats 2] [--device cpu] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from seqjepa.preprocess.saliency import build_saliency_model, resize_log_density

SETTINGS = {
    # name: (input size, model size or None for the input size)
    "stl10-96to512": ((96, 96), (512, 512)),
    "imagenet-500x375": ((375, 500), None),
    "stl10-96": ((96, 96), None),
}


def run_once(model, images: torch.Tensor, model_size) -> torch.Tensor:
    if model_size is None:
        return model(images)
    up = F.interpolate(images.float(), size=model_size, mode="bilinear", align_corners=False)
    return resize_log_density(model(up.clamp(0, 255)), images.shape[-2:])


def bench(name: str, model, setting: str, batch: int, repeats: int) -> None:
    size, model_size = SETTINGS[setting]
    images = torch.randint(0, 256, (batch, 3, *size), dtype=torch.uint8)
    run_once(model, images, model_size)  # warm-up: allocator, oneDNN primitives, caches
    start = time.perf_counter()
    for _ in range(repeats):
        run_once(model, images, model_size)
    seconds = (time.perf_counter() - start) / (repeats * batch)
    print(
        f"{name:18s} {setting:17s} batch {batch:3d}  {1 / seconds:9.2f} img/s  {seconds:8.4f} s/img"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", default=["center", "spectral-residual", "deepgaze-iie"]
    )
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    for name in args.models:
        options = {"allow_random_weights": True} if name == "deepgaze-iie" else {}
        device = args.device if name == "deepgaze-iie" else "cpu"
        model = build_saliency_model(name, device=device, **options)
        for setting in SETTINGS:
            if name == "deepgaze-iie" and setting == "stl10-96":
                continue
            bench(name, model, setting, args.batch, args.repeats)


if __name__ == "__main__":
    main()
