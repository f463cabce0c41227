"""The suite's data that is not rendered: split files for the procedural objects and an
ImageFolder of real photos that ship inside registry packages.

Objects: the built-in procedural set (10 classes × 20 objects, ``--shapenet builtin``) split
*by object* within each class: objects 0-11 train, 12-14 tune (where designs were chosen), 15-19
test (where the report's numbers come from). Every class is in every split.

Photos: scikit-image's, scikit-learn's and matplotlib's sample photographs (licences in
:data:`PHOTOS`), split *by photo*: the tune and test photos are never seen in training. Each
photo gives seeded square crops (random side 40-75 % of its short side, resized to
``crop_px``); the ImageFolder class is the photo (classification is not a claim here).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqjepa.preprocess.files import write_if_changed

OBJECT_SPLITS = {"train": range(0, 12), "tune": range(12, 15), "test": range(15, 20)}


@dataclass(frozen=True)
class Photo:
    package: str  # where the file ships: skimage, sklearn or matplotlib
    file: str  # path inside the package's data folder
    licence: str
    split: str  # train, tune or test


PHOTOS = {
    "astronaut": Photo("skimage", "astronaut.png", "public domain (NASA)", "train"),
    "chelsea": Photo("skimage", "chelsea.png", "CC0 (Stefan van der Walt)", "tune"),
    "coffee": Photo("skimage", "coffee.png", "CC0 (Rachel Michetti)", "test"),
    "hubble": Photo("skimage", "hubble_deep_field.jpg", "public domain (NASA)", "train"),
    "ihc": Photo("skimage", "ihc.png", "no known copyright restrictions", "train"),
    "retina": Photo("skimage", "retina.jpg", "CC0 (Wikimedia Commons)", "train"),
    "rocket": Photo("skimage", "rocket.jpg", "public domain (SpaceX)", "test"),
    "camera": Photo("skimage", "camera.png", "CC0 (Lav Varshney)", "train"),
    "brick": Photo("skimage", "brick.png", "CC0 (CC0Textures)", "train"),
    "grass": Photo("skimage", "grass.png", "CC0 (CC0Textures)", "tune"),
    "gravel": Photo("skimage", "gravel.png", "CC0 (CC0Textures)", "test"),
    "coins": Photo("skimage", "coins.png", "no known copyright restrictions", "train"),
    "clock": Photo("skimage", "clock_motion.png", "public domain (Stefan van der Walt)", "train"),
    "china": Photo("sklearn", "china.jpg", "CC BY 2.0 (scikit-learn sample images)", "train"),
    "flower": Photo("sklearn", "flower.jpg", "CC BY 2.0 (scikit-learn sample images)", "tune"),
    "hopper": Photo("matplotlib", "grace_hopper.jpg", "public domain (US Navy)", "test"),
}


def write_object_splits(render: Path, synsets: list[str]) -> Path:
    """3DIEBench split files (``<split>_images.npy`` + ``<split>_labels.npy``) by object index.

    Written under ``render/splits`` only when their bytes change, so a re-run leaves the shard
    job's source fingerprint untouched. Labels are indices into the sorted ``synsets``.
    """
    from seqjepa.preprocess.render.objects import builtin_names

    classes = sorted(synsets)
    names = {k: n for k, n in builtin_names().items() if k[0] in classes}
    splits = render / "splits"
    splits.mkdir(parents=True, exist_ok=True)
    for split, indices in OBJECT_SPLITS.items():
        keys = sorted(k for k, n in names.items() if int(n.rsplit("-", 1)[1]) in indices)
        images = np.array([f"/{s}/{o}/" for s, o in keys])
        labels = np.array([classes.index(s) for s, _ in keys], dtype=np.int64)
        for suffix, arr in (("images", images), ("labels", labels)):
            buf = io.BytesIO()
            np.save(buf, arr, allow_pickle=False)
            write_if_changed(splits / f"{split}_{suffix}.npy", buf.getvalue())
    return splits


def photo_path(photo: Photo) -> Path:
    if photo.package == "skimage":
        import skimage

        return Path(skimage.__file__).parent / "data" / photo.file
    if photo.package == "sklearn":
        import sklearn.datasets

        return Path(sklearn.datasets.__file__).parent / "images" / photo.file
    import matplotlib.cbook

    return Path(matplotlib.cbook.get_sample_data(photo.file, asfileobj=False))


def write_photo_folder(root: Path, crops: dict[str, int], crop_px: int) -> dict[str, int]:
    """``root/<split>/<photo>/NNN.png``: ``crops[split]`` seeded crops of each photo of a split.

    Seeded by (photo, split), so the folder is the same on every machine and re-run.
    """
    from PIL import Image

    counts = dict.fromkeys(crops, 0)
    for name, photo in PHOTOS.items():
        n = crops[photo.split]
        with Image.open(photo_path(photo)) as im:
            im = im.convert("RGB")
        rng = np.random.default_rng(sum(name.encode()) * 1000 + len(name))
        short = min(im.size)
        folder = root / photo.split / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            side = int(rng.integers(int(0.4 * short), int(0.75 * short) + 1))
            x = int(rng.integers(0, im.size[0] - side + 1))
            y = int(rng.integers(0, im.size[1] - side + 1))
            crop = im.crop((x, y, x + side, y + side)).resize(
                (crop_px, crop_px), Image.Resampling.BICUBIC
            )
            buf = io.BytesIO()  # a fresh image: no ICC profile carried over
            Image.fromarray(np.asarray(crop)).save(buf, format="PNG")
            write_if_changed(folder / f"{i:03d}.png", buf.getvalue())
            counts[photo.split] += 1
    return counts
