"""Forward+backward+optimiser step time of seq-JEPA (or any registered method) per setting, on
CPU or CUDA: the paper's Table 5 compute comparison, per step.

Prints one line per method and setting with ms/step, sequences/s and peak memory, so runs can be
compared:

    python benchmarks/train_step.py [--device cuda] [--batch 32] [--steps 5] [--precision bf16]
        [--methods seqjepa simclr sie]
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from seqjepa.model import METHODS, InputSpec, build_method

SETTINGS = {
    # name: (setting, action_dim, image_size, observed views M)
    "3diebench-rot-M3-128px": ("objects", 4, 128, 3),
    "3diebench-rot-M1-128px": ("objects", 4, 128, 1),
    "cifar-aug-M3-32px": ("augment", 9, 32, 3),
    "stl10-saccades-M4-32px": ("saccades", 2, 32, 4),
}


def bench(
    method: str,
    name: str,
    batch: int,
    steps: int,
    device: torch.device,
    precision: str,
    compile_: bool,
):
    _, action_dim, size, m = SETTINGS[name]
    views_used = METHODS[method].num_views or m + 1  # two-view baselines read two views
    model = build_method(method, InputSpec(action_dim, size, views_used)).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    step_fn = torch.compile(model) if compile_ else model
    optim = METHODS[method].paper_optim
    opt_cls = torch.optim.Adam if optim["optimizer"] == "adam" else torch.optim.AdamW
    opt = opt_cls(model.parameters(), lr=optim["lr"], weight_decay=optim["weight_decay"])
    views = torch.randn(batch, views_used, 3, size, size, device=device)
    actions = torch.randn(batch, views_used - 1, action_dim, device=device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

    def one_step():
        with autocast:
            loss = step_fn(views, actions).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        model.update_target(0.996)

    for _ in range(2):  # warm-up (and compilation)
        one_step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        one_step()
    if device.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    elapsed = (time.perf_counter() - start) / steps
    print(
        f"{method:16s} {name:24s} device={device.type:4s} {precision:4s} compile={compile_!s:5s} "
        f"batch={batch:4d}  {elapsed * 1e3:9.1f} ms/step  {batch / elapsed:8.1f} seq/s  "
        f"peak {'GPU' if device.type == 'cuda' else 'RSS'} {peak:8.0f} MiB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--methods", nargs="*", default=["seqjepa"], choices=sorted(METHODS))
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {device}")
    for method in args.methods:
        for name in args.settings:
            allowed = METHODS[method].settings
            if allowed is not None and SETTINGS[name][0] not in allowed:
                continue  # e.g. Conv-JEPA: additive actions only (saccades, augmentations)
            bench(method, name, args.batch, args.steps, device, args.precision, args.compile)


if __name__ == "__main__":
    main()
