"""ImageJ ROI zip: read back with ``roifile``; the ROIs fill back to the objects."""
import numpy as np
import roifile

from microseg.io.rois import write_imagej_rois

from .test_outlines import fill, random_labels


def _rings(roi):
    return [[ring] for ring in roi.coordinates(multi=True)]


def test_rois_read_back_with_roifile_fill_their_objects(tmp_path):
    labels = random_labels(4, holes=0.08)
    path = write_imagej_rois(tmp_path / "rois.zip", labels)
    rois = roifile.roiread(path)
    ids = sorted(set(np.unique(labels)) - {0})
    assert [int(roi.name) for roi in rois] == ids
    composite = 0
    for roi, label in zip(rois, ids):
        mask = labels == label
        composite += roi.composite
        assert roi.roitype == (roifile.ROI_TYPE.RECT if roi.composite
                               else roifile.ROI_TYPE.TRACED)
        filled = fill(_rings(roi), labels.shape)
        overlap = (filled & mask).sum() / (filled | mask).sum()
        assert overlap == 1.0, label
    assert 0 < composite < len(rois)          # objects with holes or parts, and simple ones


def test_stack_rois_are_named_and_placed_by_slice(tmp_path):
    labels = np.zeros((4, 10, 10), np.uint16)
    labels[1, 2:5, 2:6] = 3
    labels[3, 0:2, 0:10] = 3
    rois = roifile.roiread(write_imagej_rois(tmp_path / "stack.zip", labels))
    assert [(roi.name, roi.position) for roi in rois] == [("3-z2", 2), ("3-z4", 4)]
    np.testing.assert_array_equal(fill(_rings(rois[0]), labels.shape[1:]), labels[1] == 3)
