"""Bundled pretrained models with model cards.

>>> from microseg import zoo
>>> zoo.available()                          # doctest: +SKIP
['default', 'em-membrane']
>>> zoo.card("default").parameters           # doctest: +SKIP
450812
>>> predictor = zoo.load_model("default", tta="mean")        # doctest: +SKIP

Each model is a checkpoint ``zoo/weights/<name>.pt`` (EM models also an edge classifier) and a
card ``zoo/cards/<name>.yaml`` (:class:`ModelCard`). ``MICROSEG_ZOO_DIR`` replaces the weights
folder (see :mod:`microseg.zoo.store`); the user's own models (``microseg finetune``) live in
``$MICROSEG_USER_MODELS`` (default ``~/.microseg/models``). ``microseg models list`` /
``microseg models info NAME`` print them.
"""
from microseg.zoo.card import ModelCard, read_card
from microseg.zoo.store import ENV_VAR, USER_ENV_VAR, available, bundled, card, card_names, \
    card_path, checkpoint_path, edge_classifier_for, edge_classifier_path, is_model_name, \
    load_model, model_files, user_models, user_models_dir, weights_dir
from microseg.zoo.text import describe, describe_model, models_table

__all__ = ["ENV_VAR", "USER_ENV_VAR", "ModelCard", "available", "bundled", "card", "card_names",
           "card_path", "checkpoint_path", "describe", "describe_model", "edge_classifier_for",
           "edge_classifier_path", "is_model_name", "load_model", "model_files", "models_table",
           "read_card", "user_models", "user_models_dir", "weights_dir"]
