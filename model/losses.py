"""Self-supervised losses shared by the baselines, correct under DistributedDataParallel.

Batch-level terms (contrastive negatives, VICReg variance and covariance) must see the *global*
batch, and their gradients must flow back to every rank's samples. :func:`gather` therefore uses
the autograd-aware all-gather; the authors' code gathered without autograd, so these losses lost
their gradients on more than one GPU (reference-code-facts §8.4.6). Each rank computes its own
samples' terms against the gathered batch; DDP's gradient average then equals the gradient of the
single-process loss on the concatenated batch (tested with two gloo processes).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.distributed.nn.functional import all_gather


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def gather(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (B, ...) from every rank along dim 0, keeping gradients; rank order."""
    return torch.cat(all_gather(x), 0) if _distributed() else x


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent (SimCLR): ``a_i`` and ``b_i`` are positives; all other 2N − 2 samples negatives.

    Cosine similarities divided by ``temperature``; every one of the 2N samples of the global
    batch is an anchor once. Returns this rank's mean over its 2B anchors.
    """
    a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    batch = a.shape[0]
    keys_a, keys_b = gather(a), gather(b)
    n = keys_a.shape[0]
    rank = dist.get_rank() if _distributed() else 0
    own = torch.arange(batch, device=a.device) + rank * batch
    anchors = torch.cat([a, b])
    logits = anchors @ torch.cat([keys_a, keys_b]).T / temperature
    self_col = torch.cat([own, own + n])
    positive = torch.cat([own + n, own])
    rows = torch.arange(2 * batch, device=a.device)
    logits = logits.index_put((rows, self_col), logits.new_tensor(float("-inf")))
    return F.cross_entropy(logits, positive)


def variance(x: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """VICReg's hinge on each dimension's standard deviation: mean(relu(1 − std)).

    ``x`` is the global batch (already gathered)."""
    return F.relu(1.0 - torch.sqrt(x.var(dim=0) + eps)).mean()


def covariance(x: torch.Tensor) -> torch.Tensor:
    """VICReg's sum of squared off-diagonal covariances, divided by the dimension."""
    n, d = x.shape
    x = x - x.mean(dim=0)
    cov = (x.T @ x) / (n - 1)
    off = cov - torch.diag_embed(torch.diagonal(cov))
    return off.pow(2).sum() / d


def vicreg(
    y1: torch.Tensor, y2: torch.Tensor, inv: float, var: float, cov: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """VICReg (Bardes et al. 2022): invariance MSE + variance and covariance of each branch.

    Variance and covariance are computed on the gathered batch, the MSE on this rank's pairs.
    """
    g1, g2 = gather(y1), gather(y2)
    inv_loss = F.mse_loss(y1, y2)
    var_loss = (variance(g1) + variance(g2)) / 2
    cov_loss = covariance(g1) + covariance(g2)
    loss = inv * inv_loss + var * var_loss + cov * cov_loss
    return loss, {"inv": inv_loss.detach(), "var": var_loss.detach(), "cov": cov_loss.detach()}


def cosine_distance(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 − cos(pred, target), averaged over the batch (BYOL's 2 − 2·cos is twice this)."""
    return (1.0 - F.cosine_similarity(pred, target, dim=-1, eps=1e-8)).mean()
