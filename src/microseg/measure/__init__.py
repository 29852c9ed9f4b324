"""Measure segmented objects: one row per object (size, centroid, bounding box, intensities,
equivalent diameter, eccentricity, solidity), computed from run-length encoded labels without a
Python loop over objects (3D convex hulls excepted), and written as CSV.

    from microseg.measure import measure, write_measurements_csv
    table = measure(labels, image, spacing=(0.65, 0.65))     # dict: column → (n,) array
    write_measurements_csv("out/cells.csv", table)
"""
from microseg.measure.hull import convex_count
from microseg.measure.moments import Geometry, eccentricity, equivalent_diameter, geometry
from microseg.measure.runs import LabelRuns, label_runs
from microseg.measure.table import measure, read_measurements_csv, write_measurements_csv

__all__ = ["Geometry", "LabelRuns", "convex_count", "eccentricity", "equivalent_diameter",
           "geometry", "label_runs", "measure", "read_measurements_csv", "write_measurements_csv"]
