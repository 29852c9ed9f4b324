"""Files from strangers never run code: a crafted pickle handed to the EM pipeline as its edge
classifier is refused with a clean error, and its payload never executes."""
import joblib
import numpy as np

from microseg.cli import main
from microseg.io.images import write_labels



def test_em_pipeline_refuses_a_crafted_joblib_edge_classifier(tmp_path, capsys, hostile):
    payload, marker = hostile
    evil = tmp_path / "evil.joblib"
    joblib.dump({"format": "microseg-edge-classifier", "payload": payload}, evil)
    image = tmp_path / "section.tif"
    write_labels(image, (np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8))
    out = tmp_path / "out"
    code = main(["segment", str(image), "--model", "em-membrane", "--pipeline", "em-mc",
                 "--edge-classifier", str(evil), "--out", str(out), "--quiet"])
    assert code != 0
    assert "can run code" in capsys.readouterr().err
    assert not marker.exists()
    assert not out.exists() or not any(out.iterdir())


def test_the_hostile_payload_does_run_when_unpickled(hostile):
    """The other tests' `not marker.exists()` means something: this payload is live."""
    import pickle

    payload, marker = hostile
    pickle.loads(pickle.dumps(payload))
    assert marker.exists()
