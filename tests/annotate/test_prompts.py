"""Points and boxes → objects with the bundled `default` model on synthetic nuclei."""
import numpy as np
import pytest
from scipy import ndimage as ndi

from microseg.annotate import PromptAnnotator
from microseg.data import synthetic
from microseg.errors import ConfigError, InputError
from microseg.metrics import match


@pytest.fixture(scope="module")
def scene():
    """A synthetic image, its ground truth, an annotator with `default`, and five nuclei that
    touch no other nucleus."""
    sample = synthetic.generate("nuclei2d", seed=3, shape=(256, 256))
    gt = sample.labels
    alone = [i for i in np.unique(gt)[1:]
             if np.setdiff1d(gt[ndi.binary_dilation(gt == i, iterations=3)], [0, i]).size == 0]
    assert len(alone) >= 5
    return sample.image, gt, PromptAnnotator(sample.image, "default"), alone[:5]


def _centre(mask):
    """The pixel of ``mask`` farthest from its edge: inside it whatever its shape."""
    distance = ndi.distance_transform_edt(mask)
    return np.unravel_index(np.argmax(distance), mask.shape)


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_five_points_give_five_objects_each_on_its_nucleus(scene):
    _, gt, annotator, chosen = scene
    labels = annotator.points([_centre(gt == i) for i in chosen])
    assert set(np.unique(labels)) == set(range(6))
    for k, i in enumerate(chosen, start=1):
        assert _iou(labels == k, gt == i) > 0.7


def test_a_point_per_nucleus_beats_the_model_alone(scene):
    _, gt, annotator, _ = scene
    ids = np.unique(gt)[1:]
    labels = annotator.points([_centre(gt == i) for i in ids])
    model_alone = annotator.maps()[2]
    assert match(gt, labels).f1 > match(gt, model_alone).f1 + 0.1


def test_a_box_around_a_nucleus_gives_that_nucleus(scene):
    _, gt, annotator, chosen = scene
    boxes = []
    for i in chosen:
        ys, xs = np.nonzero(gt == i)
        boxes.append((ys.min() - 1, xs.min() - 1, ys.max() + 2, xs.max() + 2))
    labels = annotator.boxes(boxes)
    for k, (i, box) in enumerate(zip(chosen, boxes), start=1):
        assert _iou(labels == k, gt == i) > 0.7
        assert _iou(annotator.box(box), gt == i) > 0.7


def test_a_box_at_twice_the_scale_still_finds_its_nucleus(scene):
    image, gt, _, chosen = scene
    large = np.kron(image, np.ones((2, 2), image.dtype))
    big_gt = np.kron(gt, np.ones((2, 2), gt.dtype)) == chosen[0]
    ys, xs = np.nonzero(big_gt)
    mask = PromptAnnotator(large, "default").box((ys.min() - 2, xs.min() - 2, ys.max() + 3,
                                                  xs.max() + 3))
    assert _iou(mask, big_gt) > 0.7


def test_bad_prompts_and_images_are_refused(scene):
    _, _, annotator, _ = scene
    with pytest.raises(InputError, match="covers less than 2 × 2 pixels"):
        annotator.box((300, 300, 310, 310))
    with pytest.raises(InputError, match="a box is"):
        annotator.box((1, 2, 3))
    with pytest.raises(InputError, match="2D images"):
        PromptAnnotator(np.zeros((4, 32, 32), np.uint8), annotator.predictor)


def test_the_sam_backend_refuses_unknown_types_and_files_that_are_not_weights(tmp_path,
                                                                              hostile):
    import torch

    from microseg.annotate import SamAnnotator
    from microseg.models.checkpoint import read_state_dict

    with pytest.raises(ConfigError, match="model_type"):
        SamAnnotator(np.zeros((8, 8)), None, model_type="vit_tiny")
    payload, marker = hostile
    torch.save({"weights": payload}, tmp_path / "evil.pth")
    with pytest.raises(InputError, match="evil.pth: not a readable weights file"):
        read_state_dict(tmp_path / "evil.pth")
    assert not marker.exists()
    torch.save({"a": 1}, tmp_path / "plain.pth")
    with pytest.raises(InputError, match="not a state dict"):
        read_state_dict(tmp_path / "plain.pth")


@pytest.mark.slow
def test_a_random_sam_runs_points_and_boxes_end_to_end():
    """Plumbing only: the smallest registered SAM with random weights (nothing downloaded)."""
    from microseg.annotate import SamAnnotator

    image = synthetic.generate("nuclei2d", seed=1, shape=(64, 80)).image
    annotator = SamAnnotator(image, None, "vit_b")
    labels = annotator.points([(10, 10), (40, 50)], negative=[(30, 30)], ids=[2, 9])
    assert labels.shape == (64, 80) and set(np.unique(labels)) <= {0, 2, 9}
    mask = annotator.box((5, 5, 30, 40))
    assert mask.shape == (64, 80) and mask.dtype == bool
    assert annotator.boxes([(5, 5, 30, 40), (30, 40, 60, 70)]).max() <= 2
