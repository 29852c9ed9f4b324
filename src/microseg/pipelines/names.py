"""The pipeline names: how a model's maps become instances. A leaf module (no imports), so that
model cards (:mod:`microseg.zoo.card`) and the command line check names without importing a
pipeline."""

#: EM pipeline name → method of :func:`~microseg.post.graph.segment_em`: the membrane map →
#: region graph → multicut / lifted multicut.
EM_PIPELINES = {"em-mc": "multicut", "em-lmc": "lifted_multicut"}
#: ``cells``: maps → post-processing (:mod:`microseg.pipelines.cells`); then the EM pipelines
#: (:mod:`microseg.pipelines.em`).
PIPELINES = ("cells", *EM_PIPELINES)
