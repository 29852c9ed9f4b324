"""microseg: microscopy images → per-pixel maps → cell instances → measurements.

See ``ARCHITECTURE.md`` for the layout: io → preprocess → models/infer → targets/post → metrics.
"""
__version__ = "0.1.0"
