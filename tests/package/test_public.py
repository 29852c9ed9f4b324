"""The package's face: submodules load on first use, ``ms.segment`` / ``ms.load_model`` are the
pipeline functions, and ``import microseg`` alone stays light."""
import os
import subprocess
import sys

import pytest

import microseg as ms


def _run(code: str) -> str:
    """Run ``code`` in a fresh interpreter (nothing imported yet) → its stdout."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    return done.stdout.strip()


def test_submodules_load_on_first_use_in_a_fresh_interpreter():
    code = ("import sys, microseg as ms\n"
            "loaded = 'microseg.metrics' in sys.modules\n"
            "print(loaded, ms.metrics.seg_score.__name__, ms.io.read_image.__name__,\n"
            "      ms.post.graph.multicut.__name__)")
    assert _run(code) == "False seg_score read_image multicut"


def test_importing_microseg_imports_neither_torch_nor_numpy():
    code = "import sys, microseg\nprint(sorted({'torch', 'numpy'} & set(sys.modules)))"
    assert _run(code) == "[]"


def test_segment_and_load_model_are_the_pipeline_functions():
    from microseg.pipelines.cells import segment
    from microseg.pipelines.model import load_model

    assert ms.segment is segment and ms.load_model is load_model


def test_dir_lists_the_lazy_submodules_and_an_unknown_name_is_an_attribute_error():
    assert {"metrics", "io", "post", "segment", "load_model", "__version__"} <= set(dir(ms))
    with pytest.raises(AttributeError, match="no_such_thing"):
        ms.no_such_thing  # noqa: B018
