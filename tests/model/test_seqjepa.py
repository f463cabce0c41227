import pytest
import torch

from seqjepa.model import (
    METHODS,
    InputSpec,
    SeqJEPA,
    SequenceAggregator,
    build_backbone,
    build_method,
)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def make(action_dim=4, image_size=32, num_views=4, **cfg) -> SeqJEPA:
    return build_method(
        "seqjepa", InputSpec(action_dim, image_size, num_views), SeqJEPA.Config(**cfg)
    )


def test_registered():
    assert METHODS["seqjepa"] is SeqJEPA


def test_backbone_parameter_counts():
    standard, dim = build_backbone("resnet18", cifar_stem=False)
    cifar, _ = build_backbone("resnet18", cifar_stem=True)
    assert dim == 512
    assert round(count(standard) / 1e6, 2) == 11.18
    assert round(count(cifar) / 1e6, 2) == 11.17


def test_backbone_stems_and_zero_init_residual():
    standard, _ = build_backbone(cifar_stem=False)
    cifar, _ = build_backbone(cifar_stem=True)
    assert standard.conv1.kernel_size == (7, 7) and standard.conv1.stride == (2, 2)
    assert cifar.conv1.kernel_size == (3, 3) and cifar.conv1.stride == (1, 1)
    assert isinstance(cifar.maxpool, torch.nn.Identity)
    # last BN of every residual block starts at zero (torchvision zero_init_residual)
    assert torch.all(standard.layer1[0].bn2.weight == 0)
    assert cifar(torch.randn(2, 3, 32, 32)).shape == (2, 512)
    assert standard(torch.randn(2, 3, 128, 128)).shape == (2, 512)


def test_unknown_backbone_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown backbone 'vit'"):
        build_backbone("vit")


def test_aggregator_parameter_count_at_640():
    assert round(count(SequenceAggregator(640)) / 1e6, 2) == 14.77


def test_aggregator_has_no_positional_information():
    agg = SequenceAggregator(64, num_heads=4, dropout=0.0).eval()
    tokens = torch.randn(3, 5, 64)
    perm = tokens[:, torch.tensor([3, 1, 4, 0, 2])]
    torch.testing.assert_close(agg(tokens), agg(perm), atol=1e-5, rtol=1e-5)


def test_post_norm_three_layers_four_heads():
    model = make()
    layers = model.aggregator.layers.layers
    assert len(layers) == 3
    assert all(not layer.norm_first for layer in layers)
    assert layers[0].self_attn.num_heads == 4
    assert isinstance(model.aggregator.layers.norm, torch.nn.LayerNorm)
    assert model.token_dim == 640


def test_predictor_and_action_encoder_layout():
    model = make(action_dim=6)
    linear, bn, _, out = model.predictor
    assert (linear.in_features, linear.out_features, linear.bias) == (768, 1024, None)
    assert bn.affine and out.out_features == 512
    assert model.action_encoder.proj.weight.shape == (128, 6)
    assert model.action_encoder.proj.bias is None
    assert not model.action_encoder.norm.affine


@pytest.mark.parametrize(
    ("setting", "action_dim", "image_size", "num_views"),
    [
        ("3DIEBench rotation", 4, 64, 4),
        ("3DIEBench rotation+colour", 6, 64, 5),
        ("crop", 4, 32, 4),
        ("jitter", 4, 32, 4),
        ("blur", 1, 32, 4),
        ("all augmentations", 9, 32, 4),
        ("saccades", 2, 32, 5),
        ("single observed view", 4, 32, 2),
    ],
)
def test_forward_shapes_for_every_setting(setting, action_dim, image_size, num_views):
    model = make(action_dim, image_size, num_views)
    b = 3
    out = model(
        torch.randn(b, num_views, 3, image_size, image_size),
        torch.randn(b, num_views - 1, action_dim),
    )
    assert out.loss.shape == () and torch.isfinite(out.loss)
    assert out.agg.shape == (b, 640)
    assert out.views_z.shape == (b, num_views, 512)
    assert not out.agg.requires_grad and not out.views_z.requires_grad


def test_last_token_action_part_is_zero():
    model = make().eval()
    seen = {}
    hook = model.aggregator.register_forward_pre_hook(lambda m, args: seen.update(tokens=args[0]))
    model(torch.randn(2, 4, 3, 32, 32), torch.randn(2, 3, 4))
    hook.remove()
    tokens = seen["tokens"]
    assert tokens.shape == (2, 3, 640)
    assert torch.all(tokens[:, -1, 512:] == 0)
    assert torch.all(tokens[:, :-1, 512:].abs().sum(-1) > 0)


def _agg_and_pred(model, views, actions):
    with torch.no_grad():
        z = model.online_encoder(views[:, :-1].flatten(0, 1)).view(views.shape[0], -1, 512)
        emb = model.embed_actions(actions)
        agg = model.aggregate(z, emb)
        return agg, model.predict(agg, emb)


@pytest.mark.parametrize(
    ("flags", "obs_actions_matter", "next_action_matters", "token_dim"),
    [
        ({}, True, True, 640),
        ({"condition_predictor": False}, True, False, 640),
        ({"condition_aggregator": False}, False, True, 512),
        ({"condition_aggregator": False, "condition_predictor": False}, False, False, 512),
    ],
)
def test_each_ablation_removes_exactly_its_conditioning(
    flags, obs_actions_matter, next_action_matters, token_dim
):
    torch.manual_seed(0)
    model = make(**flags).eval()
    assert model.token_dim == token_dim
    assert (model.action_encoder is None) == (not obs_actions_matter and not next_action_matters)
    views = torch.randn(2, 4, 3, 32, 32)
    actions = torch.randn(2, 3, 4)
    # BN in eval mode uses running stats: give them realistic values first
    model.train()
    for _ in range(3):
        model(views, torch.randn(2, 3, 4))
    model.eval()
    agg, pred = _agg_and_pred(model, views, actions)

    obs_changed = actions.clone()
    obs_changed[:, :-1] += 1.0  # a_1..a_{M-1}: only the transformer sees them
    agg2, _ = _agg_and_pred(model, views, obs_changed)
    assert (not torch.allclose(agg, agg2, atol=1e-6)) == obs_actions_matter

    next_changed = actions.clone()
    next_changed[:, -1] += 1.0  # a_M: only the predictor sees it (token M is zeroed)
    agg3, pred3 = _agg_and_pred(model, views, next_changed)
    torch.testing.assert_close(agg, agg3)
    assert (not torch.allclose(pred, pred3, atol=1e-6)) == next_action_matters


def test_action_embed_dim_is_configurable():
    model = make(action_embed_dim=16)
    assert model.token_dim == 528
    assert model.predictor[0].in_features == 528 + 16


def test_bad_config_values_are_rejected():
    with pytest.raises(ValueError, match="action_embed_dim"):
        SeqJEPA.Config(action_embed_dim=0)
    with pytest.raises(ValueError, match="divisible"):
        make(action_embed_dim=130, num_heads=4)  # 642 is not divisible by 4


def test_actions_shape_mismatch_is_reported():
    model = make()
    with pytest.raises(ValueError, match="expected actions"):
        model(torch.randn(2, 4, 3, 32, 32), torch.randn(2, 4, 4))


def test_target_gets_no_gradient_and_starts_equal():
    model = make()
    for p, q in zip(
        model.online_encoder.parameters(), model.target_encoder.parameters(), strict=True
    ):
        assert torch.equal(p, q) and not q.requires_grad
    out = model(torch.randn(2, 4, 3, 32, 32), torch.randn(2, 3, 4))
    out.loss.backward()
    assert all(p.grad is None for p in model.target_encoder.parameters())
    assert model.online_encoder.conv1.weight.grad is not None


def test_loss_is_one_minus_cosine():
    model = make().eval()
    views, actions = torch.randn(2, 4, 3, 32, 32), torch.randn(2, 3, 4)
    out = model(views, actions)
    _, pred = _agg_and_pred(model, views, actions)
    with torch.no_grad():
        target = model.target_encoder(views[:, -1])
    expected = 1 - torch.nn.functional.cosine_similarity(pred, target).mean()
    torch.testing.assert_close(out.loss, expected)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_few_hundred_steps_on_a_fixed_batch_drive_loss_down():
    torch.manual_seed(0)
    model = make(
        action_dim=2,
        image_size=16,
        num_views=3,
        cifar_stem=False,
        num_layers=1,
        predictor_hidden=256,
    )
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    views = torch.randn(8, 3, 3, 16, 16)
    actions = torch.randn(8, 2, 2)
    losses = []
    for _ in range(200):
        out = model(views, actions)
        opt.zero_grad()
        out.loss.backward()
        opt.step()
        model.update_target(0.99)
        losses.append(out.loss.item())
    assert sum(losses[-10:]) / 10 < 0.25 * sum(losses[:10]) / 10


def test_small_convnet_backbones_feature_dims():
    for name, dim in (("convnet-small", 256), ("convnet-tiny", 128)):
        net, feature_dim = build_backbone(name)
        assert feature_dim == dim
        assert net(torch.zeros(2, 3, 32, 32)).shape == (2, dim)
