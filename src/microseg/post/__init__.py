"""microseg.post"""
from microseg.post.three_class import three_class_to_instances  # noqa: F401
