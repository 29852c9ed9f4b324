"""The EM cross-validation plan: which sections each network may see, and the training
configuration it gets."""
from pathlib import Path

import pytest
import yaml

from microseg.data.splits import SplitConfig
from microseg.errors import ConfigError
from microseg.pipelines.em_folds import HELDOUT, TRAIN, VAL, fold_networks, fold_sections, \
    forest_maps, network_train_config
from microseg.train.config import train_config

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "unet_isbi2012.yaml"


def test_folds_are_contiguous_and_cover_every_section_once():
    assert fold_sections(20, 4) == [range(0, 5), range(5, 10), range(10, 15), range(15, 20)]
    uneven = fold_sections(7, 3)
    assert [len(f) for f in uneven] == [2, 3, 2]
    assert [z for fold in uneven for z in fold] == list(range(7))
    with pytest.raises(ConfigError, match="folds"):
        fold_sections(20, 1)


def test_no_network_sees_the_fold_it_is_scored_or_forested_on():
    folds = fold_sections(20, 4)
    networks = {n.name: n for n in fold_networks(20, 4, range(4))}
    assert len(networks) == 4 + 6                           # 4 outer + C(4, 2) pair networks
    for f in range(4):
        outer = networks[f"net_f{f}"]
        assert set(outer.trainable) == set(range(20)) - set(folds[f])
        sources = forest_maps(f, 4)
        assert sorted(g for _, g in sources) == [g for g in range(4) if g != f]
        for name, g in sources:
            seen = set(networks[name].trainable)
            assert not seen & set(folds[f]) and not seen & set(folds[g])
            assert g in networks[name].maps
    assert [n.name for n in fold_networks(20, 4, [2])] == ["net_f2", "net_f02", "net_f12",
                                                           "net_f23"]
    with pytest.raises(ConfigError, match="fold ids"):
        fold_networks(20, 4, [4])


def test_network_config_pins_held_out_sections_and_seeds_its_validation_part():
    base = yaml.safe_load(CONFIG.read_text())
    groups = [f"z{z:02d}" for z in range(20)]
    seeds = set()
    for network in fold_networks(20, 4, range(4)):
        config = network_train_config(base, network, 20, 4, iterations=7, output="runs/x")
        source = config["data"]["sources"][0]
        assert "ranges" not in source and config["iterations"] == 7 and "epochs" not in config
        split = SplitConfig(**source["split"]).apply(groups)
        held = {groups[i] for i in split[HELDOUT]}
        assert held == {f"z{z:02d}" for z in range(20) if z not in network.trainable}
        train, val = set(split[TRAIN]), set(split[VAL])
        assert train | val == set(network.trainable) and not train & val
        assert len(val) == round(0.2 * len(network.trainable))
        seeds.add(source["split"]["seed"])
        assert train_config(config).iterations == 7        # a valid training configuration
    assert len(seeds) == 10
    assert "ranges" in base["data"]["sources"][0]          # the base is left as it was


def test_network_config_needs_one_isbi_source():
    base = yaml.safe_load(CONFIG.read_text())
    base["data"]["sources"].append(dict(base["data"]["sources"][0], name="other"))
    with pytest.raises(ConfigError, match="exactly one isbi source"):
        network_train_config(base, fold_networks(20, 4, [0])[0], 20, 4)
