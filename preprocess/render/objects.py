"""A small built-in object set in the ShapeNetCore v2 layout, for users without ShapeNet and demos.

Eight procedural objects in three made-up synsets (ids 9xxxxxxx, which ShapeNet does not use),
written exactly like ShapeNet v2: ``<root>/<synset>/<obj>/models/model_normalized.obj`` + ``.mtl``
(``Kd`` colours, and ``map_Kd ../images/<name>.png`` textures on two objects), Y-up, centred on the
bounding box and scaled to a bounding-box diagonal of 1, plus a minimal ``taxonomy.json``. Object
ids are 32 hex digits like ShapeNet's. The files are a pure function of the code (numpy + OpenCV
PNG), so every machine writes the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..files import write_if_changed

SYNSETS = {"90000001": "block", "90000002": "round", "90000003": "ring"}


@dataclass
class _Part:
    """Triangles of one material: vertices (n, 3), uvs (n, 2), faces (m, 3) into both."""

    material: str
    vertices: np.ndarray
    uvs: np.ndarray
    faces: np.ndarray


@dataclass
class _Material:
    name: str
    kd: tuple[float, float, float]
    texture: str | None = None  # PNG file name under ../images/


@dataclass
class _Object:
    synset: str
    name: str
    parts: list[_Part]
    materials: list[_Material]
    textures: dict[str, np.ndarray] = field(default_factory=dict)  # name -> BGR uint8 image

    @property
    def obj_id(self) -> str:
        return hashlib.md5(f"seqjepa-builtin/{self.name}".encode()).hexdigest()


# Corner i of a box has x = bit 0, y = bit 1, z = bit 2; faces counter-clockwise seen from outside.
_BOX_FACES = ((0, 4, 6, 2), (1, 3, 7, 5), (0, 1, 5, 4), (2, 6, 7, 3), (0, 2, 3, 1), (4, 5, 7, 6))


def _box(size, center=(0.0, 0.0, 0.0), material: str = "mat0") -> _Part:
    """An axis-aligned box; each face has its own four vertices and a full UV square."""
    corners = np.array([[(i >> a) & 1 for a in range(3)] for i in range(8)], dtype=float) - 0.5
    corners = corners * np.asarray(size) + np.asarray(center)
    verts = np.concatenate([corners[list(f)] for f in _BOX_FACES])
    uvs = np.tile([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], (6, 1))
    faces = np.array([[4 * k + t for t in tri] for k in range(6) for tri in ((0, 1, 2), (0, 2, 3))])
    return _Part(material, verts, uvs, faces)


def _revolve(profile: np.ndarray, segments: int, material: str = "mat0") -> _Part:
    """Surface of revolution about +Y of a (radius, height) polyline; caps where radius > 0."""
    n = len(profile)
    theta = np.linspace(0.0, 2 * np.pi, segments + 1)
    r, h = profile[:, 0], profile[:, 1]
    grid = np.stack(
        [
            r[None, :] * np.cos(theta)[:, None],
            np.broadcast_to(h, (segments + 1, n)),
            -r[None, :] * np.sin(theta)[:, None],
        ],
        axis=-1,
    )  # (segments + 1, n, 3); the seam column is duplicated so UVs do not wrap
    verts = grid.reshape(-1, 3)
    uvs = np.stack(np.meshgrid(theta / (2 * np.pi), np.linspace(0, 1, n), indexing="ij"), -1)
    uvs = uvs.reshape(-1, 2)
    faces = []
    for i in range(segments):
        for j in range(n - 1):
            a, b = i * n + j, (i + 1) * n + j
            if r[j + 1] > 1e-9:  # outward: (b − a) × (a+1 − a); no slivers at an apex
                faces.append([a, b + 1, a + 1])
            if r[j] > 1e-9:
                faces.append([a, b, b + 1])
    faces = np.array(faces)
    extra_v, extra_uv, extra_f = [], [], []
    for j, outward in ((0, -1.0), (n - 1, 1.0)):  # caps at the two ends of the profile
        if r[j] <= 1e-9:
            continue
        centre = len(verts) + len(extra_v)
        extra_v.append([0.0, h[j], 0.0])
        extra_uv.append([0.5, 0.5])
        for i in range(segments):
            a, b = i * n + j, (i + 1) * n + j
            extra_f.append([centre, a, b] if outward > 0 else [centre, b, a])
    if extra_v:
        verts = np.concatenate([verts, np.array(extra_v)])
        uvs = np.concatenate([uvs, np.array(extra_uv)])
        faces = np.concatenate([faces, np.array(extra_f)])
    return _Part(material, verts, uvs, faces)


def _torus(
    major: float, minor: float, segments: int = 48, rings: int = 16, material: str = "mat0"
) -> _Part:
    """A torus around +Y."""
    u = np.linspace(0, 2 * np.pi, segments + 1)
    v = np.linspace(0, 2 * np.pi, rings + 1)
    uu, vv = np.meshgrid(u, v, indexing="ij")
    rad = major + minor * np.cos(vv)
    verts = np.stack([rad * np.cos(uu), minor * np.sin(vv), -rad * np.sin(uu)], -1).reshape(-1, 3)
    uvs = np.stack([uu / (2 * np.pi), vv / (2 * np.pi)], -1).reshape(-1, 2)
    m = rings + 1
    faces = []
    for i in range(segments):
        for j in range(rings):
            a, b = i * m + j, (i + 1) * m + j
            faces += [[a, b, b + 1], [a, b + 1, a + 1]]
    return _Part(material, verts, uvs, np.array(faces))


def _upright(part: _Part, offset=(0.0, 0.0, 0.0)) -> _Part:
    """Rotate 90° about X (a ring around +Y becomes a ring around −Z) and move by ``offset``."""
    rot = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    return _Part(part.material, part.vertices @ rot.T + np.asarray(offset), part.uvs, part.faces)


def _checker(c1, c2, cells: int = 8, size: int = 64) -> np.ndarray:
    idx = (np.arange(size) * cells // size)[:, None] + (np.arange(size) * cells // size)[None, :]
    img = np.where((idx % 2 == 0)[..., None], np.array(c1), np.array(c2))
    return img.astype(np.uint8)  # BGR for cv2


def _stripes(c1, c2, stripes: int = 6, size: int = 64) -> np.ndarray:
    band = (np.arange(size) * stripes // size) % 2 == 0
    img = np.where(band[None, :, None], np.array(c1), np.array(c2))
    return np.broadcast_to(img, (size, size, 3)).astype(np.uint8)


def _objects() -> list[_Object]:
    block, round_, ring = SYNSETS
    cyl = np.array([[0.35, -0.5], [0.35, 0.5]])
    cone = np.array([[0.45, -0.5], [0.0, 0.6]])
    vase = np.array([[0.2, -0.5], [0.38, -0.2], [0.3, 0.2], [0.15, 0.45], [0.2, 0.6]])
    legs = [
        _box((0.08, 0.7, 0.08), (x, -0.35, z), "legs") for x in (-0.5, 0.5) for z in (-0.3, 0.3)
    ]
    return [
        _Object(
            block,
            "crate",
            [_box((1.0, 0.8, 0.6), material="wood")],
            [_Material("wood", (0.8, 0.6, 0.4), texture="crate.png")],
            {"crate.png": _checker((40, 90, 160), (90, 170, 230))},
        ),
        _Object(block, "slab", [_box((1.2, 0.25, 0.7))], [_Material("mat0", (0.2, 0.5, 0.8))]),
        _Object(
            block,
            "table",
            [_box((1.2, 0.08, 0.8), (0.0, 0.04, 0.0), "top"), *legs],
            [_Material("top", (0.55, 0.35, 0.2)), _Material("legs", (0.15, 0.15, 0.15))],
        ),
        _Object(
            round_,
            "can",
            [_revolve(cyl, 40, "label")],
            [_Material("label", (1.0, 1.0, 1.0), texture="stripes.png")],
            {"stripes.png": _stripes((30, 30, 200), (230, 230, 230))},
        ),
        _Object(round_, "cone", [_revolve(cone, 40)], [_Material("mat0", (0.9, 0.5, 0.1))]),
        _Object(
            round_,
            "mug",
            [
                _revolve(vase, 40, "body"),
                _upright(_torus(0.15, 0.04, material="handle"), (0.38, 0.05, 0.0)),
            ],
            [_Material("body", (0.3, 0.7, 0.3)), _Material("handle", (0.8, 0.8, 0.2))],
        ),
        _Object(ring, "torus", [_torus(0.4, 0.15)], [_Material("mat0", (0.7, 0.2, 0.6))]),
        _Object(
            ring,
            "chain",
            [
                _torus(0.3, 0.07, material="a"),
                _upright(_torus(0.3, 0.07, material="b"), (0.3, 0.0, 0.0)),
            ],
            [_Material("a", (0.8, 0.8, 0.85)), _Material("b", (0.9, 0.3, 0.3))],
        ),
    ]


def _normalise(parts: list[_Part]) -> list[_Part]:
    """Centre on the bounding box and scale to a unit bounding-box diagonal (ShapeNet v2)."""
    allv = np.concatenate([p.vertices for p in parts])
    lo, hi = allv.min(0), allv.max(0)
    centre, diag = (lo + hi) / 2, float(np.linalg.norm(hi - lo))
    return [_Part(p.material, (p.vertices - centre) / diag, p.uvs, p.faces) for p in parts]


def _obj_text(obj: _Object) -> str:
    lines = ["# seqjepa built-in object (procedural)", "mtllib model_normalized.mtl"]
    faces, v_off = [], 0
    for part in _normalise(obj.parts):
        lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in part.vertices]
        lines += [f"vt {u:.6f} {v:.6f}" for u, v in part.uvs]
        faces.append(f"g {part.material}")
        faces.append(f"usemtl {part.material}")
        faces += [
            "f " + " ".join(f"{i + 1 + v_off}/{i + 1 + v_off}" for i in tri) for tri in part.faces
        ]
        v_off += len(part.vertices)
    return "\n".join(lines + faces) + "\n"


def _mtl_text(obj: _Object) -> str:
    out = []
    for m in obj.materials:
        out += [
            f"newmtl {m.name}",
            "Ka 0.1 0.1 0.1",
            "Kd {:.4f} {:.4f} {:.4f}".format(*m.kd),
            "Ks 0.0 0.0 0.0",
            "Ns 10.0",
            "d 1.0",
            "illum 2",
        ]
        if m.texture:
            out.append(f"map_Kd ../images/{m.texture}")
        out.append("")
    return "\n".join(out)


def write_builtin_objects(root: Path) -> list[tuple[str, str]]:
    """Write the built-in set under ``root`` (idempotent) and return its (synset, object) keys."""
    root = Path(root)
    keys = []
    objects = _objects()
    for obj in objects:
        base = root / obj.synset / obj.obj_id
        (base / "models").mkdir(parents=True, exist_ok=True)
        _write_text(base / "models" / "model_normalized.obj", _obj_text(obj))
        _write_text(base / "models" / "model_normalized.mtl", _mtl_text(obj))
        for name, img in obj.textures.items():
            (base / "images").mkdir(exist_ok=True)
            ok, buf = cv2.imencode(".png", np.ascontiguousarray(img))
            assert ok
            write_if_changed(base / "images" / name, buf.tobytes())
        keys.append((obj.synset, obj.obj_id))
    taxonomy = [
        {
            "synsetId": sid,
            "name": name,
            "children": [],
            "numInstances": sum(o.synset == sid for o in objects),
        }
        for sid, name in SYNSETS.items()
    ]
    _write_text(root / "taxonomy.json", json.dumps(taxonomy, indent=1) + "\n")
    return keys


def builtin_names() -> dict[tuple[str, str], str]:
    """(synset, object id) → readable name of each built-in object."""
    return {(o.synset, o.obj_id): o.name for o in _objects()}


def _write_text(path: Path, text: str) -> None:
    write_if_changed(path, text.encode())
