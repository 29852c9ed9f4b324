"""Bundled pretrained models with model cards.

>>> from microseg import zoo
>>> zoo.available()                          # doctest: +SKIP
['default', 'em-membrane']
>>> zoo.card("default").parameters           # doctest: +SKIP
450812
>>> predictor = zoo.load_model("default", tta="mean")        # doctest: +SKIP

Each model is a checkpoint ``zoo/weights/<name>.pt`` (EM models also an edge classifier) and a
card ``zoo/cards/<name>.yaml`` (:class:`ModelCard`). ``MICROSEG_ZOO_DIR`` replaces the weights
folder (see :mod:`microseg.zoo.store`). ``microseg models list`` / ``microseg models info NAME``
print them.
"""
from microseg.zoo.card import ModelCard, read_card
from microseg.zoo.store import ENV_VAR, available, card, card_names, checkpoint_path, \
    edge_classifier_for, edge_classifier_path, is_model_name, load_model, model_files, \
    weights_dir
from microseg.zoo.text import describe, describe_model, models_table

__all__ = ["ENV_VAR", "ModelCard", "available", "card", "card_names", "checkpoint_path",
           "describe", "describe_model", "edge_classifier_for", "edge_classifier_path", "is_model_name",
           "load_model", "model_files", "models_table", "read_card", "weights_dir"]
