"""Per-view scene parameters (the 7-value 3DIEBench latent) and the rotation modes.

Latent layout, float64, exactly as 3DIEBench's ``latent_<k>.npy``:
``[rot X, rot Y, rot Z, floor hue, spot θ, spot φ, spot hue]``. The three angles are Blender
``rotation_mode='XYZ'`` Euler angles, i.e. extrinsic x→y→z, matrix Rz·Ry·Rx, which is scipy's
``Rotation.from_euler("xyz", angles)``. Floor hue and spot hue are in [0, 1), spot θ (polar angle
from +Z) in [0, π/4), spot φ (azimuth) in [0, 2π).

Rotation modes (only the first three values differ between modes):

- ``id``: each angle U(−π/2, π/2), as 3DIEBench.
- ``paper-ood``: the seq-JEPA paper's "OOD" protocol, each angle ±U(π/2, π). These are **not** new
  rotations: R(x, y, z) = R(x ± π, π − y, z ± π) (Tait–Bryan twin), and that map sends every
  ``paper-ood`` triple to a triple inside the ``id`` cube. The poses, and so the images, are
  in-distribution; only the Euler labels (and the signs of scipy's quaternions) differ. Use it to
  reproduce the paper's numbers, not to measure generalisation to unseen rotations.
- ``so3-ood``: rotations that no ``id`` triple reaches. Every rotation has exactly one xyz-Euler
  triple with y in (−π/2, π/2) (its canonical triple, what scipy's ``as_euler`` returns) and one
  twin with |y| > π/2, which is never in the ``id`` cube; so a rotation is reachable by the ``id``
  sampler iff its canonical triple is in the cube. ``so3-ood`` draws canonical triples uniformly
  (in Euler coordinates, like ``id``) from the rest of the chart: y ~ U(−π/2, π/2) and (x, z)
  uniform on (−π, π]² minus (−π/2, π/2)², i.e. x outside ±π/2, z outside, or both. The labels
  written are these canonical angles. Near the cube's faces and near gimbal lock (|y| → π/2) the
  poses come arbitrarily close to ``id`` poses, as any set bordering the ``id`` set must; measured
  against 200k ``id`` poses, the nearest-neighbour geodesic distance of ``so3-ood`` poses has
  quantiles 1 % 0.9°, 10 % 4.5°, 50 % 28°, 90 % 66° (``id`` poses themselves: median 1.3°).

Determinism: each view draws from its own generators seeded by a hash of (seed, synset, object,
view), never from a sequential stream, so chunked, parallel and resumed runs give identical
latents. The pose and the lights use separate streams, so one seed gives the same floor and spot
for a view in every mode: an OOD split differs from the ID split of the same objects only in pose.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy.spatial.transform import Rotation

Mode = Literal["id", "paper-ood", "so3-ood"]
MODES: tuple[str, ...] = ("id", "paper-ood", "so3-ood")
LATENT_NAMES = ("rot_x", "rot_y", "rot_z", "floor_hue", "spot_theta", "spot_phi", "spot_hue")
HALF_PI = np.pi / 2
SPOT_THETA_MAX = np.pi / 4
THREEDIEBENCH_FOV = 0.691  # the camera's field of view (rad) in 3DIEBench's scene
HASH_VERSION = "seqjepa-render/v1"


def _rng(seed: int, synset: str, obj: str, view: int, stream: str) -> np.random.Generator:
    key = f"{HASH_VERSION}|{stream}|{seed}|{synset}|{obj}|{view}".encode()
    digest = hashlib.sha256(key).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def sample_euler(mode: str, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    """Draw xyz-Euler triples for ``mode``: shape (3,) if ``n`` is None, else (n, 3)."""
    size = 1 if n is None else n
    if mode == "id":
        out = rng.uniform(-HALF_PI, HALF_PI, size=(size, 3))
    elif mode == "paper-ood":
        magnitude = rng.uniform(HALF_PI, np.pi, size=(size, 3))
        sign = rng.choice(np.array([-1.0, 1.0]), size=(size, 3))
        out = sign * magnitude
    elif mode == "so3-ood":
        out = np.empty((size, 3))
        filled = 0
        while filled < size:  # rejection: 3/4 of the (x, z) square is accepted
            draw = rng.uniform(-np.pi, np.pi, size=(max(size - filled, 1) * 2, 3))
            draw[:, 1] = rng.uniform(-HALF_PI, HALF_PI, size=len(draw))
            keep = draw[~((np.abs(draw[:, 0]) < HALF_PI) & (np.abs(draw[:, 2]) < HALF_PI))]
            take = keep[: size - filled]
            out[filled : filled + len(take)] = take
            filled += len(take)
    else:
        raise ValueError(f"unknown rotation mode {mode!r}; expected one of {', '.join(MODES)}")
    return out[0] if n is None else out


def sample_lights(rng: np.random.Generator) -> np.ndarray:
    """Floor hue, spot θ, spot φ, spot hue, drawn as 3DIEBench does."""
    return np.array(
        [
            rng.uniform(0.0, 1.0),
            rng.uniform(0.0, SPOT_THETA_MAX),
            rng.uniform(0.0, 2 * np.pi),
            rng.uniform(0.0, 1.0),
        ]
    )


def view_latent(mode: str, seed: int, synset: str, obj: str, view: int) -> np.ndarray:
    """The 7-value latent of one view; a pure function of its arguments."""
    euler = sample_euler(mode, _rng(seed, synset, obj, view, f"pose:{mode}"))
    lights = sample_lights(_rng(seed, synset, obj, view, "lights"))
    return np.concatenate([euler, lights]).astype(np.float64)


def object_latents(mode: str, seed: int, synset: str, obj: str, views: Sequence[int]) -> np.ndarray:
    """Latents of the given views of one object, shape (len(views), 7)."""
    return np.stack([view_latent(mode, seed, synset, obj, v) for v in views])


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Wrap angles to (−π, π]."""
    return np.pi - np.mod(np.pi - np.asarray(a, dtype=np.float64), 2 * np.pi)


def euler_twin(euler: np.ndarray) -> np.ndarray:
    """The other xyz-Euler triple of the same rotation: (x + π, π − y, z + π), wrapped."""
    e = np.asarray(euler, dtype=np.float64)
    twin = np.stack([e[..., 0] + np.pi, np.pi - e[..., 1], e[..., 2] + np.pi], axis=-1)
    return wrap_angle(twin)


def in_id_cube(euler: np.ndarray) -> np.ndarray:
    """Whether each triple lies in the open ``id`` cube (−π/2, π/2)³."""
    return np.all(np.abs(np.asarray(euler)) < HALF_PI, axis=-1)


def id_reachable(euler: np.ndarray) -> np.ndarray:
    """Whether an ``id`` triple gives the same rotation as each of ``euler`` (shape (..., 3)).

    Checks both representations of the rotation: scipy's canonical triple (y in [−π/2, π/2]) and
    its twin.
    """
    e = np.asarray(euler, dtype=np.float64)
    canonical = Rotation.from_euler("xyz", e.reshape(-1, 3)).as_euler("xyz")
    hit = in_id_cube(canonical) | in_id_cube(euler_twin(canonical))
    return hit.reshape(e.shape[:-1])


def rotation_of(latents: np.ndarray) -> Rotation:
    """The object rotation(s) a latent (shape (7,) or (n, 7)) describes."""
    return Rotation.from_euler("xyz", np.asarray(latents)[..., :3])


def relative_quaternion(
    latent_a: np.ndarray, latent_b: np.ndarray, canonical: bool = True
) -> np.ndarray:
    """R_a⁻¹·R_b as a scalar-last (x, y, z, w) quaternion, w ≥ 0 unless ``canonical`` is False.

    The project's action convention (DESIGN §2.3); ``canonical=False`` keeps scipy's raw sign,
    as the paper's code did.
    """
    rel = rotation_of(latent_a).inv() * rotation_of(latent_b)
    return rel.as_quat(canonical=canonical)
