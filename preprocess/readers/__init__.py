"""Raw-format readers, one small module per family, registered by format name."""

from .base import CorruptSample, Entry, FormatError, RawImage, RawObject, Reader
from .binary import CIFAR100, STL10
from .folders import ImageFolder, ImageNet, TinyImageNet
from .threediebench import ThreeDIEBench
from .wds_source import WebDatasetSource

READERS: dict[str, type[Reader]] = {
    cls.name: cls
    for cls in (
        ThreeDIEBench,
        STL10,
        CIFAR100,
        TinyImageNet,
        ImageNet,
        ImageFolder,
        WebDatasetSource,
    )
}

__all__ = [
    "READERS",
    "CorruptSample",
    "Entry",
    "FormatError",
    "RawImage",
    "RawObject",
    "Reader",
]
