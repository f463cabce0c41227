"""FeatureExtractor on a small network: early stop, copies, deep copies, concurrent calls."""

import copy
import threading

import torch
from torch import nn

from seqjepa.preprocess.saliency.backbones import FeatureExtractor


class Rendezvous(nn.Module):
    """Holds each call until two threads are inside the network at the same time."""

    def __init__(self) -> None:
        super().__init__()
        self.barrier = threading.Barrier(2, timeout=10)

    def forward(self, x):
        self.barrier.wait()
        return x


def small_net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(inplace=True),
        Rendezvous(),
        nn.Conv2d(4, 2, 1),
        nn.Conv2d(2, 2, 1),  # tail: never needed
    )


def expected_features(net, x):
    """The two read-outs computed by hand (the rendezvous layer is skipped)."""
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        first = net[0]((x / 255 - mean) / std)
        return first, net[3](torch.relu(first))


def test_stops_early_and_copies_before_inplace_ops():
    net = small_net()
    net[2] = nn.Identity()
    extractor = FeatureExtractor(net, ("0", "3"))
    tail_calls = []
    net[4].register_forward_hook(lambda *_: tail_calls.append(1))
    x = torch.rand(1, 3, 8, 8) * 255
    with torch.no_grad():
        first, second = extractor(x)
    assert tail_calls == []
    ref_first, ref_second = expected_features(net, x)
    torch.testing.assert_close(first, ref_first)  # not ReLU'd in place
    assert first.min() < 0
    torch.testing.assert_close(second, ref_second)
    with torch.no_grad():
        net(x)  # outside a call the hooks stay passive and the whole network runs
    assert tail_calls == [1]
    clone = copy.deepcopy(extractor)
    with torch.no_grad():
        torch.testing.assert_close(clone(x)[1], second)


def test_concurrent_calls_keep_their_own_features():
    net = small_net()
    extractor = FeatureExtractor(net, ("0", "3"))
    inputs = [torch.rand(1, 3, 8, 8) * 255, torch.rand(1, 3, 8, 8) * 255]
    results = [None, None]

    def work(i):
        with torch.no_grad():
            results[i] = extractor(inputs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for x, got in zip(inputs, results, strict=True):
        for feature, expected in zip(got, expected_features(net, x), strict=True):
            torch.testing.assert_close(feature, expected)
