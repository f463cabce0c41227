"""Per-dataset RGB normalisation (applied on the training device, never in the loader)."""

from __future__ import annotations

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CIFAR10 = ((0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261))

NORMALIZATION = {
    "3diebench": ((0.5016, 0.5037, 0.5060), (0.1030, 0.0999, 0.0969)),  # paper A.1 (SIE)
    "stl10": ((0.4467, 0.4398, 0.4066), (0.2241, 0.2215, 0.2239)),
    # The paper states CIFAR-10 statistics for both (the authors' code used each set's own).
    "cifar100": CIFAR10,
    "tinyimagenet": CIFAR10,
    "imagenet": IMAGENET,
}


def normalization_for(dataset: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and std for a dataset name; ImageNet statistics for anything else."""
    return NORMALIZATION.get(dataset, IMAGENET)
