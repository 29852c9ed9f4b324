"""Measure segmented objects: one row per object (size, centroid, bounding box, intensities,
equivalent diameter, perimeter, orientation, axis lengths, eccentricity, solidity; in µm too when
the pixel size is known), computed from run-length encoded labels without a
Python loop over objects (3D convex hulls excepted), and written as CSV.

    from microseg.measure import measure, write_measurements_csv
    table = measure(labels, image, spacing=(0.65, 0.65))     # dict: column → (n,) array (µm)
    write_measurements_csv("out/cells.csv", table)
"""
from microseg.measure.hull import convex_count
from microseg.measure.moments import Geometry, axis_lengths, eccentricity, equivalent_diameter, \
    geometry, orientation
from microseg.measure.perimeter import perimeter
from microseg.measure.runs import LabelRuns, label_runs
from microseg.measure.table import measure, read_measurements_csv, write_measurements_csv

__all__ = ["Geometry", "LabelRuns", "axis_lengths", "convex_count", "eccentricity",
           "equivalent_diameter", "geometry", "label_runs", "measure", "orientation", "perimeter",
           "read_measurements_csv", "write_measurements_csv"]
