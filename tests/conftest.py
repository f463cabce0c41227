import os

import pytest
import torch

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
# One intra-op thread: on a busy 2-core machine OpenMP spin-waiting makes 2 threads >10x slower.
torch.set_num_threads(1)


@pytest.fixture
def seed():
    torch.manual_seed(0)
    return 0
