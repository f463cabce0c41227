"""Projection fallbacks and transformation colours of the figures."""

import importlib.util

import numpy as np
import pytest

from seqjepa.evaluate.figures import project_2d, transformation_colours

HAS_UMAP = importlib.util.find_spec("umap") is not None


def test_projection_names_its_method():
    rng = np.random.default_rng(0)
    many, method = project_2d(rng.normal(size=(60, 8)))
    assert many.shape == (60, 2) and method == ("UMAP" if HAS_UMAP else "t-SNE")
    if not HAS_UMAP:
        few, method = project_2d(rng.normal(size=(10, 8)))
        assert few.shape == (10, 2) and method == "PCA"


def test_objects_are_coloured_by_rotation_angle():
    params = np.zeros((2, 3, 7))
    params[1, 0, 0] = np.pi / 2  # 90 degrees about x
    angle = transformation_colours("objects", params)["rotation angle (deg)"]
    assert angle == pytest.approx([0.0, 90.0], abs=1e-3)
    fix = np.array([[[0.25, 0.75], [0.5, 0.5]]])
    sacc = transformation_colours("saccades", fix)
    assert sacc["fixation x"] == pytest.approx([0.75]) and sacc["fixation y"] == pytest.approx(
        [0.25]
    )
