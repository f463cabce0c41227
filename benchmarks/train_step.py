"""Forward+backward+optimiser step time of seq-JEPA (or any registered method) per setting, on
CPU or CUDA: the paper's Table 5 compute comparison, per step.

Prints one line per method and setting with ms/step, sequences/s and peak memory, so runs can be
compared:

    python benchmarks/train_step.py [--device cuda] [--batch 32] [--steps 5] [--precision bf16]
        [--compile] [--channels-last] [--threads 1] [--methods seqjepa simclr sie]

``--variants`` instead times the CPU execution options on the same initial weights and batches
(fp32 eager with 2 and 1 intra-op threads, channels_last, bf16 autocast, ``torch.compile``) and
prints, beside ms/step, the relative difference of the losses from fp32 eager at the first step
(same weights: the variant's own numerical error) and the largest over all steps (where
rounding differences compound through the optimiser): the trainer's CPU default should be the
fastest variant whose first-step difference is float rounding (~1e-5).
Results measured on the 2-core machine are in ``benchmarks/results/cpu-variants.md``.

    python benchmarks/train_step.py --variants --settings repro-objects-M3-32px --steps 8
"""

from __future__ import annotations

import argparse
import copy
import resource
import time
from dataclasses import dataclass

import torch

from seqjepa.model import METHODS, InputSpec, build_method, get_method

SETTINGS = {
    # name: (setting, action_dim, image_size, observed views M, model overrides)
    "3diebench-rot-M3-128px": ("objects", 4, 128, 3, {}),
    "3diebench-rot-M1-128px": ("objects", 4, 128, 1, {}),
    "cifar-aug-M3-32px": ("augment", 9, 32, 3, {}),
    "stl10-saccades-M4-32px": ("saccades", 2, 32, 4, {}),
    # configs/repro/objects-rot.yaml's model (seqjepa-repro on 2 CPU cores)
    "repro-objects-M3-32px": (
        "objects",
        4,
        32,
        3,
        {"backbone": "convnet-tiny", "num_layers": 1, "predictor_hidden": 512},
    ),
}


@dataclass(frozen=True)
class Variant:
    threads: int | None = None  # None: leave torch's default
    channels_last: bool = False
    bf16: bool = False
    compile: bool = False

    def __str__(self) -> str:
        parts = ["bf16" if self.bf16 else "fp32"]
        parts += ["channels_last"] * self.channels_last + ["compile"] * self.compile
        return " ".join(parts) + (f", {self.threads} thread(s)" if self.threads else "")


CPU_VARIANTS = (
    Variant(threads=2),
    Variant(threads=1),
    Variant(threads=2, channels_last=True),
    Variant(threads=2, bf16=True),
    Variant(threads=2, compile=True),
)


def build(method: str, name: str, device: torch.device):
    _, action_dim, size, m, overrides = SETTINGS[name]
    views_used = METHODS[method].num_views or m + 1  # two-view baselines read two views
    cfg = get_method(method).Config(**overrides) if overrides else None
    torch.manual_seed(0)
    model = build_method(method, InputSpec(action_dim, size, views_used), cfg)
    return model.to(device), views_used, action_dim, size


def bench(model, method, views, actions, steps, variant: Variant, device):
    """Time ``steps`` training steps (after two warm-up steps) of a copy of ``model``; return
    (seconds per step, every step's loss, peak memory in MiB)."""
    if variant.threads:
        torch.set_num_threads(variant.threads)
    model = copy.deepcopy(model)
    if variant.channels_last:
        model = model.to(memory_format=torch.channels_last)
    step_fn = torch.compile(model) if variant.compile else model
    optim = METHODS[method].paper_optim
    opt_cls = torch.optim.Adam if optim["optimizer"] == "adam" else torch.optim.AdamW
    opt = opt_cls(model.parameters(), lr=optim["lr"], weight_decay=optim["weight_decay"])
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=variant.bf16)
    torch.manual_seed(1)  # the same dropout masks in every variant
    losses = []
    for i in range(steps + 2):  # two warm-up steps (and compilation), then measured ones
        if i == 2:
            if device.type == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            start = time.perf_counter()
        with autocast:
            loss = step_fn(views[i % len(views)], actions[i % len(actions)]).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        model.update_target(0.996)
        losses.append(loss.item())  # .item() synchronises on CUDA
    elapsed = (time.perf_counter() - start) / steps
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return elapsed, losses, peak


def batches(n, batch, views_used, action_dim, size, device):
    gen = torch.Generator().manual_seed(2)
    views = torch.randn(n, batch, views_used, 3, size, size, generator=gen).to(device)
    actions = torch.randn(n, batch, views_used - 1, action_dim, generator=gen).to(device)
    return views, actions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--channels-last", action="store_true", help="(always on for CUDA)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--variants", action="store_true", help="compare the CPU variants")
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS)[:4], choices=list(SETTINGS))
    parser.add_argument("--methods", nargs="*", default=["seqjepa"], choices=sorted(METHODS))
    args = parser.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    bf16 = args.precision == "bf16"
    chosen = Variant(args.threads, args.channels_last or cuda, bf16, args.compile)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {device}")
    for method in args.methods:
        for name in args.settings:
            allowed = METHODS[method].settings
            if allowed is not None and SETTINGS[name][0] not in allowed:
                continue  # e.g. Conv-JEPA: additive actions only (saccades, augmentations)
            model, views_used, action_dim, size = build(method, name, device)
            views, actions = batches(4, args.batch, views_used, action_dim, size, device)
            if not args.variants:
                sec, _, peak = bench(model, method, views, actions, args.steps, chosen, device)
                print(
                    f"{method:16s} {name:24s} device={device.type:4s} {chosen!s:28s} "
                    f"batch={args.batch:4d}  {sec * 1e3:9.1f} ms/step  "
                    f"{args.batch / sec:8.1f} seq/s  peak {'GPU' if cuda else 'RSS'} "
                    f"{peak:8.0f} MiB",
                    flush=True,
                )
                continue
            print(f"\n{method} {name}, batch {args.batch}, {args.steps} measured steps")
            print("| variant | ms/step | rel. loss difference at step 1 | max over steps |")
            print("|---|---|---|---|")
            bench(model, method, views, actions, 2, CPU_VARIANTS[0], device)  # warm the caches
            base = None
            for variant in CPU_VARIANTS:
                try:
                    sec, losses, _ = bench(
                        model, method, views, actions, args.steps, variant, device
                    )
                except Exception as exc:  # e.g. no C++ compiler for torch.compile
                    first = str(exc).splitlines()[0][:80] if str(exc) else ""
                    print(f"| {variant} | failed: {type(exc).__name__}: {first} | | |", flush=True)
                    continue
                base = base or losses
                diffs = [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(losses, base, strict=True)]
                print(
                    f"| {variant} | {sec * 1e3:.0f} | {diffs[0]:.1e} | {max(diffs):.1e} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
