"""Images larger than memory, on one machine or many: blockwise segmentation on Dask.

>>> from microseg.scale import segment_blockwise                       # doctest: +SKIP
>>> result = segment_blockwise(dask_image, "default", out=zarr_array,  # doctest: +SKIP
...                            scheduler="local", workers=2)

- ``segment``: the blockwise cells pipeline (:func:`segment_blockwise`);
- ``blocks``: the grid of cores and halos; ``stitch``: labels joined across block faces;
- ``levels``: one intensity normalisation for all blocks; ``measure``: measurements per block,
  merged;
- ``cluster``: the Dask scheduler (threads, processes, a local or a remote cluster);
  ``workers``: the model loaded once per worker.

Layer: with :mod:`microseg.pipelines` (it runs the cells pipeline on every block), below the
faces (``cli``).
"""
from microseg.scale.segment import BlockwiseResult, segment_blockwise

__all__ = ["BlockwiseResult", "segment_blockwise"]
