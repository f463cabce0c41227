"""Path integration (paper §4.4, appendix B.9): from a sequence's aggregate and its next action,
regress the *total* transformation from view 1 to view M+1.

Input [z_AGG || e(a_M)], z_AGG over the first M views; target R_1⁻¹·R_{M+1} as a quaternion
(objects, MLP head) or p_{M+1} − p_1 (saccades, linear head). The head is trained on the train
split's intact features for each M and scored on the eval split three ways: intact; with every
action embedding zeroed at inference (tokens and e(a_M)); and with every encoder output zeroed
before aggregation (the visual stream ablated). The paper reports these only as curves
(Figure 6), so there are no reference numbers to print beside ours.
"""

from __future__ import annotations

import numpy as np

from . import metrics
from .features import SequenceFeatures
from .probes import fit_regressor
from .results import Row
from .targets import path_target
from .tasks import HeadSettings

VARIANTS = ("full", "actions zeroed", "visual zeroed")
REPRESENTATION = "z_agg+e(a_M)"


def inputs(feats: SequenceFeatures, m: int, variant: str = "full") -> np.ndarray:
    k = feats.m_index(m)
    agg = {
        "full": feats.agg,
        "actions zeroed": feats.agg_no_actions,
        "visual zeroed": feats.agg_no_visual,
    }[variant][:, k]
    emb = feats.action_emb[:, k]
    if variant == "actions zeroed":
        emb = np.zeros_like(emb)
    return np.concatenate([agg, emb], axis=1)


def path_integration(
    train: SequenceFeatures,
    evals: SequenceFeatures,
    split: str,
    setting: str,
    conventions: str,
    heads: HeadSettings,
) -> list[Row]:
    rows = []
    for m in train.m_vals.tolist():
        target = path_target(setting, train.params, m, conventions)
        if target is None:
            return []
        probe = fit_regressor(
            inputs(train, m), target.values, target.head, heads.config(target.head), train.draw
        )
        y = path_target(setting, evals.params, m, conventions)
        for variant in VARIANTS:
            pred = probe.predict(inputs(evals, m, variant))
            for metric, value in metrics.regression_scores(y.values, pred, y.quaternion).items():
                rows.append(
                    Row(
                        split,
                        "path_integration",
                        REPRESENTATION,
                        metric,
                        value,
                        m,
                        variant,
                        target.head,
                        n_train=len(target.values),
                        n_eval=len(y.values),
                    )
                )
    return rows
