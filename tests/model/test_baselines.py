"""The paper's comparison methods: shapes, learning on a fixed batch, and each one's property."""

import pytest
import torch
import torch.nn.functional as F
from data.tiny import BASELINE_HEADS

from seqjepa.model import METHODS, InputSpec, build_method
from seqjepa.model.baselines import (
    BYOL,
    SEN,
    SIE,
    BootstrapMethod,
    ConditionalBYOL,
    ConvJEPA,
    EquiMod,
    SimCLR,
    TwoViewMethod,
    VICReg,
    VICRegTraj,
)
from seqjepa.model.baselines.vicreg_traj import trajectory_loss
from seqjepa.model.heads import HyperPredictor

SMALL = BASELINE_HEADS
ACTION_DIM, SIZE, BATCH = 3, 16, 8


def make(name, **overrides):
    cls = METHODS[name]
    views = cls.num_views or 4
    cfg = cls.Config(**{**SMALL[name], **overrides})
    return build_method(name, InputSpec(ACTION_DIM, SIZE, views), cfg), views


def batch(views, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(BATCH, views, 3, SIZE, SIZE, generator=g),
        torch.randn(BATCH, views - 1, ACTION_DIM, generator=g),
    )


def test_every_baseline_is_registered_and_tested_here():
    baselines = {n for n, c in METHODS.items() if issubclass(c, TwoViewMethod)}
    assert baselines == set(SMALL)
    assert not any(METHODS[n].sequence_model for n in baselines)
    assert all(METHODS[n].paper_optim == {"optimizer": "adam", "lr": 1e-3, "weight_decay": 0.0}
               for n in baselines)  # fmt: skip


def test_paper_hyper_parameters_are_the_defaults():
    """Appendix A.3, where it departs from the authors' code defaults (reference §8.4.8)."""
    assert SimCLR.Config().temperature == 0.5 and SimCLR.Config().projector == [2048] * 3
    assert SEN.Config().temperature == 0.5 and SEN.Config().projector == [2048] * 3
    assert (EquiMod.Config().temperature, EquiMod.Config().equi_weight) == (0.1, 1.0)
    assert EquiMod.Config().projector == [1024, 1024, 128]
    v = VICReg.Config()
    assert (v.inv_weight, v.var_weight, v.cov_weight) == (10.0, 10.0, 1.0)
    assert VICRegTraj.Config().traj_weight == 0.01
    s = SIE.Config()
    assert (s.inv_weight, s.var_weight, s.cov_weight, s.equi_weight) == (10.0, 10.0, 1.0, 4.5)
    assert s.projector == [1024] * 3
    b = BYOL.Config()
    assert (b.projector, b.predictor_hidden) == ([2048] * 3, 512)
    assert ConditionalBYOL.Config().action_embed_dim == 128
    assert (BYOL.num_views, VICRegTraj.num_views, ConvJEPA.num_views) == (2, 3, None)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_shapes_and_the_loss_falls_on_a_fixed_batch(name):
    torch.manual_seed(0)
    model, views = make(name)
    x, a = batch(views)
    out = model(x, a)
    assert out.agg.shape == (BATCH, 512) and not out.agg.requires_grad
    assert out.views_z.shape == (BATCH, views, 512) and not out.views_z.requires_grad
    assert model.agg_dim == model.feature_dim == 512
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(12):
        out = model(x, a)
        assert torch.isfinite(out.loss)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        model.update_target(0.99)
        losses.append(out.loss.item())
    assert sum(losses[-3:]) < sum(losses[:3]), losses


@pytest.mark.parametrize("name", sorted(SMALL))
def test_wrong_action_shape_is_refused(name):
    model, views = make(name)
    x, a = batch(views)
    with pytest.raises(ValueError, match="expected actions of shape"):
        model(x, a[:, :0])


def test_simclr_loss_is_lowest_when_the_two_views_coincide():
    torch.manual_seed(0)
    model, _ = make("simclr")
    model.eval()  # BatchNorm with running statistics: identical inputs, identical projections
    x, a = batch(2)
    same = torch.stack([x[:, 0], x[:, 0]], 1)
    with torch.no_grad():
        assert model(same, a).loss < model(x, a).loss


def test_bootstrap_targets_are_ema_copies_without_gradient():
    torch.manual_seed(0)
    model, views = make("byol")
    assert isinstance(model, BootstrapMethod)
    x, _ = batch(views)
    assert not model.targets(x).requires_grad
    online = next(model.online_encoder.parameters())
    target = next(model.target_encoder.parameters())
    assert torch.equal(online, target) and not target.requires_grad
    with torch.no_grad():
        online.add_(1.0)
    before = target.clone()
    model.update_target(1.0)  # τ = 1: the target does not move
    assert torch.equal(target, before)
    model.update_target(0.75)
    assert torch.allclose(target, 0.75 * before + 0.25 * online)


def test_conditional_byol_prediction_depends_on_the_action_byol_does_not_use_it():
    torch.manual_seed(0)
    cond, views = make("conditional-byol")
    x, a = batch(views)
    with torch.no_grad():
        assert not torch.isclose(cond(x, a).loss, cond(x, a.flip(0)).loss)
    byol, _ = make("byol")
    with torch.no_grad():
        assert torch.equal(byol(x, a).loss, byol(x, a.flip(0)).loss)


def test_conv_jepa_actions_telescope_to_the_last_view():
    g = torch.Generator().manual_seed(0)
    positions = torch.rand(4, 5, 2, generator=g)  # 5 fixations
    consecutive = positions[:, 1:] - positions[:, :-1]
    to_last = ConvJEPA.actions_to_last(consecutive)
    assert torch.allclose(to_last, positions[:, -1:] - positions[:, :-1], atol=1e-6)
    assert ConvJEPA.settings == ("saccades", "augment")


def test_conv_jepa_sums_one_loss_per_observed_view():
    torch.manual_seed(0)
    model, views = make("conv-jepa")
    model.eval()
    x, a = batch(views)
    with torch.no_grad():
        loss = model(x, a).loss.item()
        # every prediction is a (B, P) cosine loss in [0, 2]; their sum over M = 3 views
        assert 0 < loss < 2 * (views - 1)
        target = model.targets(x[:, -1:])[:, 0]
        to_last = ConvJEPA.actions_to_last(a)
        per_view = []
        for i in range(views - 1):  # each observed view alone, with its action to the last view
            y = model.projector(model.online_encoder(x[:, i]))
            pred = model.predictor(y, to_last[:, i])
            per_view.append((1 - F.cosine_similarity(pred, target)).mean().item())
    assert per_view[0] < loss  # the other views add their own terms
    assert loss == pytest.approx(sum(per_view), rel=1e-4)  # summed, not averaged


def test_equimod_adds_invariant_and_equivariant_contrastive_losses():
    torch.manual_seed(0)
    model, views = make("equimod")
    model.eval()
    x, a = batch(views)
    with torch.no_grad():
        out = model(x, a)
        other = model(x, a.flip(0))
    assert set(out.logs) == {"inv", "equi"}
    out.logs, other.logs = ({k: v.item() for k, v in o.logs.items()} for o in (out, other))
    assert out.loss.item() == pytest.approx(out.logs["inv"] + out.logs["equi"], rel=1e-5)
    # only the equivariant loss reads the action
    assert other.logs["inv"] == pytest.approx(out.logs["inv"], rel=1e-6)
    assert other.logs["equi"] != pytest.approx(out.logs["equi"], rel=1e-4)


def test_sie_hypernetwork_and_split_representation():
    hyper = HyperPredictor(action_dim=4, dim=1024)
    assert sum(p.numel() for p in hyper.parameters()) == 4 * 1024 * 1024  # 4.19 M, as in SIE
    small = HyperPredictor(action_dim=3, dim=5)
    g = torch.Generator().manual_seed(0)
    y, a = torch.randn(7, 5, generator=g), torch.randn(7, 3, generator=g)
    matrices = small.matrices(a)
    assert matrices.shape == (7, 5, 5)
    assert torch.allclose(small(y, a), (matrices @ y.unsqueeze(-1)).squeeze(-1), atol=1e-5)

    torch.manual_seed(0)
    model, views = make("sie")
    assert model.split == 256
    z = torch.randn(BATCH, 2, 512)
    x, a = batch(views)
    z.requires_grad_()
    loss, logs = model.objective(z, x, a)
    assert set(logs) == {"inv", "equi", "var"}
    (grad,) = torch.autograd.grad(loss, z, retain_graph=True)
    assert grad[..., :256].abs().sum() > 0 and grad[..., 256:].abs().sum() > 0
    # the equivariant MSE reads only the second half of the representation
    (equi_grad,) = torch.autograd.grad(
        F.mse_loss(
            model.predictor(model.equi_projector(z[:, 0, 256:]), a[:, 0]),
            model.equi_projector(z[:, 1, 256:]),
        ),
        z,
    )
    assert equi_grad[..., :256].abs().sum() == 0 and equi_grad[..., 256:].abs().sum() > 0


def test_trajectory_loss_rewards_geodesic_steps():
    angles = torch.tensor([0.0, 0.3, 0.6])
    arc = torch.stack([torch.cos(angles), torch.sin(angles), torch.zeros(3)], -1)  # great circle
    left, centre, right = (arc[i : i + 1] for i in range(3))
    assert trajectory_loss(left, centre, right).item() == pytest.approx(-1.0, abs=1e-5)
    assert trajectory_loss(left, centre, left).item() == pytest.approx(1.0, abs=1e-5)
    # scaling the embeddings changes nothing once normalised; the authors' variant does not
    # normalise, so a scaled centre moves its tangent plane
    scaled = [3 * t for t in (left, centre, right)]
    assert trajectory_loss(*scaled).item() == pytest.approx(-1.0, abs=1e-5)
    bent = torch.tensor([[0.0, 1.0, 0.0]])
    raw = trajectory_loss(left, 3 * centre, bent, normalize=False).item()
    assert raw != pytest.approx(trajectory_loss(left, 3 * centre, bent).item(), abs=1e-3)


def test_vicreg_traj_reads_three_views_and_logs_the_trajectory_term():
    torch.manual_seed(0)
    model, views = make("vicreg-traj")
    assert views == 3
    out = model(*batch(views))
    assert {"inv", "var", "cov", "traj"} <= set(out.logs)
    assert -1.0 <= out.logs["traj"] <= 1.0


@pytest.mark.parametrize(
    ("name", "bad", "message"),
    [
        ("simclr", {"temperature": 0.0}, "temperature must be positive"),
        ("vicreg", {"projector": []}, "projector must be a non-empty list"),
        ("sie", {"equi_weight": -1.0}, "equi_weight must be positive"),
        ("vicreg-traj", {"traj_weight": -0.1}, "traj_weight must be >= 0"),
    ],
)
def test_bad_settings_are_refused(name, bad, message):
    with pytest.raises(ValueError, match=message):
        METHODS[name].Config(**{**SMALL[name], **bad})
