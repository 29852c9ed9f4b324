"""``microseg segment --model auto``: the whole-cell model for label-free images, the nuclei
model for the others, chosen per image and said."""
import json
import shutil

import dask.array as da
import numpy as np
import torch

from microseg import models
from microseg.cli import main
from microseg.data import synthetic
from microseg.data.modality import looks_label_free
from microseg.io.images import write_image
from microseg.models.checkpoint import save_checkpoint
from microseg.zoo import user_models_dir


def _phase_contrast(shape=(160, 192), seed=0):
    """Mid-grey background with dark cell bodies ringed by bright halos (phase contrast)."""
    rng = np.random.default_rng(seed)
    image = np.full(shape, 30000.0) + rng.normal(0, 600, shape)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    for y, x in rng.integers(20, min(shape) - 20, (8, 2)):
        radius = np.hypot(yy - y, xx - x)
        image[(radius >= 9) & (radius < 12)] = 52000
        image[radius < 9] = 12000
    return np.clip(image, 0, 65535).astype(np.uint16)


def test_auto_picks_the_cells_model_for_phase_contrast_and_says_so(tmp_path, capsys):
    torch.manual_seed(0)
    user = user_models_dir()
    cells = save_checkpoint(tmp_path / "cells.pt", models.build("unet", base_channels=4, depth=2),
                            {"target": {"name": "three_class"}})
    shutil.copy(cells, user / "cells.pt")
    try:
        phase = _phase_contrast()
        nuclei = synthetic.generate("nuclei2d", seed=1, shape=(96, 96)).image
        assert looks_label_free(phase) and not looks_label_free(nuclei)
        write_image(tmp_path / "in" / "phase.tif", phase)
        write_image(tmp_path / "in" / "nuclei.tif", nuclei)
        assert main(["segment", str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                     "--model", "auto", "--quiet"]) == 0
        printed = capsys.readouterr().out
        lines = {line.split(": ")[0]: line for line in printed.splitlines() if ": " in line}
        assert lines["phase"].endswith("(model auto: cells)")
        assert lines["nuclei"].endswith("(model auto: default)")
        record = json.loads(next((tmp_path / "out" / ".microseg" / "runs").iterdir())
                            .read_text())
        assert record["models"] == {"phase": "cells", "nuclei": "default"}
        assert all((tmp_path / "out" / f"{stem}_labels.tif").exists()
                   for stem in ("phase", "nuclei"))
    finally:
        (user / "cells.pt").unlink()


def test_a_lazy_image_is_judged_on_its_strided_pixels_as_the_array_is():
    phase = np.tile(_phase_contrast(), (8, 6))           # 1280 × 1152: strided by 2
    nuclei = np.tile(synthetic.generate("nuclei2d", seed=2, shape=(128, 128)).image, (9, 9))
    for image, expected in ((phase, True), (nuclei, False)):
        assert looks_label_free(image) is expected
        assert looks_label_free(da.from_array(image, chunks=256)) is expected
