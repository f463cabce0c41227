"""Evaluation metrics, each written once, in numpy, and unit-tested on hand-computed values.

Two R² variants are reported side by side because the literature mixes them:

* :func:`r2_uniform` is scikit-learn's ``r2_score`` (``multioutput="uniform_average"``): one R²
  per output dimension, then their mean. The seq-JEPA authors' code computes this, so the
  paper's seq-JEPA numbers are of this kind.
* :func:`r2_global` is the variant in SIE's evaluation scripts: one scalar mean over every target
  element, 1 − SS_res/SS_tot. It gives different numbers for the same predictions (e.g. 0.809
  against 0.770), so SIE's published numbers compare with this one.

Quaternions: q and −q are the same rotation, so R² of quaternion regressions depends on a sign
convention; :func:`quaternion_angle_error` does not, and is reported beside R².
"""

from __future__ import annotations

import numpy as np


def _2d(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    return y.reshape(len(y), -1)


def accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Top-1 accuracy in percent."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    if labels.size == 0:
        raise ValueError("accuracy of an empty set")
    return float(100.0 * np.mean(labels == predicted))


def r2_per_output(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """R² of each output column, with scikit-learn's rule for constant columns (1 if predicted
    exactly, else 0) so that :func:`r2_uniform` equals ``sklearn.metrics.r2_score``."""
    y, pred = _2d(y), _2d(pred)
    ss_res = ((y - pred) ** 2).sum(0)
    ss_tot = ((y - y.mean(0)) ** 2).sum(0)
    constant = ss_tot == 0
    safe = np.where(constant, 1.0, ss_tot)
    return np.where(constant, np.where(ss_res == 0, 1.0, 0.0), 1.0 - ss_res / safe)


def r2_uniform(y: np.ndarray, pred: np.ndarray) -> float:
    """scikit-learn's R² (per-output, uniform average): the seq-JEPA authors' metric."""
    return float(r2_per_output(y, pred).mean())


def r2_global(y: np.ndarray, pred: np.ndarray) -> float:
    """SIE's R²: 1 − Σ(y − ŷ)² / Σ(y − ȳ)² with ȳ the mean over *all* target elements."""
    y, pred = _2d(y), _2d(pred)
    ss_tot = ((y - y.mean()) ** 2).sum()
    ss_res = ((y - pred) ** 2).sum()
    if ss_tot == 0:
        return 1.0 if ss_res == 0 else 0.0
    return float(1.0 - ss_res / ss_tot)


def quaternion_angle_error(q_true: np.ndarray, q_pred: np.ndarray) -> np.ndarray:
    """Geodesic angle in degrees between the rotations of ``q_true`` (unit) and ``q_pred``
    (normalised here), sign-invariant: 2·arccos|⟨q, q̂⟩|. A zero prediction counts as 180°."""
    q_true, q_pred = _2d(q_true), _2d(q_pred)
    norm = np.linalg.norm(q_pred, axis=1)
    dot = np.abs((q_true * q_pred).sum(1)) / np.maximum(norm, 1e-12)
    dot = np.where(norm > 1e-12, dot, 0.0)
    return np.degrees(2.0 * np.arccos(np.clip(dot, 0.0, 1.0)))


def ranks(scores: np.ndarray, true_index: np.ndarray) -> np.ndarray:
    """1-based rank of each query's true candidate; ``scores`` (Q, C), higher is better.

    Ties count against the query (rank = number of candidates scoring at least as high), so a
    collapsed model that scores every candidate alike ranks last, not first.
    """
    scores = np.asarray(scores, dtype=np.float64)
    true = scores[np.arange(len(scores)), np.asarray(true_index)]
    return (scores >= true[:, None]).sum(1)


def mean_reciprocal_rank(rank: np.ndarray) -> float:
    return float(np.mean(1.0 / np.asarray(rank, dtype=np.float64)))


def hit_at(rank: np.ndarray, k: int) -> float:
    """Fraction of queries whose true candidate ranks within the top ``k``."""
    return float(np.mean(np.asarray(rank) <= k))


def regression_scores(y: np.ndarray, pred: np.ndarray, quaternion: bool) -> dict[str, float]:
    """Both R² variants, plus the mean sign-invariant angle error for quaternion targets."""
    scores = {"r2_sklearn": r2_uniform(y, pred), "r2_global": r2_global(y, pred)}
    if quaternion:
        scores["rot_err_deg"] = float(quaternion_angle_error(y, pred).mean())
    return scores
