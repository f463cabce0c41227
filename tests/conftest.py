import os

import numpy as np
import pytest
import torch
from data import raw_formats

from seqjepa.preprocess.readers.open import open_reader
from seqjepa.preprocess.saliency_store import SaliencyStore
from seqjepa.preprocess.shard import ShardOptions, shard_dataset

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
# One intra-op thread: on a busy 2-core machine OpenMP spin-waiting makes 2 threads >10x slower.
torch.set_num_threads(1)


@pytest.fixture
def seed():
    torch.manual_seed(0)
    return 0


# Tiny real shard directories, written by the real shard job from real raw layouts.


def _solid_views(root, objects=3, views=6, size=64):
    """3DIEBench tree whose view k is a flat image of intensity 20·k and latent rot_x = 0.1·k."""
    for s_i, synset in enumerate(("02691156", "02958343")):
        for o in range(objects):
            folder = root / synset / f"obj{o}"
            folder.mkdir(parents=True)
            for k in range(views):
                img = np.full((size, size, 3), 20 * k + s_i, dtype=np.uint8)
                (folder / f"image_{k}.jpg").write_bytes(raw_formats.jpeg_bytes(img, 95))
                latent = np.array([0.1 * k, 0.2, -0.3, (0.15 * k) % 1, 0.1, 1.0, 0.5])
                np.save(folder / f"latent_{k}.npy", latent)


@pytest.fixture(scope="session")
def object_shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("objects")
    _solid_views(root / "raw")
    shard_dataset(
        open_reader("3diebench", root / "raw"),
        root / "shards",
        options=ShardOptions(shard_size=1),
        workers=0,
        progress=False,
    )
    return root / "shards"


@pytest.fixture(scope="session")
def saccade_shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("saccades")
    source = raw_formats.write_stl10(root / "raw", counts=(("train", 12),))
    raw_formats.write_random_saliency(root / "sal", "stl10", sorted(source))
    shard_dataset(
        open_reader("stl10", root / "raw"),
        root / "shards",
        options=ShardOptions(shard_size=3),
        saliency=SaliencyStore(root / "sal"),
        workers=0,
        progress=False,
    )
    return root / "shards", source


@pytest.fixture(scope="session")
def cifar_shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("cifar")
    raw_formats.write_cifar100(root / "raw", counts=(("train", 16),))
    shard_dataset(
        open_reader("cifar100", root / "raw"),
        root / "shards",
        options=ShardOptions(shard_size=4),
        workers=0,
        progress=False,
    )
    return root / "shards"
