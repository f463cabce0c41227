"""Sharding throughput on generated STL-10-sized and 3DIEBench-sized input, per CPU core.

Runs the real shard job in-process (one core) and prints samples/s and source MB/s per core,
with and without a resize:

    python benchmarks/shard.py [--stl10 2000] [--objects 100] [--views 50]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from data import raw_formats

from seqjepa.preprocess.readers.open import open_reader
from seqjepa.preprocess.shard import ShardOptions, shard_dataset


def source_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def run(name: str, fmt: str, root: Path, work: Path, size: int | None) -> None:
    out = work / f"out-{name}-{size}"
    start = time.perf_counter()
    index = shard_dataset(
        open_reader(fmt, root), out, options=ShardOptions(size=size), workers=0, progress=False
    )
    elapsed = time.perf_counter() - start
    samples = sum(s.samples for s in index.splits.values())
    mb = source_bytes(root) / 2**20
    print(
        f"{name:28s} resize={size!s:5s} {samples:6d} samples  "
        f"{samples / elapsed:8.1f} samples/s/core  {mb / elapsed:7.1f} source MB/s/core  "
        f"({elapsed:.1f} s)",
        flush=True,
    )
    shutil.rmtree(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stl10", type=int, default=2000, help="images in the generated STL-10")
    parser.add_argument("--objects", type=int, default=40, help="3DIEBench objects per synset (2)")
    parser.add_argument("--views", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        raw_formats.write_stl10(work / "stl", counts=(("unlabeled", args.stl10),))
        raw_formats.write_3diebench(
            work / "3die", objects=args.objects, views=tuple(range(args.views)), size=256
        )
        run("stl10 (96 px, binary)", "stl10", work / "stl", work, None)
        run("stl10 (96 px, binary)", "stl10", work / "stl", work, 64)
        run("3diebench (256 px, 50 views)", "3diebench", work / "3die", work, None)
        run("3diebench (256 px, 50 views)", "3diebench", work / "3die", work, 128)


if __name__ == "__main__":
    main()
