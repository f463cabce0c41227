"""Per-view parameters → relative actions (DESIGN.md §2.3), vectorised over any leading dims.

Rotations: 3DIEBench latents hold extrinsic XYZ Euler angles (Blender's XYZ mode, scipy's
``from_euler("xyz")``): R = Rz·Ry·Rx. Quaternions are scalar-last (x, y, z, w) as scipy gives
them. The relative action between views i and i+1 is R_i⁻¹·R_{i+1} (so R_{i+1} = R_i·R_rel).
Since q and −q are the same rotation, the default ``canonical`` convention returns w ≥ 0;
``paper`` keeps the sign the authors' scipy calls produce, for comparison with their numbers.

Hues live on a circle: their deltas are wrapped to (−½, ½] by default (``paper``: unwrapped).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Conventions = Literal["canonical", "paper"]

OBJECT_ACTIONS = {"rot": 4, "rotcolor": 6, "color": 2, "all": 8}
FLOOR_HUE, SPOT_THETA, SPOT_PHI, SPOT_HUE = 3, 4, 5, 6


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of scalar-last quaternions (..., 4)."""
    ax, ay, az, aw = np.moveaxis(a, -1, 0)
    bx, by, bz, bw = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ],
        axis=-1,
    )


def quat_conjugate(q: np.ndarray) -> np.ndarray:
    return q * np.array([-1.0, -1.0, -1.0, 1.0], dtype=q.dtype)


def canonical(q: np.ndarray) -> np.ndarray:
    """The representative with w ≥ 0 (q and −q are the same rotation)."""
    return np.where(q[..., 3:4] < 0, -q, q)


def euler_xyz_to_quat(angles: np.ndarray) -> np.ndarray:
    """Extrinsic XYZ Euler angles (..., 3) → quaternions (..., 4), sign for sign as scipy's
    ``from_euler("xyz").as_quat()`` (not canonicalised), so ``paper`` numbers are reproducible."""
    half = np.asarray(angles, dtype=np.float64) / 2
    c, s = np.cos(half), np.sin(half)
    zeros = np.zeros_like(c[..., 0])
    qx = np.stack([s[..., 0], zeros, zeros, c[..., 0]], -1)
    qy = np.stack([zeros, s[..., 1], zeros, c[..., 1]], -1)
    qz = np.stack([zeros, zeros, s[..., 2], c[..., 2]], -1)
    return quat_multiply(qz, quat_multiply(qy, qx))


def relative_rotations(latents: np.ndarray, conventions: Conventions = "canonical") -> np.ndarray:
    """(..., K, 7) latents → (..., K-1, 4) quaternions of R_i⁻¹·R_{i+1}."""
    q = euler_xyz_to_quat(latents[..., :3])
    rel = quat_multiply(quat_conjugate(q[..., :-1, :]), q[..., 1:, :])
    # scipy's Rotation product returns the raw Hamilton product: that is the "paper" sign.
    return canonical(rel) if conventions == "canonical" else rel


def wrap_unit(delta: np.ndarray) -> np.ndarray:
    """Wrap a difference of circular values in [0, 1) to (−½, ½]."""
    return -np.remainder(-delta + 0.5, 1.0) + 0.5


def wrap_angle(delta: np.ndarray) -> np.ndarray:
    return wrap_unit(delta / (2 * np.pi)) * 2 * np.pi


def relative_latents(latents: np.ndarray, conventions: Conventions = "canonical") -> np.ndarray:
    """Differences of the four non-rotation latents, (..., K-1, 4): floor hue, spot θ, spot φ,
    spot hue; hues (and φ, an azimuth) wrapped unless ``paper``."""
    delta = np.diff(latents[..., FLOOR_HUE:], axis=-2)
    if conventions == "canonical":
        delta = delta.copy()
        delta[..., [0, 3]] = wrap_unit(delta[..., [0, 3]])
        delta[..., 2] = wrap_angle(delta[..., 2])
    return delta


def object_actions(
    latents: np.ndarray, action: str = "rot", conventions: Conventions = "canonical"
) -> np.ndarray:
    """Relative actions between consecutive views: (..., K, 7) → (..., K-1, A)."""
    if action not in OBJECT_ACTIONS:
        raise ValueError(
            f"unknown object action {action!r}; choose one of {', '.join(OBJECT_ACTIONS)}"
        )
    others = relative_latents(latents, conventions)
    colour = others[..., [0, 3]]
    if action == "color":
        return colour.astype(np.float32)
    rot = relative_rotations(latents, conventions)
    parts = {"rot": [rot], "rotcolor": [rot, colour], "all": [rot, others]}[action]
    return np.concatenate(parts, axis=-1).astype(np.float32)
