"""The paper's probing protocols on cached features: heads fit on the train split's features and
scored on every evaluation set (the eval split, and OOD splits with the same heads).

* classification: a linear probe on z_AGG for each M_val, and on the single-view z_res;
* equivariance: the setting's regressors (:mod:`.targets`) on encoder outputs;
* prediction: the cosine between the predictor's output and the target encoding of view M+1
  (the held-out training objective; nothing is trained).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import metrics
from .features import SequenceFeatures
from .probes import Head, ProbeConfig, fit_classifier, fit_regressor
from .results import Row
from .targets import Target, equivariance_targets


@dataclass
class EvalSet:
    name: str
    feats: SequenceFeatures
    labels: np.ndarray  # in the train split's label space; −1 = unknown


@dataclass(frozen=True)
class HeadSettings:
    """Epochs per head kind (paper: 300 classifier, 300 MLP, 50 linear regressors) + shared
    batch size, seed and device."""

    classifier_epochs: int = 300
    mlp_epochs: int = 300
    linear_epochs: int = 50
    batch_size: int = 256
    seed: int = 0
    device: str = "cpu"

    def config(self, head: Head | str) -> ProbeConfig:
        epochs = {
            "classifier": self.classifier_epochs,
            "mlp": self.mlp_epochs,
            "linear": self.linear_epochs,
        }[head]
        return ProbeConfig(epochs, self.batch_size, seed=self.seed, device=self.device)


def classification(
    train: SequenceFeatures, sets: list[EvalSet], num_classes: int, heads: HeadSettings
) -> list[Row]:
    cfg = heads.config("classifier")
    inputs = [("z_res", None, train.z_res, lambda f: f.z_res)]
    for k, m in enumerate(train.m_vals.tolist()):
        inputs.append(("z_agg", m, train.agg[:, k], lambda f, m=m: _agg_at(f, m)))
    rows = []
    for representation, m, x_train, features_of in inputs:
        probe = fit_classifier(x_train, train.labels, num_classes, cfg, train.draw)
        for s in sets:
            x = features_of(s.feats)
            known = s.labels >= 0
            if x is None or not known.any():
                continue
            acc = metrics.accuracy(s.labels[known], probe.predict(x[known]))
            rows.append(
                Row(
                    s.name,
                    "classification",
                    representation,
                    "top1",
                    acc,
                    m,
                    probe="linear",
                    n_train=int((train.labels >= 0).sum()),
                    n_eval=int(known.sum()),
                )
            )
    return rows


def _agg_at(feats: SequenceFeatures, m: int) -> np.ndarray | None:
    """z_AGG at M_val = m, or None when the set was extracted without it (short OOD objects)."""
    return feats.agg[:, feats.m_index(m)] if m in feats.m_vals else None


def pair_inputs(feats: SequenceFeatures, target: Target) -> np.ndarray:
    """[z_view1 || z_view2] for pair targets, z_view1 for single-view targets."""
    if target.inputs == "pair":
        return feats.z_pair.reshape(len(feats.z_pair), -1)
    return feats.z_pair[:, 0]


def equivariance(
    train: SequenceFeatures,
    sets: list[EvalSet],
    setting: str,
    conventions: str,
    heads: HeadSettings,
    notes: list[str],
) -> list[Row]:
    train_targets = equivariance_targets(setting, train.params, conventions)
    set_targets = [equivariance_targets(setting, s.feats.params, conventions) for s in sets]
    rows = []
    for task, target in train_targets.items():
        if np.ptp(target.values, axis=0).max() == 0:
            notes.append(f"{task}: the train split's targets are constant; task skipped")
            continue
        probe = fit_regressor(
            pair_inputs(train, target),
            target.values,
            target.head,
            heads.config(target.head),
            train.draw,
        )
        representation = "z_pair" if target.inputs == "pair" else "z_view"
        for s, targets in zip(sets, set_targets, strict=True):
            y = targets[task]
            pred = probe.predict(pair_inputs(s.feats, y))
            for metric, value in metrics.regression_scores(y.values, pred, y.quaternion).items():
                rows.append(
                    Row(
                        s.name,
                        task,
                        representation,
                        metric,
                        value,
                        probe=target.head,
                        n_train=len(target.values),
                        n_eval=len(y.values),
                    )
                )
    return rows


def prediction(sets: list[EvalSet]) -> list[Row]:
    rows = []
    for s in sets:
        for k, m in enumerate(s.feats.m_vals.tolist()):
            cos = float(s.feats.pred_cos[:, k].mean())
            rows.append(
                Row(
                    s.name,
                    "prediction",
                    "predictor",
                    "cosine",
                    cos,
                    m,
                    n_eval=len(s.feats.pred_cos),
                )
            )
    return rows
