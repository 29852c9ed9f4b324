"""Which datasets feed each optimiser step under each XB-Net training scheme."""
from collections import Counter

import pytest

from microseg.errors import ConfigError
from microseg.train.schemes import Scheme, SchemeConfig


def plans(name, n=3, total=12, seed=0, **kwargs):
    scheme = Scheme(SchemeConfig(name, **kwargs), n, total, seed)
    return scheme, [scheme.plan(step) for step in range(total)]


def test_mix_uses_one_pooled_stream():
    scheme, steps = plans("mix")
    assert scheme.streams == 1 and steps == [[0]] * 12


def test_seq_one_dataset_after_another():
    scheme, steps = plans("seq", total=9)
    assert scheme.streams == 3
    assert steps == [[0]] * 3 + [[1]] * 3 + [[2]] * 3
    _, uneven = plans("seq", total=10)
    assert [s[0] for s in uneven] == [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_fix_in_turn_and_with_fixed_proportions():
    _, steps = plans("fix", total=6)
    assert steps == [[0], [1], [2], [0], [1], [2]]
    _, weighted = plans("fix", n=2, total=6, repeats=[2, 1])
    assert weighted == [[0], [0], [1], [0], [0], [1]]


def test_shu_every_round_is_a_permutation_and_rounds_differ():
    _, steps = plans("shu", total=60, seed=4)
    rounds = [tuple(s[0] for s in steps[i : i + 3]) for i in range(0, 60, 3)]
    assert all(sorted(r) == [0, 1, 2] for r in rounds)
    assert len(set(rounds)) > 1
    assert plans("shu", total=60, seed=4)[1] == steps  # reproducible
    assert plans("shu", total=60, seed=5)[1] != steps


def test_cho_uniform_random_choice():
    _, steps = plans("cho", total=3000, seed=1)
    counts = Counter(s[0] for s in steps)
    assert set(counts) == {0, 1, 2}
    assert all(abs(c - 1000) < 120 for c in counts.values())
    assert plans("cho", total=3000, seed=1)[1] == steps


def test_acc_draws_every_dataset_each_step():
    scheme, steps = plans("acc", n=4)
    assert scheme.draws_per_step == 4 and steps == [[0, 1, 2, 3]] * 12


def test_plans_do_not_depend_on_history():
    scheme = Scheme(SchemeConfig("shu"), 3, 30, seed=2)
    forward = [scheme.plan(s) for s in range(30)]
    backward = [scheme.plan(s) for s in reversed(range(30))][::-1]
    assert forward == backward


def test_bad_scheme_configs():
    with pytest.raises(ConfigError, match="scheme.name: 'round_robin' is not one of mix, seq"):
        SchemeConfig("round_robin")
    with pytest.raises(ConfigError, match="fix"):
        SchemeConfig("acc", repeats=[1, 2])
    with pytest.raises(ConfigError, match="entries"):
        Scheme(SchemeConfig("fix", repeats=[1, 2]), 3, 10)
