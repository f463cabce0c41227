"""Regression targets from per-view parameters, and which equivariance tasks each setting has.

Targets use the evaluation's ``conventions`` (canonical by default: quaternions with w ≥ 0, hue
deltas wrapped to (−½, ½]; ``paper``: scipy's raw quaternion sign and unwrapped hues, as the
authors' numbers were computed), which may differ from the conventions the model's *input*
actions were trained with.

Tasks (paper §3.3, appendix A.2; the head follows the paper's choice per target):

* objects: relative rotation of a view pair (MLP), individual rotation of one view (MLP),
  colour = (Δ floor hue, Δ spot hue) of a pair (linear);
* augment: relative crop (MLP), colour jitter (MLP), blur σ (linear) of a pair;
* saccades: relative fixation position of a pair (linear).

Path integration (appendix B.9) regresses the total transformation from view 1 to view M+1:
the quaternion of R_1⁻¹·R_{M+1} (MLP) for objects, p_{M+1} − p_1 (linear) for saccades.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqjepa.datasets import augment
from seqjepa.datasets.actions import (
    Conventions,
    canonical,
    euler_xyz_to_quat,
    relative_latents,
    relative_rotations,
)

from .probes import Head


@dataclass(frozen=True)
class Target:
    values: np.ndarray  # (N, out)
    head: Head
    inputs: str  # "pair": [z_view1 || z_view2]; "view": z of one view
    quaternion: bool = False


def absolute_rotation(latents: np.ndarray, conventions: Conventions) -> np.ndarray:
    """(..., 7) latents → (..., 4) quaternion of the view's rotation."""
    q = euler_xyz_to_quat(latents[..., :3])
    return (canonical(q) if conventions == "canonical" else q).astype(np.float32)


def relative_rotation(first: np.ndarray, last: np.ndarray, conventions: Conventions) -> np.ndarray:
    """Quaternion of R_first⁻¹·R_last for latents (N, 7) each."""
    return relative_rotations(np.stack([first, last], -2), conventions)[..., 0, :].astype(
        np.float32
    )


def hue_deltas(first: np.ndarray, last: np.ndarray, conventions: Conventions) -> np.ndarray:
    delta = relative_latents(np.stack([first, last], -2), conventions)[..., 0, :]
    return delta[..., [0, 3]].astype(np.float32)


def equivariance_targets(
    setting: str, params: np.ndarray, conventions: Conventions
) -> dict[str, Target]:
    """Targets of every equivariance task of ``setting`` from per-view params (N, V, P)."""
    if setting == "objects":
        first, second = params[:, 0], params[:, 1]
        return {
            "rel_rotation": Target(
                relative_rotation(first, second, conventions), "mlp", "pair", True
            ),
            "abs_rotation": Target(absolute_rotation(first, conventions), "mlp", "view", True),
            "colour": Target(hue_deltas(first, second, conventions), "linear", "pair"),
        }
    if setting == "augment":
        paper_norm = conventions == "paper"  # the authors normalised across the sequence's views
        out = {}
        for name, head in (("crop", "mlp"), ("jitter", "mlp"), ("blur", "linear")):
            cols = augment.action_columns(name)
            delta = augment_deltas(params, cols, paper_norm)
            out[name] = Target(delta, head, "pair")
        return out
    if setting == "saccades":
        return {
            "position": Target((params[:, 1] - params[:, 0]).astype(np.float32), "linear", "pair")
        }
    raise ValueError(f"no equivariance tasks for setting {setting!r}")


def augment_deltas(params: np.ndarray, columns: list[int], paper_norm: bool) -> np.ndarray:
    """Parameter change from view 1 to view 2 (optionally after the authors' normalisation)."""
    p = params[..., columns].astype(np.float64)
    if paper_norm:
        p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
    return (p[:, 1] - p[:, 0]).astype(np.float32)


def path_target(
    setting: str, params: np.ndarray, m: int, conventions: Conventions
) -> Target | None:
    """Total transformation from view 1 to view m+1, or None where the paper has no such task."""
    if setting == "objects":
        return Target(
            relative_rotation(params[:, 0], params[:, m], conventions), "mlp", "agg", True
        )
    if setting == "saccades":
        return Target((params[:, m] - params[:, 0]).astype(np.float32), "linear", "agg")
    return None
