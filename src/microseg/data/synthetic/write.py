"""Writing synthetic data sets to disk: image/label folders, or the CTC layout for time-lapses."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from microseg.data.synthetic.base import GENERATORS, Synthetic, sample_seed
from microseg.data.synthetic.em_stack import isbi_labels
from microseg.data.synthetic.perturb import perturb_labels, perturb_sequence
from microseg.data.synthetic.time_lapse import SyntheticTimelapse
from microseg.errors import ConfigError


def write_synthetic(kind: str, out_dir: str | Path, n: int = 1, seed: int = 0, *,
                    perturbed: bool = False, progress: bool = False, **params: Any) -> Path:
    """Generate ``n`` samples of generator ``kind`` (``params`` go to it) and write them under
    ``out_dir``; returns ``out_dir``. Sample ``i`` is generated with
    ``sample_seed(seed, i)``, so a set is reproducible from ``seed``.

    Folder layout: ``images/NNN.tif`` and ``labels/NNN.tif`` (``em`` also writes ISBI-style
    ``membranes/NNN.tif``, uint8 255 = interior, 0 = membrane). ``timelapse`` writes one CTC
    sequence per sample: ``NN/tTTT.tif``, ``NN_GT/SEG/man_segTTT.tif``,
    ``NN_GT/TRA/man_trackTTT.tif`` and ``man_track.txt`` (``NN`` = ``01``, ``02``, …).
    ``perturbed=True`` also writes a deliberately wrong copy of the ground truth
    (:func:`perturb_labels`): ``perturbed/NNN.tif``, or a CTC result ``NN_RES/`` (``maskTTT.tif`` +
    ``res_track.txt``) for ``timelapse``. Every file is written atomically; ``progress`` shows a
    progress bar.
    """
    from tqdm import tqdm

    generate = GENERATORS.get(kind)
    if int(n) < 1:
        raise ConfigError(f"synthetic {kind}: n must be at least 1, got {n}")
    out = Path(out_dir)
    width = max(3, len(str(n - 1)))
    for i in tqdm(range(int(n)), desc=f"synth {kind}", unit="sample", disable=not progress):
        result = generate(sample_seed(seed, i), **params)
        rng = np.random.default_rng(sample_seed(seed, i, stream=1))
        if isinstance(result, SyntheticTimelapse):
            _write_sequence(out, i + 1, result, rng if perturbed else None)
        else:
            _write_sample(out, f"{i:0{width}d}", kind, result, rng if perturbed else None)
    return out


def _write_sample(out: Path, name: str, kind: str, sample: Synthetic,
                  rng: np.random.Generator | None) -> None:
    from microseg.io.images import write_image, write_labels

    write_image(out / "images" / f"{name}.tif", sample.image,
                axes="ZYX" if sample.image.ndim == 3 else None)
    write_labels(out / "labels" / f"{name}.tif", sample.labels)
    if kind == "em":
        write_image(out / "membranes" / f"{name}.tif", isbi_labels(sample.labels))
    if rng is not None:
        write_labels(out / "perturbed" / f"{name}.tif", perturb_labels(sample.labels, rng))


def _write_sequence(out: Path, seq: int, sample: SyntheticTimelapse,
                    rng: np.random.Generator | None) -> None:
    from microseg.io.ctc import write_ctc_result, write_ctc_sequence

    tra = dict(enumerate(sample.markers))
    seq_dir = write_ctc_sequence(out, seq, list(sample.images), sample.seg, tra, sample.tracks)
    if rng is not None:
        masks, tracks = perturb_sequence(sample.labels, sample.tracks, rng)
        write_ctc_result(out / f"{seq_dir.name}_RES", masks, tracks)
