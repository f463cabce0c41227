"""``seqjepa-repro``: run a suite of the paper's claims at CPU scale and report PASS or FAIL.

Each experiment runs through the project's own commands (render or real photos →
``seqjepa-prep shard`` → ``seqjepa-train`` → ``seqjepa-eval run``); OUT/report.md holds one row
per claim (the paper's number, ours as mean ± std over seeds, the gate, PASS or FAIL), the
figures, and each stage's wall time and command. Re-running skips finished stages.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .report import summarise
from .stages import Runner, StageError, relative
from .suite import SUITES, plan


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="seqjepa-repro",
        description="Run a suite of the paper's claims at CPU scale and report PASS or FAIL.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--suite",
        choices=[s for s in SUITES if s != "smoke"],
        default="quick",
        help="quick: 1 seed, about 15 min on 2 cores; full: 3 seeds, about 60 min; demo: `make "
        "demo`'s C1 and C3 (and C2, C5) runs, about 10 min",
    )
    p.add_argument("--out", type=Path, default=None, help="output directory (runs/repro-SUITE)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per experiment (suite default)")
    p.add_argument("--num-cpus", type=int, default=os.cpu_count() or 1, help="render CPUs")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--profile", dest="suite", choices=["smoke"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        p.error(f"--seeds must be >= 1, got {args.seeds}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # interleave with the commands' own output
    suite = SUITES[args.suite]
    seeds = args.seeds or suite.seeds
    out: Path = args.out or Path("runs") / f"repro-{args.suite}"
    progress = sys.stdout.isatty() if args.progress is None else args.progress
    env = dict(os.environ)
    env.pop("RAY_ADDRESS", None)  # render with a local Ray instance
    env.setdefault("RAY_AUTH_MODE", "disabled")
    hint = f"`seqjepa-repro --suite {args.suite} --out {relative(out)}`"
    start = time.perf_counter()
    try:
        stages = plan(out, suite, seeds, max(1, args.num_cpus), progress)
        runner = Runner(out, env, hint)
        print(
            f"seqjepa-repro {args.suite} → {relative(out)} ({len(stages)} stages, {seeds} seed(s))"
        )
        for i, stage in enumerate(stages, 1):
            runner.run(stage, i, len(stages))
    except StageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\ninterrupted; re-run {hint} to continue", file=sys.stderr)
        return 130
    wall = time.perf_counter() - start
    verdicts = summarise(out, args.suite, suite, seeds, runner.results, wall)
    print()
    for cid, v in verdicts.items():
        print(f"{cid}: {v.status}  {v.ours}" + (f"  [{v.why}]" if v.status == "FAIL" else ""))
    print(f"\nreport: {relative(out / 'report.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
