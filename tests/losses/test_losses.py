"""Every loss against a value computed by hand on a tiny tensor."""
import math

import pytest
import torch

from microseg import losses
from microseg.errors import ConfigError, InputError

LN2, LN3 = math.log(2.0), math.log(3.0)


def logits_from_probs(*rows):
    """(1, C, 1, P) logits whose softmax over C gives the listed per-pixel probability rows."""
    probs = torch.tensor(rows, dtype=torch.float64).T  # (C, P)
    return torch.log(probs).float().reshape(1, probs.shape[0], 1, probs.shape[1])


def classes(*values):
    return torch.tensor(values, dtype=torch.int64).reshape(1, 1, len(values))


# two valid pixels: A has logits (0, 0, 0) and class 1; B has softmax (1/2, 1/4, 1/4) and class 0;
# pixel C (any logits) is ignored.
PRED = torch.tensor([[0.0, LN2, 5.0], [0.0, 0.0, -3.0], [0.0, 0.0, 1.0]]).reshape(1, 3, 1, 3)
TARGET = classes(1, 0, -100)


def test_registry_names_and_errors():
    assert {"ce", "weighted_ce", "jreg", "dice", "focal", "bce", "mse", "sum", "heads"} <= set(
        losses.available()
    )
    with pytest.raises(ConfigError, match="loss: 'nope' is not one of"):
        losses.build("nope")
    with pytest.raises(ConfigError, match="gamma2"):
        losses.build("focal", gamma2=3)


def test_weighted_ce_default_weights_by_hand():
    loss = losses.build("weighted_ce")(PRED, TARGET)
    # pixel A: -log(1/3) with weight 10 (boundary); pixel B: -log(1/2) with weight 1 (background)
    assert float(loss) == pytest.approx((10 * LN3 + 1 * LN2) / 11, rel=1e-6)


def test_plain_ce_and_custom_weights_by_hand():
    assert float(losses.build("ce")(PRED, TARGET)) == pytest.approx((LN3 + LN2) / 2, rel=1e-6)
    value = losses.build("ce", weights=[2, 1, 1])(PRED, TARGET)
    assert float(value) == pytest.approx((1 * LN3 + 2 * LN2) / 3, rel=1e-6)


def test_pixel_weights_on_class_targets_by_hand():
    weight = torch.tensor([2.0, 1.0, 5.0]).reshape(1, 1, 1, 3)  # pixel C stays ignored
    value = losses.build("weighted_ce")(PRED, TARGET, weight)
    assert float(value) == pytest.approx((2 * 10 * LN3 + 1 * LN2) / (2 * 10 + 1), rel=1e-6)
    focal = losses.build("focal", gamma=2.0)(PRED, TARGET, weight)
    assert float(focal) == pytest.approx((2 * (2 / 3) ** 2 * LN3 + (1 / 2) ** 2 * LN2) / 3, rel=1e-6)


@pytest.mark.parametrize("name", ["ce", "weighted_ce", "jreg", "focal", "dice"])
def test_zero_pixel_weight_equals_ignoring(name):
    torch.manual_seed(1)
    pred = torch.randn(2, 3, 5, 5)
    target = torch.randint(0, 3, (2, 5, 5))
    weight = torch.ones(2, 1, 5, 5)
    weight[:, :, :2] = 0.0
    ignored = target.clone()
    ignored[:, :2] = -100
    loss = losses.build(name)
    assert float(loss(pred, target, weight)) == pytest.approx(float(loss(pred, ignored)), rel=1e-5)


def test_focal_classes_by_hand():
    loss = losses.build("focal", gamma=2.0)(PRED, TARGET)
    expected = ((2 / 3) ** 2 * LN3 + (1 / 2) ** 2 * LN2) / 2
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    weighted = losses.build("focal", gamma=2.0, alpha=[1.0, 3.0, 1.0])(PRED, TARGET)
    assert float(weighted) == pytest.approx(((2 / 3) ** 2 * LN3 * 3 + (1 / 2) ** 2 * LN2) / 2, rel=1e-6)
    # gamma 0 is plain cross-entropy
    assert float(losses.build("focal", gamma=0.0)(PRED, TARGET)) == pytest.approx((LN3 + LN2) / 2, rel=1e-6)


def test_dice_classes_by_hand():
    pred = logits_from_probs([0.5, 0.25, 0.25], [1 / 3, 1 / 3, 1 / 3], [0.2, 0.3, 0.5])
    target = classes(0, 1, -100)  # third pixel ignored
    # class 0: I = 0.5, sum P = 0.5 + 1/3, sum T = 1; class 1: I = 1/3, sum P = 0.25 + 1/3,
    # sum T = 1; class 2: I = 0, sum P = 0.25 + 1/3, sum T = 0
    d0 = (2 * 0.5 + 1) / (0.5 + 1 / 3 + 1 + 1)
    d1 = (2 / 3 + 1) / (0.25 + 1 / 3 + 1 + 1)
    d2 = (0 + 1) / (0.25 + 1 / 3 + 0 + 1)
    loss = losses.build("dice", smooth=1.0)(pred, target)
    assert float(loss) == pytest.approx(1 - (d0 + d1 + d2) / 3, rel=1e-5)
    no_bg = losses.build("dice", smooth=1.0, include_background=False)(pred, target)
    assert float(no_bg) == pytest.approx(1 - (d1 + d2) / 2, rel=1e-5)


def test_dice_maps_with_weight_by_hand():
    pred = torch.tensor([0.0, math.log(3.0), 2.0]).reshape(1, 1, 1, 3)  # sigmoid: 1/2, 3/4, ...
    target = torch.tensor([1.0, 1.0, 0.0]).reshape(1, 1, 1, 3)
    weight = torch.tensor([1.0, 1.0, 0.0]).reshape(1, 1, 1, 3)
    loss = losses.build("dice", smooth=0.0)(pred, target, weight)
    assert float(loss) == pytest.approx(1 - 2 * 1.25 / (1.25 + 2), rel=1e-6)


def test_jreg_three_classes_by_hand():
    rows = [[0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.9, 0.05, 0.05]]
    pred = logits_from_probs(*rows)
    target = classes(0, 1, 2, 2, -100)
    # alpha = (0.5, 0.6, 0.55); beta_01 = 0.8, beta_02 = 0.8, beta_10 = 0.7, beta_12 = 0.75,
    # beta_20 = 0.8, beta_21 = 0.8  ->  (alpha_i + beta_ik) / 2 = 0.65 (x3) and 0.675 (x3)
    expected = -(3 * math.log(0.65) + 3 * math.log(0.675)) / 6
    assert float(losses.build("jreg")(pred, target)) == pytest.approx(expected, rel=1e-5)


def test_jreg_skips_absent_classes_and_bounds():
    pred = logits_from_probs([0.5, 0.3, 0.2], [0.2, 0.6, 0.2], [0.4, 0.4, 0.2])
    target = classes(0, 1, 0)  # class 2 absent: only pairs (0, 1) and (1, 0)
    alpha0, alpha1 = (0.5 + 0.4) / 2, 0.6
    beta01, beta10 = 1 - 0.2, ((1 - 0.3) + (1 - 0.4)) / 2
    expected = -(math.log((alpha0 + beta01) / 2) + math.log((alpha1 + beta10) / 2)) / 2
    assert float(losses.build("jreg")(pred, target)) == pytest.approx(expected, rel=1e-5)
    uniform = torch.zeros(1, 3, 1, 3)
    assert float(losses.build("jreg")(uniform, classes(0, 1, 2))) == pytest.approx(LN2, rel=1e-6)
    perfect = 50.0 * torch.eye(3).T.reshape(1, 3, 1, 3)
    assert float(losses.build("jreg")(perfect, classes(0, 1, 2))) == pytest.approx(0.0, abs=1e-6)


def test_bce_with_weight_map_by_hand():
    pred = torch.tensor([0.0, LN3]).reshape(1, 1, 1, 2)  # p = 1/2, 3/4
    target = torch.tensor([1.0, 0.0]).reshape(1, 1, 1, 2)
    bce = losses.build("bce")
    # pixel 1: -log(1/2); pixel 2: -log(1 - 3/4)
    assert float(bce(pred, target)) == pytest.approx((LN2 + math.log(4)) / 2, rel=1e-6)
    weight = torch.tensor([2.0, 1.0]).reshape(1, 1, 1, 2)
    assert float(bce(pred, target, weight)) == pytest.approx((2 * LN2 + math.log(4)) / 3, rel=1e-6)
    only_first = torch.tensor([1.0, 0.0]).reshape(1, 1, 1, 2)
    assert float(bce(pred, target, only_first)) == pytest.approx(LN2, rel=1e-6)


def test_mse_with_weight_map_by_hand():
    pred = torch.tensor([1.0, 2.0, 3.0]).reshape(1, 1, 1, 3)
    target = torch.zeros(1, 1, 1, 3)
    weight = torch.tensor([1.0, 1.0, 0.0]).reshape(1, 1, 1, 3)
    mse = losses.build("mse")
    assert float(mse(pred, target)) == pytest.approx(14 / 3, rel=1e-6)
    assert float(mse(pred, target, weight)) == pytest.approx(5 / 2, rel=1e-6)
    sigmoid = losses.build("mse", activation="sigmoid")(torch.zeros(1, 1, 1, 1), torch.ones(1, 1, 1, 1))
    assert float(sigmoid) == pytest.approx(0.25, rel=1e-6)


def test_focal_maps_by_hand():
    pred = torch.zeros(1, 1, 1, 2)
    target = torch.tensor([1.0, 0.0]).reshape(1, 1, 1, 2)
    # p_t = 1/2 everywhere: (1 - 1/2)^2 * log 2
    assert float(losses.build("focal")(pred, target)) == pytest.approx(0.25 * LN2, rel=1e-6)
    alpha = losses.build("focal", alpha=0.25)(pred, target)
    assert float(alpha) == pytest.approx((0.25 + 0.75) / 2 * 0.25 * LN2, rel=1e-6)


def test_sum_is_the_weighted_sum_of_its_terms():
    total = losses.build("sum", terms=[{"name": "weighted_ce"}, {"name": "jreg", "weight": 0.5}])
    value = total(PRED, TARGET)
    ce = losses.build("weighted_ce")(PRED, TARGET)
    jreg = losses.build("jreg")(PRED, TARGET)
    assert float(value) == pytest.approx(float(ce) + 0.5 * float(jreg), rel=1e-6)
    assert total.components == pytest.approx({"weighted_ce": float(ce), "jreg": float(jreg)})
    with pytest.raises(ConfigError, match="unknown key"):
        losses.build("sum", terms=[{"name": "ce", "scale": 2}])


def test_heads_weights_each_head():
    heads = losses.build(
        "heads",
        heads={"pixelwise": {"name": "ce", "weight": 0.01}, "inner": {"name": "mse"}},
    )
    inner_pred = torch.tensor([1.0, 2.0]).reshape(1, 1, 1, 2)
    inner_target = torch.zeros(1, 1, 1, 2)
    value = heads({"pixelwise": PRED, "inner": inner_pred}, {"pixelwise": TARGET, "inner": inner_target})
    assert float(value) == pytest.approx(0.01 * (LN3 + LN2) / 2 + 5 / 2, rel=1e-6)
    assert set(heads.components) == {"pixelwise", "inner"}
    with pytest.raises(InputError, match="missing"):
        heads({"pixelwise": PRED}, {"pixelwise": TARGET})


def test_all_ignored_gives_zero_with_gradient():
    pred = torch.randn(2, 3, 4, 4, requires_grad=True)
    target = torch.full((2, 4, 4), -100, dtype=torch.int64)
    for name in ("ce", "weighted_ce", "jreg", "focal"):
        value = losses.build(name)(pred, target)
        value.backward()
        assert float(value.detach()) == 0.0 and pred.grad is not None


def test_ignored_pixels_do_not_change_the_loss():
    pred = torch.randn(2, 3, 6, 6)
    target = torch.randint(0, 3, (2, 6, 6))
    masked = target.clone()
    masked[:, :2] = -100
    for name in ("ce", "weighted_ce", "jreg", "focal", "dice"):
        loss = losses.build(name)
        assert float(loss(pred, masked)) == pytest.approx(float(loss(pred[:, :, 2:], target[:, 2:])), rel=1e-5)


def test_bad_inputs_raise_input_error():
    with pytest.raises(InputError, match="does not match"):
        losses.build("ce")(torch.zeros(1, 3, 4, 4), torch.zeros(1, 5, 4, dtype=torch.int64))
    with pytest.raises(InputError, match="integer"):
        losses.build("jreg")(torch.zeros(1, 3, 4, 4), torch.zeros(1, 4, 4))
    with pytest.raises(InputError, match="class weights"):
        losses.build("weighted_ce")(torch.zeros(1, 2, 4, 4), torch.zeros(1, 4, 4, dtype=torch.int64))
    with pytest.raises(InputError, match="outside"):
        losses.build("dice")(torch.zeros(1, 3, 2, 2), torch.full((1, 2, 2), 7))
    with pytest.raises(InputError, match="differ"):
        losses.build("mse")(torch.zeros(1, 1, 4, 4), torch.zeros(1, 2, 4, 4))
    with pytest.raises(InputError, match="broadcast"):
        losses.build("bce")(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 4, 4), torch.ones(3, 3))
