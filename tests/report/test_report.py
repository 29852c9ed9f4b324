"""``microseg report``: one self-contained HTML page about a segment output folder."""
import base64
import contextlib
import io
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from PIL import Image

from microseg.cli import main
from microseg.data import synthetic
from microseg.io.images import read_labels, write_image, write_labels


#: Attributes whose value a browser loads (HTML 5 and SVG).
URL_ATTRIBUTES = {"src", "href", "srcset", "poster", "data", "action", "formaction",
                  "background", "xlink:href", "manifest", "ping"}


class Page(HTMLParser):
    """The parts of a page the tests look at: images (attributes), every URL-valued attribute,
    the CSS (``<style>`` blocks and ``style`` attributes), the tags, and the cell texts of each
    table (by class)."""

    def __init__(self, text):
        super().__init__()
        self.images, self.urls, self.tables, self.css, self.tags = [], [], {}, [], set()
        self._table = self._row = self._cell = None
        self._style = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        self.urls += [value for key, value in attrs.items() if key in URL_ATTRIBUTES]
        self.css += [attrs["style"]] if attrs.get("style") else []
        self._style = tag == "style"
        if tag == "img":
            self.images.append(attrs)
        elif tag == "table":
            self._table = self.tables.setdefault(attrs.get("class"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        self._style = False if tag == "style" else self._style
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell)
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._style:
            self.css.append(data)
        if self._cell is not None:
            self._cell += data


@pytest.fixture(scope="module")
def segmented(tmp_path_factory):
    """Three synthetic images (one with its ground truth left out) segmented by `default` →
    (output folder, ground-truth folder, stems, lines printed by segment)."""
    root = tmp_path_factory.mktemp("report")
    stems = ["cells_a", "cells_b", "cells_c"]
    for seed, stem in enumerate(stems):
        sample = synthetic.generate("nuclei2d", seed=seed, shape=(96, 128))
        write_image(root / "images" / f"{stem}.tif", sample.image)
        if stem != "cells_c":
            write_labels(root / "gt" / f"{stem}.tif", sample.labels)
    out, printed = root / "out", io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["segment", str(root / "images"), "--out", str(out), "--quiet"]) == 0
    return out, root / "gt", stems, printed.getvalue().strip().splitlines()


def test_segment_names_the_report_and_the_page_is_self_contained(segmented):
    out, gt, stems, printed = segmented
    assert printed[-1].startswith(f"report: microseg report {out}")
    assert main(["report", str(out), "--gt", str(gt), "--quiet"]) == 0
    text = (out / "report.html").read_text(encoding="utf-8")
    page = Page(text)
    # one thumbnail per image, every picture embedded, nothing loaded from elsewhere
    thumbnails = [img for img in page.images if img.get("class") == "thumbnail"]
    assert sorted(img["alt"] for img in thumbnails) == stems
    assert page.urls and all(url.startswith("data:image/png;base64,") for url in page.urls)
    assert page.css and not any(re.search(r"url\(|@import", css) for css in page.css)
    assert not page.tags & {"script", "link", "iframe", "object", "embed", "base"}
    for img in thumbnails:
        data = base64.b64decode(img["src"].split(",", 1)[1])
        assert Image.open(io.BytesIO(data)).size == (128, 96)        # smaller than 256: as is
    # the counts are those of the written label images
    counts = {row[0]: int(row[1]) for row in page.tables["counts"][1:]}
    assert counts == {stem: len(np.unique(read_labels(out / f"{stem}_labels.tif"))) - 1
                      for stem in stems}
    assert all(count > 0 for count in counts.values())
    # scores for the two images with ground truth, n_true its object count
    header, *rows = page.tables["scores"]
    n_true = {row[0]: int(row[header.index("n_true")]) for row in rows}
    assert n_true == {"cells_a": len(np.unique(read_labels(gt / "cells_a.tif"))) - 1,
                      "cells_b": len(np.unique(read_labels(gt / "cells_b.tif"))) - 1,
                      "overall": n_true["cells_a"] + n_true["cells_b"]}
    assert "No ground truth for 1 image(s): cells_c" in text
    # the command, as typed, and the bundled model's card
    assert f"microseg segment {out.parent / 'images'} --out {out} --quiet" in text
    assert "default: Generalist 2D nuclei" in text


def test_a_folder_without_segmentations_is_refused_naming_it(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert f"{tmp_path}: no segmented image here" in capsys.readouterr().err


def test_ground_truth_named_otherwise_is_refused_naming_the_folder(segmented, tmp_path, capsys):
    out = segmented[0]
    write_labels(tmp_path / "other.tif", np.zeros((96, 128), np.uint16))
    assert main(["report", str(out), "--gt", str(tmp_path)]) == 2
    assert f"{tmp_path}: no ground truth named after the segmented images" in \
        capsys.readouterr().err
