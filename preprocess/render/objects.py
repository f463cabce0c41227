"""Built-in object sets in the ShapeNetCore v2 layout, for users without ShapeNet, demos and the
CPU reproduction.

Two sets, both in made-up synsets (ids 9xxxxxxx, which ShapeNet does not use):

* the **demo set**: eight hand-made objects in three synsets (90000001-90000003);
* the **procedural set**: ten classes (91000001-91000010) of twenty objects each, every object
  drawn from its class's shape family with its own proportions, part colours and texture
  (checker, stripes or plain), seeded by (class, index). Most families are asymmetric, and the
  symmetric ones (vase, ring, lamp) carry an off-axis marker part, so an object's pose can be
  read from its image, which the rotation-equivariance experiments need.

Every object is written exactly like ShapeNet v2:
``<root>/<synset>/<obj>/models/model_normalized.obj`` + ``.mtl`` (``Kd`` colours, and
``map_Kd ../images/<name>.png`` textures), Y-up, centred on the
bounding box and scaled to a bounding-box diagonal of 1, plus a minimal ``taxonomy.json``. Object
ids are 32 hex digits like ShapeNet's. The files are a pure function of the code (numpy + OpenCV
PNG), so every machine writes the same bytes.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..files import write_if_changed

DEMO_SYNSETS = {"90000001": "block", "90000002": "round", "90000003": "ring"}
PROCEDURAL_FAMILIES = (
    "crate", "table", "chair", "vase", "mug", "lamp", "ring", "ell", "jack", "rocket"
)  # fmt: skip
PROCEDURAL_SYNSETS = {f"910000{i + 1:02d}": name for i, name in enumerate(PROCEDURAL_FAMILIES)}
OBJECTS_PER_FAMILY = 20
SYNSETS = {**DEMO_SYNSETS, **PROCEDURAL_SYNSETS}


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


def _demo_objects() -> list[_Object]:
    block, round_, ring = DEMO_SYNSETS
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


@functools.cache
def _objects() -> tuple[_Object, ...]:
    """Every built-in object: the demo set, then the procedural set (built once per process:
    the CLI lists the names and then writes the files)."""
    return (*_demo_objects(), *_procedural_objects())


class _Style:
    """The random look of one procedural object: part colours and textures."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.materials: list[_Material] = []
        self.textures: dict[str, np.ndarray] = {}

    def colour(self) -> tuple[float, float, float]:
        h, s, v = self.rng.uniform(0, 1), self.rng.uniform(0.4, 1.0), self.rng.uniform(0.45, 1.0)
        return colorsys.hsv_to_rgb(h, s, v)

    def material(self, name: str, textured: bool = True) -> str:
        """Add material ``name``: plain, or (when ``textured``) maybe a checker or stripes."""
        kind = self.rng.choice(["plain", "checker", "stripes"]) if textured else "plain"
        if kind == "plain":
            self.materials.append(_Material(name, self.colour()))
            return name
        c1, c2 = (tuple(int(255 * c) for c in self.colour()[::-1]) for _ in range(2))
        count = int(self.rng.integers(2, 7))
        img = _checker(c1, c2, 2 * count) if kind == "checker" else _stripes(c1, c2, count)
        self.textures[f"{name}.png"] = img
        self.materials.append(_Material(name, (1.0, 1.0, 1.0), texture=f"{name}.png"))
        return name


def _marker(rng: np.random.Generator, style: _Style, parts: list[_Part]) -> _Part:
    """A small plain box of its own colour on the bounding box's surface: breaks the symmetry
    of round families so the pose can be read from the image."""
    allv = np.concatenate([p.vertices for p in parts])
    lo, hi = allv.min(0), allv.max(0)
    point = rng.uniform(lo, hi)
    axis = int(rng.integers(3))
    point[axis] = hi[axis] if rng.uniform() < 0.5 else lo[axis]
    side = 0.12 * float(np.linalg.norm(hi - lo))
    return _box((side, side, side), point, style.material("marker", textured=False))


def _family_parts(family: str, rng: np.random.Generator, style: _Style) -> list[_Part]:
    u = rng.uniform
    if family == "crate":
        return [_box((u(0.5, 1.2), u(0.4, 1.0), u(0.3, 0.8)), material=style.material("body"))]
    if family in ("table", "chair"):
        w, d, leg_h, t = u(0.6, 1.2), u(0.5, 0.9), u(0.4, 0.8), u(0.05, 0.12)
        top = style.material("top")
        legs_m = style.material("legs", textured=False)
        parts = [_box((w, t, d), (0.0, t / 2, 0.0), top)]
        parts += [
            _box((t, leg_h, t), (x * (w - t) / 2, -leg_h / 2, z * (d - t) / 2), legs_m)
            for x in (-1, 1)
            for z in (-1, 1)
        ]
        if family == "chair":
            back_h = u(0.4, 0.9)
            parts.append(_box((w, back_h, t), (0.0, t + back_h / 2, -(d - t) / 2), top))
        return parts
    if family == "vase":
        heights = np.linspace(-0.5, 0.5, int(rng.integers(4, 7)))
        profile = np.stack([u(0.12, 0.45, len(heights)), heights], 1)
        return [_revolve(profile, 32, style.material("body"))]
    if family == "mug":
        r, h = u(0.25, 0.4), u(0.6, 1.0)
        body = _revolve(np.array([[r, -h / 2], [r, h / 2]]), 32, style.material("body"))
        handle = _torus(u(0.12, 0.2), u(0.03, 0.06), material=style.material("handle", False))
        return [body, _upright(handle, (r + 0.05, u(-0.1, 0.1) * h, 0.0))]
    if family == "lamp":
        stem_h, shade_r = u(0.4, 0.9), u(0.25, 0.5)
        metal = style.material("stem", textured=False)
        base = _revolve(np.array([[u(0.2, 0.35), -0.05], [u(0.2, 0.35), 0.0]]), 24, metal)
        stem = _box((0.05, stem_h, 0.05), (0.0, stem_h / 2, 0.0), metal)
        shade = _revolve(
            np.array([[shade_r, stem_h], [shade_r * u(0.2, 0.6), stem_h + u(0.2, 0.45)]]),
            32,
            style.material("shade"),
        )
        return [base, stem, shade]
    if family == "ring":
        return [_torus(u(0.3, 0.45), u(0.06, 0.18), material=style.material("body"))]
    if family == "ell":
        a, b, t = u(0.6, 1.2), u(0.3, 0.8), u(0.15, 0.35)
        m1, m2 = style.material("long"), style.material("short")
        return [_box((a, t, t), (a / 2, 0.0, 0.0), m1), _box((t, b, t), (t / 2, b / 2, 0.0), m2)]
    if family == "jack":
        t = u(0.08, 0.18)
        return [
            _box(size, material=style.material(f"arm{k}"))
            for k, size in enumerate(
                ((u(0.5, 1.2), t, t), (t, u(0.5, 1.2), t), (t, t, u(0.5, 1.2)))
            )
        ]
    if family == "rocket":
        r, h = u(0.12, 0.22), u(0.7, 1.2)
        body_m = style.material("body")
        fin_m = style.material("fins", textured=False)
        body = _revolve(np.array([[r, -h / 2], [r, h / 2], [0.0, h / 2 + u(0.2, 0.4)]]), 24, body_m)
        fin = u(0.15, 0.3)
        fins = [
            _box((fin, fin, 0.03), (x * (r + fin / 2), -h / 2 + fin / 2, 0.0), fin_m)
            for x in (-1, 1)
        ]
        return [body, *fins]
    raise ValueError(f"unknown procedural family {family!r}")


def _procedural_objects() -> list[_Object]:
    """OBJECTS_PER_FAMILY objects per family, each seeded by (family, index)."""
    objects = []
    for synset, family in PROCEDURAL_SYNSETS.items():
        for i in range(OBJECTS_PER_FAMILY):
            digest = hashlib.sha256(f"seqjepa-procedural/{family}/{i}".encode()).digest()
            rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
            style = _Style(rng)
            parts = _family_parts(family, rng, style)
            parts.append(_marker(rng, style, parts))
            objects.append(
                _Object(synset, f"{family}-{i:02d}", parts, style.materials, style.textures)
            )
    return objects


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
