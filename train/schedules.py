"""Per-step learning-rate schedule (paper appendix A.2).

Linear warm-up from ``start_lr`` to ``lr`` over ``warmup_epochs``, then a cosine decay to
``final_lr`` at the last step. Schedules are functions of the global step and a fixed
iterations-per-epoch, so resampled streaming epochs and resumed runs agree. (The authors' code
resets the lr every epoch after warm-up, which silently removes the cosine decay.)
"""

from __future__ import annotations

import math


def learning_rate(
    step: int,
    *,
    lr: float,
    start_lr: float,
    final_lr: float,
    warmup_steps: int,
    total_steps: int,
) -> float:
    if warmup_steps > 0 and step < warmup_steps:
        return start_lr + (lr - start_lr) * step / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(max((step - warmup_steps) / decay_steps, 0.0), 1.0)
    return final_lr + (lr - final_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))
