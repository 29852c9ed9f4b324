"""The report page: an output folder (:mod:`~microseg.report.collect`) → one HTML file with every
picture embedded (:mod:`~microseg.report.figures`)."""
from __future__ import annotations

import datetime
import html
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from microseg.errors import InputError, MicrosegError
from microseg.report.collect import ImageResult, RunFolder, read_run_folder

#: The page's file name in the output folder.
REPORT_NAME = "report.html"
#: Metric columns of the ground-truth table (names of :mod:`microseg.metrics.evaluate`).
METRIC_COLUMNS = ("n_true", "n_pred", "precision", "recall", "f1", "seg", "map", "pixel_iou")
STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 80em; }
h1 { font-size: 1.5em; overflow-wrap: anywhere; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
td:first-child, th:first-child { text-align: left; overflow-wrap: anywhere; }
table.counts td:last-child, table.counts th:last-child { text-align: left;
  overflow-wrap: anywhere; font-size: 0.85em; }
pre { background: #f4f4f4; padding: 0.8em; overflow-x: auto; font-size: 0.85em;
      white-space: pre-wrap; }
img.histograms { max-width: 100%; }
.grid { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; width: 256px; }
figcaption { font-size: 0.8em; overflow-wrap: anywhere; }
"""


def write_report(out_dir: str | Path, gt: str | Path | None = None,
                 progress: bool = False) -> Path:
    """Write :data:`REPORT_NAME` into ``out_dir`` (see :mod:`microseg.report`), atomically →
    its path; ``gt``: a folder of ground-truth label images named after the inputs' stems."""
    from microseg.io.atomic import atomic_path

    run = read_run_folder(out_dir)
    text = render(run, None if gt is None else Path(gt), progress)
    path = run.folder / REPORT_NAME
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def render(run: RunFolder, gt: Path | None = None, progress: bool = False) -> str:
    """The report page of ``run`` as HTML text."""
    from tqdm import tqdm

    from microseg.measure import read_measurements_csv
    from microseg.report.figures import thumbnail
    from microseg.version import __version__

    tables = [read_measurements_csv(image.table) for image in run.images]
    counts = [len(table["label"]) for table in tables]
    scores = _scores(run.images, gt) if gt is not None else None
    cards = []
    for image, count in tqdm(list(zip(run.images, counts)), desc="report", unit="image",
                             disable=not progress):
        caption = f"{image.stem}: {count} objects"
        if scores is not None and image.stem in scores["images"]:
            caption += f", F1 {_number(scores['images'][image.stem].get('f1'))}"
        cards.append(f'<figure class="thumb"><img class="thumbnail" alt="{_e(image.stem)}" '
                     f'src="{thumbnail(image.overlay)}"><figcaption>{_e(caption)}'
                     f'</figcaption></figure>')
    now = datetime.datetime.now().isoformat(timespec="seconds")
    parts = [f"<h1>microseg report: {_e(str(run.folder))}</h1>",
             f"<p>{len(run.images)} image(s), {sum(counts)} objects (median "
             f"{_number(float(np.median(counts)))} per image). Written {now} by microseg "
             f"{_e(__version__)}.</p>",
             "<h2>Commands</h2>", _commands(run.runs),
             "<h2>Objects per image</h2>", _table(["image", "objects", "source"], [
                 [image.stem, count, image.source or ""]
                 for image, count in zip(run.images, counts)], "counts"),
             "<h2>Measurements</h2>", _histograms(tables)]
    if scores is not None:
        parts += ["<h2>Scores against the ground truth</h2>", _scores_section(scores, gt)]
    parts += ["<h2>Overlays</h2>", f'<div class="grid">{"".join(cards)}</div>',
              "<h2>Model</h2>", f"<pre>{_e(_model_card(run.model))}</pre>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>microseg report: {_e(run.folder.name)}</title><style>{STYLE}</style>"
            "</head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


def _commands(runs: Sequence[dict[str, Any]]) -> str:
    """The run records, oldest first: command (or its absence), time, model, failures."""
    if not runs:
        return "<p>No run recorded (the folder was written by a microseg older than the run " \
               "records).</p>"
    items = []
    for record in runs:
        command = record.get("command") or "(run from Python: microseg.pipelines.files." \
                                           "segment_paths)"
        details = (f"{record.get('started')} to {record.get('finished')}, model "
                   f"{record.get('model')}, {len(record.get('objects') or {})} image(s) "
                   f"segmented, {len(record.get('skipped') or [])} skipped, "
                   f"{len(record.get('failed') or [])} failed")
        failed = "".join(f"<li>{_e(message)}</li>" for message in record.get("failed") or [])
        items.append(f"<li><pre>{_e(command)}</pre>{_e(details)}"
                     + (f"<ul>{failed}</ul>" if failed else "") + "</li>")
    return f"<ol>{''.join(items)}</ol>"


def _histograms(tables: Sequence[dict[str, np.ndarray]]) -> str:
    """Histograms of size, mean intensity (first channel), eccentricity and solidity over the
    objects of every image."""
    from microseg.report.figures import histograms

    def pooled(name: str) -> np.ndarray:
        return np.concatenate([np.asarray(t[name], dtype=np.float64) for t in tables
                               if name in t] or [np.zeros(0)])

    if not sum(len(t["label"]) for t in tables):
        return "<p>No objects were found.</p>"
    size = "area" if any("area" in t for t in tables) else "volume"
    columns = [(f"{size} (pixels)", pooled(size))]
    if any("mean_intensity_c0" in t for t in tables):
        columns.append(("mean intensity (channel 0)", pooled("mean_intensity_c0")))
    columns += [("eccentricity", pooled("eccentricity")), ("solidity", pooled("solidity"))]
    return f'<img class="histograms" alt="histograms" src="{histograms(columns)}">'


def _scores(images: Sequence[ImageResult], gt: Path) -> dict[str, Any]:
    """Scores (:func:`~microseg.metrics.evaluate_arrays`) of every image that has a label file
    of its stem in folder ``gt`` → ``{"images": stem → row, "overall": …, "missing": stems}``;
    :class:`InputError` when none has."""
    from microseg.io.folders import list_images
    from microseg.io.images import read_labels
    from microseg.metrics import evaluate_arrays

    truth = {path.stem: path for path in list_images(gt)}
    found = [image for image in images if image.stem in truth]
    if not found:
        raise InputError(gt, f"no ground truth named after the segmented images (e.g. "
                             f"{images[0].stem}.tif)")
    pairs = []
    for image in found:
        reference, labels = read_labels(truth[image.stem]), read_labels(image.labels)
        if reference.shape != labels.shape:
            raise InputError(truth[image.stem], f"shape {reference.shape} differs from the "
                                                f"segmentation's {labels.shape} ({image.labels})")
        pairs.append((image.stem, reference, labels))
    report = evaluate_arrays(pairs, "seg,f1,ap,iou")
    return {"images": {row["image"]: row for row in report.images}, "overall": report.overall,
            "missing": [image.stem for image in images if image.stem not in truth]}


def _scores_section(scores: dict[str, Any], gt: Path | None) -> str:
    rows = [[stem, *(row.get(c) for c in METRIC_COLUMNS)]
            for stem, row in scores["images"].items()]
    rows.append(["overall", *(scores["overall"].get(c) for c in METRIC_COLUMNS)])
    note = (f"<p>Ground truth: {_e(str(gt))}. F1 at IoU 0.5; SEG as the Cell Tracking Challenge "
            f"defines it; mAP over IoU 0.5:0.95; overall scores pool every object.</p>")
    if scores["missing"]:
        note += (f"<p>No ground truth for {len(scores['missing'])} image(s): "
                 f"{_e(', '.join(scores['missing'][:10]))}.</p>")
    return note + _table(["image", *METRIC_COLUMNS], rows, "scores")


def _model_card(model: str | None) -> str:
    """The card of the latest run's model (:func:`~microseg.zoo.describe_model`), or why there
    is none."""
    from microseg.zoo import describe_model

    if model is None:
        return "no run recorded"
    try:
        return describe_model(model)
    except MicrosegError as exc:
        return f"{model}: no card ({exc})"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], name: str) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(_number(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f'<table class="{name}"><tr>{head}</tr>{body}</table>'


def _number(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return "–" if np.isnan(value) else f"{value:.4g}"
    return "" if value is None else str(value)


def _e(text: str) -> str:
    return html.escape(text, quote=True)
