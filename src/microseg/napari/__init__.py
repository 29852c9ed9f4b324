"""The napari plugin ``microseg`` (npe2 manifest ``napari.yaml``; ``pip install
'microseg[napari]'``): a reader for the formats microseg reads and a labels writer
(:mod:`~microseg.napari.io`), and the Segment, Evaluate, Annotate and Fine-tune dock widgets
(:mod:`~microseg.napari.widgets`), which do their work with :mod:`~microseg.napari.logic` (plain
functions of layer data, usable and tested without Qt).
"""
