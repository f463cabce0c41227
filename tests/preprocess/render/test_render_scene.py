"""Real Cycles renders of a generated ShapeNet-style OBJ + MTL + texture object (64 px, 8 spp).

bpy runs in a spawned child process: it is a process-global singleton, and the test process may
fork later (DataLoader workers), which must not happen after bpy is imported. For the same reason
the skip checks that bpy is installed without importing it (``pytest.importorskip`` would).
"""

import colorsys
import importlib.util
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from seqjepa.preprocess.render.objects import write_builtin_objects
from seqjepa.preprocess.render.poses import view_latent
from seqjepa.preprocess.render.sources import model_path

pytestmark = pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="needs bpy")

OFFSET = np.array([0.3, -0.2, 0.1])  # moves the OBJ off-centre, so centring is tested too
FLOOR_HUES = (0.05, 0.3, 0.55, 0.8)


def _shifted_crate(tmp_path):
    """The built-in textured crate (OBJ + MTL + map_Kd PNG), moved off its bounding-box centre."""
    root = tmp_path / "shapenet"
    keys = write_builtin_objects(root)
    synset, obj = keys[0]
    path = model_path(root, synset, obj)
    assert "map_Kd" in path.with_suffix(".mtl").read_text()
    lines = []
    for ln in path.read_text().splitlines():
        if ln.startswith("v "):
            v = np.array([float(x) for x in ln.split()[1:4]]) + OFFSET
            ln = "v " + " ".join(f"{x:.6f}" for x in v)
        lines.append(ln)
    path.write_text("\n".join(lines) + "\n")
    obj_vertices = np.array([[float(x) for x in ln.split()[1:4]] for ln in lines if ln[:2] == "v "])
    return path, obj_vertices


def _probe(path: str, pose_latent, hue_latents) -> dict:
    """Runs in a fresh process: pose, matrices and renders of one object."""
    from seqjepa.preprocess.render.scene import Scene

    scene = Scene(size=64, samples=8, denoise=True, threads=1)
    scene.load(path)
    scene.pose(pose_latent)
    out = {
        "matrix": scene.object_matrix_world(),
        "vertices": scene.object_world_vertices(),
        "images": [scene.render(lat) for lat in hue_latents],
    }
    out["again"] = scene.render(hue_latents[0])
    scene.unload()
    out["empty"] = scene.render(hue_latents[0])
    scene.close()
    return out


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    path, obj_vertices = _shifted_crate(tmp_path_factory.mktemp("scene"))
    pose = view_latent("so3-ood", 0, "x", "y", 0)
    base = view_latent("id", 0, "x", "y", 1)
    hue_latents = [np.concatenate([base[:3], [h], base[4:6], [(h + 0.5) % 1]]) for h in FLOOR_HUES]
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        result = pool.submit(_probe, str(path), pose, hue_latents).result(timeout=240)
    return {**result, "pose": pose, "obj_vertices": obj_vertices, "hue_latents": hue_latents}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_latent_is_the_rendered_pose(probe):
    """The object's world matrix is exactly Rotation.from_euler("xyz", latent[:3])."""
    m = probe["matrix"]
    expected = Rotation.from_euler("xyz", probe["pose"][:3]).as_matrix()
    assert np.allclose(m[:3, :3], expected, atol=1e-6)
    assert np.allclose(m[:3, 3], 0, atol=1e-9)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_import_bakes_y_up_and_centres_the_bounding_box(probe):
    """World vertices = R · (Rx(π/2) · v_obj − bbox centre): ShapeNet's +Y becomes Blender's +Z."""
    v = probe["obj_vertices"]
    z_up = np.stack([v[:, 0], -v[:, 2], v[:, 1]], axis=1)  # Rx(π/2) applied to (x, y, z)
    z_up -= (z_up.min(0) + z_up.max(0)) / 2
    expected = Rotation.from_euler("xyz", probe["pose"][:3]).apply(z_up)
    got = probe["vertices"]
    assert cKDTree(got).query(expected)[0].max() < 1e-5
    assert cKDTree(expected).query(got)[0].max() < 1e-5


def _hue(patch):
    r, g, b = patch.reshape(-1, 3).mean(0) / 255
    return colorsys.rgb_to_hsv(r, g, b)[0]


def _hue_gap(a, b):
    d = abs(a - b) % 1
    return min(d, 1 - d)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_render_shows_object_and_floor_of_the_latent_hue(probe):
    images, empty = probe["images"], probe["empty"]
    for img in images:
        assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    # the object: the centre differs from the same view without it, the far floor does not
    centre = np.abs(images[0].astype(float) - empty)[20:44, 20:44].mean()
    far = np.abs(images[0].astype(float) - empty)[:8].mean()
    assert centre > 15 and far < 3
    # the floor: the far (top) rows take the latent's floor hue, whatever the spot's hue
    for img, h in zip(images, FLOOR_HUES, strict=True):
        top = img[:8]
        assert top.std(axis=(0, 1)).max() < 12  # plain floor, no object
        assert _hue_gap(_hue(top), h) < 0.05
        assert top.astype(float).mean() > 40  # lit, not black


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_same_view_renders_the_same_image(probe):
    diff = np.abs(probe["images"][0].astype(float) - probe["again"])
    assert diff.max() <= 2
