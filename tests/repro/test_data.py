"""The suite's own data: disjoint splits, seeded photo crops from registry packages."""

import numpy as np

from seqjepa.preprocess.render.objects import PROCEDURAL_SYNSETS
from seqjepa.repro import data


def test_photo_splits_are_disjoint_by_photo_and_seeded(tmp_path):
    crops = {"train": 2, "tune": 1, "test": 1}
    counts = data.write_photo_folder(tmp_path / "a", crops, 32)
    per_split = {s: sum(p.split == s for p in data.PHOTOS.values()) for s in crops}
    assert counts == {s: crops[s] * per_split[s] for s in crops}
    assert min(per_split.values()) >= 3  # every split holds several unseen photos
    folders = {s: {p.name for p in (tmp_path / "a" / s).iterdir()} for s in crops}
    assert not (folders["train"] & folders["test"]) and not (folders["train"] & folders["tune"])
    data.write_photo_folder(tmp_path / "b", crops, 32)
    first = sorted((tmp_path / "a").rglob("*.png"))
    assert [p.read_bytes() for p in first] == [
        (tmp_path / "b" / p.relative_to(tmp_path / "a")).read_bytes() for p in first
    ]


def test_every_photo_names_its_package_and_licence():
    for photo in data.PHOTOS.values():
        assert data.photo_path(photo).is_file()
        assert photo.licence


def test_object_splits_hold_every_class_and_disjoint_objects(tmp_path):
    synsets = sorted(PROCEDURAL_SYNSETS)
    splits = data.write_object_splits(tmp_path, synsets)
    images = {s: set(np.load(splits / f"{s}_images.npy")) for s in data.OBJECT_SPLITS}
    labels = {s: np.load(splits / f"{s}_labels.npy") for s in data.OBJECT_SPLITS}
    assert {s: len(v) for s, v in images.items()} == {"train": 120, "tune": 30, "test": 50}
    assert not (images["train"] & images["test"]) and not (images["tune"] & images["test"])
    for s in data.OBJECT_SPLITS:
        assert set(labels[s]) == set(range(10))
