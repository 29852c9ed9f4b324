"""Instance labels → training targets, 2D ``(Y, X)`` and 3D ``(Z, Y, X)``.

>>> from microseg import targets
>>> targets.available()  # doctest: +NORMALIZE_WHITESPACE
['binary', 'boundary', 'center_heatmap', 'fgbg', 'inner_distance', 'outer_distance',
 'pixelwise', 'three_class']
>>> target = targets.build("three_class")          # XB-Net Algorithm 1
>>> target.kind, target.channels
('classes', 3)
"""
from microseg.targets.base import IGNORE_INDEX, TARGETS, Target, available, build, check_labels
from microseg.targets.heatmap import CenterHeatmap
from microseg.targets.masks import Binary, Boundary, FgBg
from microseg.targets.mesmer import InnerDistance, OuterDistance, Pixelwise
from microseg.targets.three_class import ThreeClass
from microseg.targets.weights import ContactWeight

__all__ = [
    "IGNORE_INDEX", "TARGETS", "Target", "available", "build", "check_labels",
    "Binary", "Boundary", "CenterHeatmap", "ContactWeight", "FgBg", "InnerDistance", "OuterDistance",
    "Pixelwise", "ThreeClass",
]
