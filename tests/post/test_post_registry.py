"""Every post-processing registry entry on synthetic maps with a known answer."""
import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.draw import disk

from microseg.errors import ConfigError, InputError
from microseg.metrics import match
from microseg.models.meta import ModelMeta
from microseg.post.registry import available, default_post, postprocess, select
from microseg.targets import build


def _two_touching_discs(shape=(64, 64)) -> np.ndarray:
    labels = np.zeros(shape, np.uint16)
    labels[disk((32, 22), 11, shape=shape)] = 1
    labels[disk((32, 42), 11, shape=shape)] = 2
    return labels


def _one_hot(classes: np.ndarray, n: int) -> np.ndarray:
    return (np.arange(n)[:, None, None] == classes[None]).astype(np.float32)


def _perfect(gt: np.ndarray, pred: np.ndarray, iou: float = 0.8) -> bool:
    m = match(gt, pred, iou=iou)
    return m.tp == gt.max() and m.fp == 0 and m.fn == 0


def test_registry_lists_every_method():
    assert available() == sorted(["three_class", "components", "mesmer_watershed",
                                  "distance_watershed", "center_watershed"])
    with pytest.raises(ConfigError, match="post-processing: 'magic' is not one of center_watershed, components"):
        postprocess("magic", np.zeros((1, 4, 4)))
    with pytest.raises(ConfigError, match="threshold_typo"):
        postprocess("components", np.zeros((1, 4, 4)), threshold_typo=0.3)
    with pytest.raises(ConfigError, match="mesmer_watershed"):
        postprocess("mesmer_watershed", {"inner_distance": np.zeros((1, 4, 4)),
                                         "pixelwise": np.zeros((3, 4, 4))}, peaks=3)


def test_three_class_recovers_touching_cells():
    gt = _two_touching_discs()
    probs = _one_hot(build("three_class")(gt), 3)
    labels = postprocess("three_class", probs)
    assert _perfect(gt, labels, iou=0.9)
    assert labels.dtype == np.uint16
    heads = {"distance": np.zeros((1, 64, 64), np.float32), "classes": probs}
    np.testing.assert_array_equal(postprocess("three_class", heads), labels)


def test_components_of_a_map_and_of_classes():
    gt = np.zeros((40, 40), np.uint16)
    gt[5:15, 5:15], gt[25:35, 20:30] = 1, 2
    probability = (gt > 0).astype(np.float32)[None] * 0.9
    assert _perfect(gt, postprocess("components", probability), iou=0.99)
    classes = _one_hot((gt > 0).astype(int), 2)
    assert _perfect(gt, postprocess("components", classes), iou=0.99)
    membrane = 1.0 - probability                      # cells lie where the membrane map is low
    inverted = postprocess("components", membrane, invert=True, threshold=0.5)
    assert _perfect(gt, inverted, iou=0.99)
    assert postprocess("components", probability, min_size=101).max() == 0


def test_mesmer_watershed_splits_touching_cells_from_the_inner_distance():
    gt = _two_touching_discs()
    maps = {"inner_distance": build("inner_distance")(gt),
            "pixelwise": _one_hot(build("pixelwise")(gt), 3)}
    labels = postprocess("mesmer_watershed", maps)
    assert _perfect(gt, labels)
    foreground_only = postprocess("mesmer_watershed", maps, interior="pixelwise")
    assert foreground_only.max() == 2


def test_distance_watershed_splits_a_foreground_mask():
    gt = _two_touching_discs()
    fg = (gt > 0).astype(np.float32)
    assert _perfect(gt, postprocess("distance_watershed", fg[None]))
    heads = {"fgbg": _one_hot((gt > 0).astype(int), 2)}
    assert _perfect(gt, postprocess("distance_watershed", heads))


def test_distance_watershed_works_in_physical_units():
    # two balls of radius 8 µm touching along x, sampled at 2 µm in z and 1 µm in y, x
    z, y, x = np.mgrid[0:16, 0:24, 0:44]
    physical = np.stack([z * 2.0, y, x], axis=-1)
    gt = np.zeros(z.shape, np.uint16)
    for i, centre in enumerate(((16, 12, 13), (16, 12, 30)), start=1):
        gt[np.linalg.norm(physical - centre, axis=-1) <= 8.5] = i
    fg = (gt > 0).astype(np.float32)[None]
    labels = postprocess("distance_watershed", fg, spacing=(2.0, 1.0, 1.0), min_distance=3)
    assert _perfect(gt, labels)


def test_center_watershed_uses_the_heatmap_peaks():
    gt = _two_touching_discs()
    heatmap = np.zeros(gt.shape, np.float32)
    heatmap[32, 22] = heatmap[32, 42] = 1.0
    heatmap = ndi.gaussian_filter(heatmap, 3) / ndi.gaussian_filter(heatmap, 3).max()
    maps = np.stack([heatmap, (gt > 0).astype(np.float32)])
    assert _perfect(gt, postprocess("center_watershed", maps))
    heads = {"center_heatmap": heatmap[None], "binary": (gt > 0).astype(np.float32)[None]}
    assert _perfect(gt, postprocess("center_watershed", heads))


def test_selectors():
    maps = {"a": np.stack([np.full((2, 2), 0.25), np.full((2, 2), 0.75)]),
            "b": np.full((1, 2, 2), 0.5)}
    np.testing.assert_allclose(select(maps, "a:1"), 0.75)
    np.testing.assert_allclose(select(maps, "a"), 0.75)        # 1 − P(class 0)
    np.testing.assert_allclose(select(maps, "b"), 0.5)
    np.testing.assert_allclose(select(maps["a"], 0), 0.25)
    for bad in ("c", "a:2", "a:x"):
        with pytest.raises(ConfigError):
            select(maps, bad)
    with pytest.raises(ConfigError, match="interior"):
        postprocess("mesmer_watershed", maps, distance="b")


@pytest.mark.parametrize("meta,heads,expected", [
    ({"post": {"name": "auto", "params": {"min_size": 5}}, "target": {"name": "three_class"}},
     [None], ("three_class", {"min_size": 5})),
    ({"post": {"name": "auto", "params": {"threshold": 0.4}}, "target": {"name": "binary"}},
     [None], ("components", {"threshold": 0.4})),
    ({"post": {"name": "distance_watershed", "params": {}}}, [None],
     ("distance_watershed", {})),
    ({}, ["inner_distance", "pixelwise"], ("mesmer_watershed", {})),
    ({}, ["center_heatmap", "binary"], ("center_watershed", {})),
    # auto keeps the recorded (tuned) parameters whichever method it stands for
    ({"post": {"name": "auto", "params": {"min_size": 7}}}, ["inner_distance", "pixelwise"],
     ("mesmer_watershed", {"min_size": 7})),
    # a named head: the method for that head's target, on that head
    ({"post": {"name": "auto", "head": "pixelwise"},
      "target": {"heads": {"inner_distance": {"name": "inner_distance"},
                           "pixelwise": {"name": "three_class"}}}},
     ["inner_distance", "pixelwise"], ("three_class", {"head": "pixelwise"})),
    # no named head and no method for the pair of heads: the first head's
    ({"target": {"heads": {"binary": {"name": "binary"}, "outer": {"name": "outer_distance"}}}},
     ["binary", "outer"], ("components", {"head": "binary"})),
])
def test_default_post_from_a_checkpoint(meta, heads, expected):
    assert default_post(ModelMeta(**meta), heads) == expected


def test_default_post_refuses_an_unknown_method():
    with pytest.raises(ConfigError, match="post.name: 'watershed' is not one of center_watershed"):
        default_post(ModelMeta(post={"name": "watershed"}), [None])


def test_default_post_overrides_for_bright_background_images():
    meta = ModelMeta(post={"name": "three_class",
                           "params": {"min_size": 20, "seed_threshold": None},
                           "bright_background": {"seed_threshold": 0.75}})
    assert default_post(meta, [None]) == ("three_class", {"min_size": 20, "seed_threshold": None})
    assert default_post(meta, [None], bright_background=True) == (
        "three_class", {"min_size": 20, "seed_threshold": 0.75})
    plain = ModelMeta(post={"name": "three_class", "params": {"min_size": 20}})
    assert default_post(plain, [None], bright_background=True) == ("three_class",
                                                                   {"min_size": 20})


def test_spacing_must_fit_the_maps():
    fg = np.ones((1, 3, 20, 20), np.float32)
    with pytest.raises(InputError, match="spacing"):
        postprocess("distance_watershed", fg, spacing=(1.0, 1.0))
