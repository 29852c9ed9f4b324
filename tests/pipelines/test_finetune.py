"""``microseg finetune``: split by group, train with resume, tune, score before and after, and
save a named model the zoo finds."""
import numpy as np
import pytest
import torch
import yaml

from microseg import models, zoo
from microseg.cli import main
from microseg.data import synthetic
from microseg.data.splits import PROTOPLAST_PATTERN, parse_filename_metadata
from microseg.errors import ConfigError, InputError
from microseg.io.images import read_labels, write_image, write_labels
from microseg.metrics import match
from microseg.models.checkpoint import save_checkpoint
from microseg.pipelines.cells import segment
from microseg.pipelines.finetune import finetune, split_items


@pytest.fixture
def user_models(tmp_path, monkeypatch):
    folder = tmp_path / "my-models"
    monkeypatch.setenv(zoo.USER_ENV_VAR, str(folder))
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Six synthetic images named like the protoplast data: 3 stage positions × 2 planes, and
    an untrained tiny U-Net to start from."""
    root = tmp_path_factory.mktemp("finetune")
    for k, (xy, z) in enumerate((xy, z) for xy in (1, 2, 3) for z in (12, 14)):
        sample = synthetic.generate("nuclei2d", seed=k, shape=(64, 64))
        write_image(root / "images" / f"day1t1c1xy{xy}z{z}.tif", sample.image)
        write_labels(root / "labels" / f"day1t1c1xy{xy}z{z}.tif", sample.labels)
    torch.manual_seed(0)
    tiny = save_checkpoint(root / "tiny.pt", models.build("unet", base_channels=4, depth=2),
                           {"target": {"name": "three_class"}})
    return root, tiny


def test_finetune_splits_by_position_trains_and_saves_a_model_the_zoo_finds(
        data, user_models, tmp_path, capsys):
    root, tiny = data
    run = tmp_path / "run"
    assert main(["finetune", str(root / "images"), str(root / "labels"), "--init", str(tiny),
                 "--iterations", "3", "--name", "mine", "--out", str(run),
                 "--pattern", PROTOPLAST_PATTERN, "--group-by", "xy", "--test-groups", "xy3",
                 "--crop", "64", "--batch-size", "2", "--validate-every", "2",
                 "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "held-out test images (2): F1@0.5" in printed and "'mine'" in printed
    # whole positions per split, xy3 held out
    splits = {s: (run / f"{s}.txt").read_text().split() for s in ("train", "val", "test")}
    positions = {s: {parse_filename_metadata(n)["xy"] for n in names}
                 for s, names in splits.items()}
    assert positions["test"] == {"3"} and len(positions["train"] | positions["val"]) == 2
    assert not positions["train"] & positions["val"]
    # the configuration reproduces the run: it names the data, the splits and the start
    config = yaml.safe_load((run / "finetune.yaml").read_text())
    assert config["init"] == str(tiny) and config["data"]["sources"][0]["ids"]["test"] == \
        str((run / "test.txt").resolve())
    # a named model with a card, found by name, as segment's --model
    assert sorted(p.name for p in user_models.iterdir()) == ["mine.pt", "mine.yaml"]
    assert "mine" in zoo.available() and zoo.card("mine").validation
    image = synthetic.generate("nuclei2d", seed=9, shape=(64, 64)).image
    write_image(tmp_path / "new.tif", image)
    assert main(["segment", str(tmp_path / "new.tif"), "--model", "mine", "--out",
                 str(tmp_path / "out"), "--quiet"]) == 0
    np.testing.assert_array_equal(read_labels(tmp_path / "out" / "new_labels.tif"),
                                  segment(image, "mine"))


def test_the_figures_are_the_test_images_scored_as_segment_runs_them_and_a_rerun_resumes(
        data, user_models, tmp_path):
    root, tiny = data
    options = dict(init=str(tiny), name="again", out=tmp_path / "run", crop=64, batch_size=2,
                   validate_every=2, progress=False, minutes=None)
    first = finetune(root / "images", root / "labels", iterations=2, **options)
    assert first.iterations == 2 and len(first.splits["test"]) >= 1
    pairs = [(read_labels(root / "labels" / f"{stem}.tif"),
              segment(read_labels(root / "images" / f"{stem}.tif"), str(tiny)))
             for stem in first.splits["test"]]
    tp = sum(match(gt, pred).tp for gt, pred in pairs)
    fp = sum(match(gt, pred).fp for gt, pred in pairs)
    fn = sum(match(gt, pred).fn for gt, pred in pairs)
    assert first.before["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    second = finetune(root / "images", root / "labels", iterations=4, **options)
    assert second.iterations == 4 and second.splits == first.splits
    log = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in log[1:]][-1] == "4"


def test_too_few_groups_bad_names_and_half_given_grouping_are_refused(data, user_models):
    root, tiny = data
    with pytest.raises(InputError, match="at least 3 groups"):
        split_items(["day1t1c1xy1z12", "day1t1c1xy1z14", "day1t1c1xy2z12"], PROTOPLAST_PATTERN,
                    ["xy"])
    with pytest.raises(ConfigError, match="both, or neither"):
        split_items(["a", "b", "c"], PROTOPLAST_PATTERN, None)
    with pytest.raises(ConfigError, match="bundled model's"):
        finetune(root / "images", root / "labels", init=str(tiny), name="default")
    with pytest.raises(ConfigError, match="letters, digits"):
        finetune(root / "images", root / "labels", init=str(tiny), name="../evil")
