"""Maps → instances: connected components, watershed variants, clean-up, per-slice instances
stitched into 3D ones; ``post.graph`` for multicut. Every function takes and returns numpy
arrays, 2D ``(Y, X)`` or 3D ``(Z, Y, X)``."""
from microseg.post.cleanup import fill_holes, finalize_labels, remove_small_objects
from microseg.post.registry import POSTPROCESSORS, postprocess
from microseg.post.stitch3d import link_slices, stitch_slices
from microseg.post.three_class import three_class_to_instances
from microseg.post.watershed import center_watershed, distance_watershed, mesmer_watershed



def __getattr__(name: str):
    # ``post.graph`` pulls in numba and scikit-learn: import it only when it is used
    if name == "graph":
        import importlib

        return importlib.import_module("microseg.post.graph")
    raise AttributeError(f"module 'microseg.post' has no attribute {name!r}")


__all__ = [
    "POSTPROCESSORS",
    "center_watershed",
    "distance_watershed",
    "fill_holes",
    "finalize_labels",
    "graph",
    "link_slices",
    "mesmer_watershed",
    "postprocess",
    "remove_small_objects",
    "stitch_slices",
    "three_class_to_instances",
]
