"""The HTML report of a ``microseg segment`` output folder: one self-contained page.

>>> from microseg.report import write_report
>>> write_report("out")                                   # doctest: +SKIP
PosixPath('out/report.html')

The page (:data:`REPORT_NAME`, written into the folder) holds an overlay thumbnail and the object
count of every segmented image, histograms of object area, mean intensity and shape
(eccentricity, solidity) over all images, scores against ground truth when a folder of it is
given, the commands that made the folder and the model's card. Images are embedded as base64
PNG: the page loads nothing from anywhere else. :mod:`~microseg.report.collect` reads the folder,
:mod:`~microseg.report.figures` draws, :mod:`~microseg.report.page` writes the HTML.
"""
from microseg.report.page import REPORT_NAME, write_report


__all__ = ["REPORT_NAME", "write_report"]
