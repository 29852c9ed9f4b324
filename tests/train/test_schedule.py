"""Learning-rate schedules against torch's own schedulers and hand-computed values."""
import math

import pytest
import torch

from microseg.errors import ConfigError
from microseg.train.schedule import LRSchedule, ScheduleConfig


def torch_lrs(scheduler_factory, steps, lr=1e-3, metrics=None):
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = scheduler_factory(optimizer)
    values = []
    for step in range(steps):
        values.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[step])
    return values


def test_constant():
    schedule = LRSchedule(ScheduleConfig("constant"), 1e-4, total=50)
    assert {schedule.lr(s) for s in range(50)} == {1e-4}


def test_cosine_matches_torch():
    total = 40
    schedule = LRSchedule(ScheduleConfig("cosine", lr_min=1e-5), 2e-4, total=total)
    expected = torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, total, 1e-5), total, 2e-4)
    assert [schedule.lr(s) for s in range(total)] == pytest.approx(expected, rel=1e-9)
    assert schedule.lr(0) == pytest.approx(2e-4)
    assert schedule.lr(total // 2) == pytest.approx((2e-4 + 1e-5) / 2)


def test_xbnet_warm_restarts_match_torch_in_epochs():
    # XB-Net: restarts at epochs 100, 300, 700, end 1500 = torch's T_0 100, T_mult 2
    config = ScheduleConfig("cosine_restarts", unit="epochs", lr_min=1e-6, restarts=[100, 300, 700])
    per_epoch = 3
    schedule = LRSchedule(config, 1e-4, total=1500 * per_epoch, iterations_per_epoch=per_epoch)
    expected = torch_lrs(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=100, T_mult=2, eta_min=1e-6),
        1500,
        1e-4,
    )
    assert [schedule.lr(e * per_epoch) for e in range(1500)] == pytest.approx(expected, rel=1e-7)
    for restart in (100, 300, 700):
        assert schedule.lr(restart * per_epoch) == pytest.approx(1e-4)
        assert schedule.lr(restart * per_epoch - 1) < 1.01e-6


def test_cyclic_matches_torch_triangular():
    config = ScheduleConfig("cyclic", lr_max=1e-2, step_size=5)
    schedule = LRSchedule(config, 1e-4, total=40)
    expected = torch_lrs(
        lambda o: torch.optim.lr_scheduler.CyclicLR(
            o, base_lr=1e-4, max_lr=1e-2, step_size_up=5, cycle_momentum=False
        ),
        40,
        1e-4,
    )
    assert [schedule.lr(s) for s in range(40)] == pytest.approx(expected, rel=1e-9)
    assert schedule.lr(5) == pytest.approx(1e-2) and schedule.lr(10) == pytest.approx(1e-4)


def test_plateau_matches_torch_and_resumes():
    metrics = [0.1, 0.2, 0.2, 0.19, 0.2, 0.18, 0.3, 0.3, 0.3, 0.3, 0.29, 0.3, 0.3, 0.31, 0.31]
    config = ScheduleConfig("plateau", factor=0.7, patience=2, lr_min=1e-5)
    schedule = LRSchedule(config, 1e-3, total=100)
    expected = torch_lrs(
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(
            o, mode="max", factor=0.7, patience=2, threshold=1e-4, min_lr=1e-5
        ),
        len(metrics),
        1e-3,
        metrics,
    )
    values = []
    for step, metric in enumerate(metrics):
        values.append(schedule.lr(step))
        schedule.observe(metric, mode="max")
        if step == 6:
            state = schedule.state_dict()
    assert values == pytest.approx(expected, rel=1e-12)
    assert min(values) < 1e-3  # it did reduce
    resumed = LRSchedule(config, 1e-3, total=100)
    resumed.load_state_dict(state)
    for metric in metrics[7:]:
        resumed.observe(metric)
    assert resumed.lr(0) == pytest.approx(schedule.lr(0))


def test_hand_computed_cosine_restart_value():
    schedule = LRSchedule(ScheduleConfig("cosine_restarts", lr_min=0.0, restarts=[10]), 1.0, total=30)
    assert schedule.lr(5) == pytest.approx(0.5)  # halfway through [0, 10)
    assert schedule.lr(15) == pytest.approx((1 + math.cos(math.pi * 5 / 20)) / 2)  # [10, 30)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "linear"},
        {"name": "cosine_restarts"},
        {"name": "cosine_restarts", "restarts": [10, 5]},
        {"name": "plateau", "factor": 1.5},
        {"unit": "seconds"},
    ],
)
def test_bad_configs(kwargs):
    with pytest.raises(ConfigError):
        ScheduleConfig(**kwargs)


def test_cyclic_needs_a_higher_maximum():
    with pytest.raises(ConfigError, match="lr_max"):
        LRSchedule(ScheduleConfig("cyclic", lr_max=1e-4), 1e-3, total=10)
