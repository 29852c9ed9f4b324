"""microseg: microscopy images → per-pixel maps → cell instances → measurements.

See ``ARCHITECTURE.md`` for the layout: io → preprocess → models/infer → targets/post → metrics.
"""
__version__ = "0.1.0"

# ``segment`` is both this function and the submodule defining it; importing the function here
# (the module imports nothing heavy) keeps ``ms.segment`` the function whatever is imported later.
from microseg.segment import load_model, segment  # noqa: E402

__all__ = ["__version__", "load_model", "segment"]

