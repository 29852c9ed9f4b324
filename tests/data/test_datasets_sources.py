"""load_samples for folder, CTC, COCO and ISBI sources built in tmp_path with the io writers."""
import numpy as np
import pytest
import yaml
from scipy import ndimage
from skimage.draw import disk

from microseg.config import from_dict, load_yaml
from microseg.data.config import DataConfig, SourceConfig
from microseg.data.sources import load_samples, load_source
from microseg.errors import ConfigError, InputError
from microseg.io.coco import labels_to_coco, write_coco
from microseg.io.ctc import write_ctc_sequence
from microseg.io.images import write_image, write_labels

RNG = np.random.default_rng(0)


def _labels(shape, centres, radius=6):
    labels = np.zeros(shape, np.uint16)
    for i, c in enumerate(centres):
        labels[disk(c, radius, shape=shape)] = i + 1
    return labels


def _image_of(labels, dtype=np.uint8, high=180):
    noise = RNG.integers(0, 30, labels.shape)
    return ((labels > 0) * high + noise).astype(dtype)


def _config(**source):
    return from_dict(DataConfig, {"sources": [source]})


def _percentile_range(image):
    return np.percentile(image, 1.0), np.percentile(image, 99.8)


# --- folder ----------------------------------------------------------------------------------

@pytest.fixture
def folder(tmp_path):
    """Grey, RGB and RGBA (varying alpha) PNGs with TIFF labels and train/val id lists."""
    (tmp_path / "images").mkdir()
    shape = (32, 40)
    grey = _labels(shape, [(10, 10), (20, 28)])
    rgb = _labels(shape, [(16, 20)])
    rgba = _labels(shape, [(8, 8), (24, 30), (8, 30)])
    write_image(tmp_path / "images" / "a.png", _image_of(grey))
    colour = np.stack([_image_of(rgb), _image_of(rgb, high=60), _image_of(rgb, high=20)], -1)
    write_image(tmp_path / "images" / "b.png", colour)
    alpha = np.dstack([np.stack([_image_of(rgba)] * 3, -1), RNG.integers(0, 255, shape, np.uint8)])
    write_image(tmp_path / "images" / "c.png", alpha.astype(np.uint8))
    for name, labels in (("a", grey), ("b", rgb), ("c", rgba)):
        write_labels(tmp_path / "labels" / f"{name}.tif", labels)
    (tmp_path / "train.txt").write_text("a\nb\n")
    (tmp_path / "val.txt").write_text("c\n")
    return tmp_path, {"a": grey, "b": rgb, "c": rgba, "colour": colour, "alpha": alpha}


def _folder_source(root, **extra):
    return {"kind": "folder", "images": str(root / "images"), "labels": str(root / "labels"),
            "ids": {"train": str(root / "train.txt"), "val": str(root / "val.txt")}, **extra}


def test_folder_split_files_counts_channels_and_normalisation(folder):
    root, arrays = folder
    train = load_samples(_config(**_folder_source(root)), "train")
    val = load_samples(_config(**_folder_source(root)), "val")
    assert [s.name for s in train] == [f"{root.name}/a", f"{root.name}/b"]
    assert [s.name for s in val] == [f"{root.name}/c"]
    for s in train + val:
        assert s.image.dtype == np.float32 and s.image.shape == (1, 32, 40)
        assert s.ignore is None and s.meta["kind"] == "folder"
        assert np.percentile(s.image, 1.0) == pytest.approx(0.0, abs=1e-5)
        assert np.percentile(s.image, 99.8) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(train[0].labels, arrays["a"])
    # grey of RGB by luminance, then percentile-normalised
    r, g, b = (arrays["colour"][..., i].astype(np.float64) for i in range(3))
    luminance = 0.299 * r + 0.587 * g + 0.114 * b
    lo, hi = _percentile_range(luminance)
    np.testing.assert_allclose(train[1].image[0], (luminance - lo) / (hi - lo), atol=1e-4)


def test_folder_three_channels_replicate_grey_and_drop_alpha(folder):
    root, arrays = folder
    samples = load_samples(_config(**_folder_source(root, channels=3, normalize="minmax")), "all")
    grey, colour, rgba = samples
    assert all(s.image.shape == (3, 32, 40) for s in samples)
    np.testing.assert_array_equal(grey.image[0], grey.image[1])
    np.testing.assert_array_equal(grey.image[0], grey.image[2])
    assert grey.image.min() == 0.0 and grey.image.max() == 1.0
    source = arrays["colour"].astype(np.float32)
    expected = (source - source.min()) / (source.max() - source.min())
    np.testing.assert_allclose(colour.image, np.moveaxis(expected, -1, 0), atol=1e-6)
    rgb = arrays["alpha"][..., :3].astype(np.float32)
    np.testing.assert_allclose(rgba.image, np.moveaxis((rgb - rgb.min()) / (rgb.max() - rgb.min()),
                                                       -1, 0), atol=1e-6)


def test_folder_per_channel_percentile(folder):
    root, _ = folder
    (sample,) = load_source(from_dict(SourceConfig, _folder_source(root, channels=3,
                                                                   per_channel=True)), "train")[1:]
    for channel in sample.image:
        assert np.percentile(channel, 99.8) == pytest.approx(1.0, abs=1e-5)


def test_folder_dark_background_inverts_bright_images_only(folder, tmp_path):
    root, arrays = folder
    write_image(root / "images" / "a.png", (255 - _image_of(arrays["a"])).astype(np.uint8))
    plain, colour = load_samples(_config(**_folder_source(root)), "train")
    dark, same = load_samples(_config(**_folder_source(root, dark_background=True)), "train")
    np.testing.assert_allclose(dark.image, 1.0 - plain.image, atol=1e-6)  # bright field: inverted
    np.testing.assert_array_equal(same.image, colour.image)  # dark background: kept
    cells = arrays["a"] > 0
    assert dark.image[0][cells].mean() > dark.image[0][~cells].mean()


def test_folder_dark_background_inverts_dense_stained_tissue_as_inference_does(tmp_path):
    shape = (32, 40)
    labels = _labels(shape, [(8, 8), (8, 24), (20, 10), (20, 28)])
    dense = np.zeros(shape, bool)
    dense[:, :26] = True                                   # nuclei stain over ~65 % of the field
    rgb = np.where(dense[..., None], np.array([90, 60, 150], np.uint8),
                   np.array([230, 150, 200], np.uint8)).astype(np.uint8)
    write_image(tmp_path / "images" / "he.png", rgb)
    write_labels(tmp_path / "labels" / "he.tif", labels)
    (tmp_path / "train.txt").write_text("he\n")
    source = {"kind": "folder", "images": str(tmp_path / "images"),
              "labels": str(tmp_path / "labels"), "ids": {"train": str(tmp_path / "train.txt")},
              "dark_background": True}
    (sample,) = load_samples(_config(**source), "train")
    assert sample.meta["bright_background"] is True
    assert sample.image[0][dense].mean() > sample.image[0][~dense].mean()


def test_folder_include_modalities_keeps_the_guessed_modalities(tmp_path):
    shape = (32, 40)
    labels = _labels(shape, [(10, 10), (20, 28)])
    grey = _image_of(labels)  # dark background: fluorescence
    bright = (255 - grey).astype(np.uint8)  # bright grey background: bright-field
    stained = np.stack([bright, (bright * 0.6).astype(np.uint8), bright], -1)  # bright, coloured
    for name, image in (("fluo", grey), ("bf", bright), ("he", stained)):
        write_image(tmp_path / "images" / f"{name}.png", image)
        write_labels(tmp_path / "labels" / f"{name}.tif", labels)
    (tmp_path / "train.txt").write_text("fluo\nbf\nhe\n")
    source = {"kind": "folder", "images": str(tmp_path / "images"),
              "labels": str(tmp_path / "labels"), "ids": {"train": str(tmp_path / "train.txt")}}
    names = [s.name.split("/")[-1] for s in
             load_samples(_config(**source, include_modalities=["brightfield", "he"]), "train")]
    assert names == ["bf", "he"]
    (only,) = load_samples(_config(**source, include_modalities=["fluorescence"]), "all")
    assert only.name.endswith("/fluo")
    (tmp_path / "train.txt").write_text("fluo\n")
    with pytest.raises(InputError, match=r"no annotated image of modality \['he'\]"):
        load_samples(_config(**source, include_modalities=["he"]), "train")
    with pytest.raises(ConfigError, match="include_modalities"):
        _config(**source, include_modalities=["phase"])
    with pytest.raises(ConfigError, match="do not apply to kind 'ctc'"):
        _config(kind="ctc", sequences=["x/01"], include_modalities=["he"])


def test_folder_bad_inputs_name_the_path(folder, tmp_path):
    root, _ = folder
    (root / "train.txt").write_text("a\nzzz\n")
    with pytest.raises(InputError, match="train.txt.*zzz"):
        load_samples(_config(**_folder_source(root)), "train")
    (root / "train.txt").write_text("a\nc\n")
    with pytest.raises(InputError, match="val.txt.*also listed"):
        load_samples(_config(**_folder_source(root)), "val")
    (root / "train.txt").write_text("a\nb\n")
    write_labels(root / "labels" / "b.tif", np.zeros((5, 5), np.uint16))
    with pytest.raises(InputError, match="b.tif.*does not match"):
        load_samples(_config(**_folder_source(root)), "train")
    with pytest.raises(InputError, match="nowhere"):
        load_samples(_config(kind="folder", images=str(tmp_path / "nowhere"),
                             labels=str(root / "labels")), "all")


def test_config_errors(folder):
    root, _ = folder
    with pytest.raises(ConfigError, match="do not apply"):
        _config(**_folder_source(root), ranges={"train": [0, 2]})
    with pytest.raises(ConfigError, match="needs"):
        _config(kind="ctc")
    with pytest.raises(ConfigError, match="kind"):
        _config(kind="hdf5")
    with pytest.raises(ConfigError, match="channels"):
        _config(**_folder_source(root), channels=2)
    with pytest.raises(ConfigError, match="sequence"):
        _config(**_folder_source(root), normalize="sequence")
    with pytest.raises(ConfigError, match="no source defines split 'test'"):
        load_samples(_config(**_folder_source(root)), "test")
    with pytest.raises(ConfigError, match="same number of channels"):
        from_dict(DataConfig, {"sources": [_folder_source(root, name="x"),
                                           _folder_source(root, name="y", channels=3)]})


def test_yaml_config_with_root_and_environment(folder, monkeypatch):
    root, _ = folder
    monkeypatch.setenv("MICROSEG_TEST_ROOT", str(root))
    text = yaml.safe_dump({"root": "${MICROSEG_TEST_ROOT}", "sources": [
        {"kind": "folder", "name": "mine", "images": "images", "labels": "labels",
         "split": {"method": "random", "fractions": {"train": 2, "val": 1}, "seed": 4}}]})
    (root / "data.yaml").write_text(text)
    config = from_dict(DataConfig, load_yaml(root / "data.yaml"))
    train, val = load_samples(config, "train"), load_samples(config, "val")
    assert len(train) == 2 and len(val) == 1
    assert {s.name for s in train}.isdisjoint({s.name for s in val})
    assert all(s.meta["source"] == "mine" for s in train + val)


def test_rescale_to_diameter_in_config(tmp_path):
    """One factor per source, measured on every split: big cells in train, a small one in val."""
    big, small = _labels((48, 48), [(12, 12), (34, 34)], radius=10), _labels((48, 48), [(24, 24)], 4)
    for name, labels in (("big", big), ("small", small)):
        write_image(tmp_path / "images" / f"{name}.png", _image_of(labels))
        write_labels(tmp_path / "labels" / f"{name}.tif", labels)
    (tmp_path / "train.txt").write_text("big\n")
    (tmp_path / "val.txt").write_text("small\n")
    d = 2 * np.sqrt(np.concatenate([np.bincount(a.ravel())[1:] for a in (big, small)]) / np.pi)
    expected = 10.0 / np.median(d)
    (val,) = load_samples(_config(**_folder_source(tmp_path, diameter=10.0)), "val")
    (train,) = load_samples(_config(**_folder_source(tmp_path, diameter=10.0)), "train")
    assert val.meta["scale"] == pytest.approx(expected) == train.meta["scale"]
    assert val.spatial_shape == (round(48 * expected),) * 2
    per_image = load_samples(_config(**_folder_source(tmp_path, diameter=10.0,
                                                      diameter_per_image=True)), "val")
    assert per_image[0].meta["scale"] == pytest.approx(10.0 / d[-1])
    (fixed,) = load_samples(_config(**_folder_source(tmp_path, scale=2.0)), "val")
    assert fixed.spatial_shape == (96, 96) and fixed.meta["scale"] == 2.0


def test_protoplast_layout_group_split_include_and_shared_masks(tmp_path):
    """day_t_c_xy_z file names, one mask per (day, t, xy) shared by all planes and modalities."""
    shape = (16, 16)
    for xy in (1, 2, 3, 10):
        mask = _labels(shape, [(8, 8)], radius=3 + xy % 3)
        write_labels(tmp_path / "masks" / f"day1t1xy{xy}.tif", mask)
        for c in (1, 2):
            for z in (12, 18, 24):
                write_image(tmp_path / "images" / f"day1t1c{c}xy{xy}z{z}.png", _image_of(mask))
    source = {"kind": "folder", "images": str(tmp_path / "images"),
              "labels": str(tmp_path / "masks"), "pattern": r"day(?P<day>\d+)t(?P<t>\d+)"
              r"c(?P<c>\d+)xy(?P<xy>\d+)z(?P<z>\d+)", "label_template": "day{day}t{t}xy{xy}",
              "group_by": ["xy"], "split": {"method": "group", "fractions": {"train": 1.0},
                                            "fixed": {"test": ["xy10"]}}}
    test = load_samples(_config(**source), "test")
    train = load_samples(_config(**source), "train")
    assert len(test) == 6 and len(train) == 18
    assert {s.meta["xy"] for s in test} == {"10"} and "10" not in {s.meta["xy"] for s in train}
    assert {s.group for s in test} == {f"{tmp_path.name}/xy10"}
    for s in train:
        assert s.labels.sum() > 0 and s.meta["labels_path"].endswith(f"xy{s.meta['xy']}.tif")
    bright_field = load_samples(_config(**source, include={"c": ["1"]}), "train")
    assert len(bright_field) == 9 and {s.meta["c"] for s in bright_field} == {"1"}
    with pytest.raises(InputError, match="no item"):
        load_samples(_config(**source, include={"c": ["3"]}), "train")


# --- Cell Tracking Challenge -----------------------------------------------------------------

def _ctc_dataset(tmp_path, n_frames=5):
    """2 cells per frame; SEG on frames 1 and 3 labels only cell 1 (sparse); TRA everywhere."""
    shape = (40, 64)
    full = [_labels(shape, [(20, 16), (20, 46)], radius=7) for _ in range(n_frames)]
    images = [_image_of(m, np.uint16, high=1000 + 100 * t) for t, m in enumerate(full)]
    images[0][0, 0] = 5000  # brightest pixel of the sequence, on a frame without SEG
    seg = {t: np.where(full[t] == 1, 1, 0).astype(np.uint16) for t in (1, 3)}
    tra = {t: _labels(shape, [(20, 16), (20, 46)], radius=2) for t in range(n_frames)}
    seq_dir = write_ctc_sequence(tmp_path / "Fluo-Test", 1, images, seg=seg, tra=tra)
    return seq_dir, images, full


def test_ctc_frame_ranges_sparse_ignore_and_sequence_normalisation(tmp_path):
    seq_dir, images, full = _ctc_dataset(tmp_path)
    source = {"kind": "ctc", "sequences": [str(seq_dir)], "ranges": {"train": [0, 3],
                                                                    "val": [3, 5]},
              "normalize": "sequence"}
    (train,) = load_samples(_config(**source), "train")
    (val,) = load_samples(_config(**source), "val")
    assert train.meta["frame"] == 1 and val.meta["frame"] == 3
    assert train.name == "Fluo-Test/01/t001" and train.group == "Fluo-Test/01"
    assert train.meta["truth"] == "gold"
    # the cell with SEG is kept, the cell with only a TRA marker is ignored
    assert set(np.unique(train.labels)) == {0, 1}
    assert train.ignore[full[1] == 2].all()
    assert not train.ignore[full[1] == 1].any()
    # per-sequence min/max: frame 0's bright pixel sets the maximum for every frame
    low = min(int(im.min()) for im in images)
    expected = (images[1].astype(np.float32) - low) / (5000 - low)
    np.testing.assert_allclose(train.image[0], expected, rtol=1e-6)
    assert train.image.max() < 0.5
    no_ignore = load_samples(_config(**source, ignore_unannotated=False), "train")[0]
    assert no_ignore.ignore is None


def test_ctc_gold_plus_silver_and_missing_folders(tmp_path):
    seq_dir, images, full = _ctc_dataset(tmp_path)
    write_ctc_sequence(tmp_path / "Fluo-Test", 1, images, seg={2: full[2], 3: full[3]},
                       gt_folder="ST")
    both = load_samples(_config(kind="ctc", sequences=[str(seq_dir)], gt="gold+silver"), "all")
    assert [(s.meta["frame"], s.meta["truth"]) for s in both] == [(1, "gold"), (2, "silver"),
                                                                  (3, "gold")]
    silver = load_samples(_config(kind="ctc", sequences=[str(seq_dir)], gt="silver"), "all")
    assert [s.meta["frame"] for s in silver] == [2, 3]
    assert silver[0].ignore is None  # dense silver truth: every TRA marker overlaps an object
    with pytest.raises(InputError, match="02"):
        load_samples(_config(kind="ctc", sequences=[str(tmp_path / "Fluo-Test" / "02")]), "all")
    (tmp_path / "other" / "01").mkdir(parents=True)
    write_image(tmp_path / "other" / "01" / "t000.tif", images[0])
    with pytest.raises(InputError, match="01_GT"):
        load_samples(_config(kind="ctc", sequences=[str(tmp_path / "other" / "01")]), "all")


def test_ctc_empty_range_is_an_error(tmp_path):
    seq_dir, _, _ = _ctc_dataset(tmp_path)
    config = _config(kind="ctc", sequences=[str(seq_dir)], ranges={"train": [0, 2],
                                                                   "val": [4, 5]})
    with pytest.raises(InputError, match="'val'.*empty"):
        load_samples(config, "val")


def test_ctc_3d_slice_form_and_full_volume(tmp_path):
    shape = (6, 24, 24)
    volume = np.zeros(shape, np.uint16)
    volume[1:4, 4:10, 4:10] = 1
    volume[2:5, 14:20, 12:20] = 2
    images = [((volume > 0) * 100 + RNG.integers(0, 10, shape)).astype(np.uint8)
              for _ in range(2)]
    seq_dir = write_ctc_sequence(tmp_path / "Fluo-3D", 1, images,
                                 seg_slices={0: {2: volume[2], 3: volume[3]}},
                                 tra={0: volume, 1: volume})
    slices = load_samples(_config(kind="ctc", sequences=[str(seq_dir)]), "all")
    assert [s.meta["z"] for s in slices] == [2, 3]
    assert all(s.image.shape == (1, 24, 24) for s in slices)
    np.testing.assert_array_equal(slices[1].labels, volume[3])
    assert slices[0].name.endswith("t000_z002")

    seq_dir = write_ctc_sequence(tmp_path / "Fluo-3Dfull", 1, images, seg={1: volume})
    per_slice = load_samples(_config(kind="ctc", sequences=[str(seq_dir)]), "all")
    assert [s.meta["z"] for s in per_slice] == [1, 2, 3, 4]  # slices holding objects
    (whole,) = load_samples(_config(kind="ctc", sequences=[str(seq_dir)], ndim=3), "all")
    assert whole.image.shape == (1, *shape)
    np.testing.assert_array_equal(whole.labels, volume)


def test_ctc_split_by_sequence(tmp_path):
    seqs = []
    for n in (1, 2, 3):
        images = [_image_of(_labels((20, 20), [(10, 10)]))] * 2
        seqs.append(str(write_ctc_sequence(tmp_path / "DS", n, images,
                                           seg={0: _labels((20, 20), [(10, 10)])})))
    source = {"kind": "ctc", "sequences": seqs,
              "split": {"fractions": {"train": 1.0}, "fixed": {"val": ["02"]}}}
    train, val = load_samples(_config(**source), "train"), load_samples(_config(**source), "val")
    assert {s.meta["sequence"][-2:] for s in train} == {"01", "03"}
    assert [s.group for s in val] == ["DS/02"]


# --- COCO and ISBI ---------------------------------------------------------------------------

def test_coco_split_by_json(tmp_path):
    named = {}
    for i in range(3):
        labels = _labels((30, 36), [(8, 8), (20, 24)][: i % 2 + 1])
        write_image(tmp_path / "imgs" / f"A172_{i}.tif", _image_of(labels))
        named[f"A172_{i}.tif"] = labels
    write_coco(tmp_path / "train.json", labels_to_coco({k: named[k] for k in list(named)[:2]}))
    write_coco(tmp_path / "val.json", labels_to_coco({k: named[k] for k in list(named)[2:]}))
    source = {"kind": "coco", "annotations": {"train": str(tmp_path / "train.json"),
                                              "val": str(tmp_path / "val.json")},
              "image_root": str(tmp_path / "imgs"), "pattern": r"(?P<cell_type>[A-Za-z0-9]+)_"}
    train, val = load_samples(_config(**source), "train"), load_samples(_config(**source), "val")
    assert [s.name for s in train] == [f"{tmp_path.name}/A172_0", f"{tmp_path.name}/A172_1"]
    assert len(val) == 1 and val[0].meta["cell_type"] == "A172"
    for s in train + val:
        original = named[s.meta["file_name"]]
        assert s.image.shape == (1, 30, 36)
        np.testing.assert_array_equal(s.labels > 0, original > 0)
        assert len(np.unique(s.labels)) == len(np.unique(original))


def test_isbi_slice_ranges_and_connected_components(tmp_path):
    tmp_path = tmp_path / "em2012" / "train"   # the source is named after "em2012"
    membranes = []
    for z in range(20):
        membrane = np.full((24, 24), 255, np.uint8)
        membrane[:, 8 + z % 4] = 0           # vertical membrane
        membrane[12, :] = 0                  # horizontal membrane → 4 cells
        membrane[2:4, 2:4] = 0 if z % 2 else 255
        membranes.append(membrane)
        write_image(tmp_path / "images" / f"{z:02d}.png", _image_of(membrane // 255))
        write_image(tmp_path / "labels" / f"{z:02d}.png", membrane)
    source = {"kind": "isbi", "images": str(tmp_path / "images"),
              "labels": str(tmp_path / "labels"), "ranges": {"train": [0, 15], "val": [15, 20]},
              "normalize": "sequence"}
    train, val = load_samples(_config(**source), "train"), load_samples(_config(**source), "val")
    assert len(train) == 15 and len(val) == 5
    assert [s.meta["slice"] for s in val] == [15, 16, 17, 18, 19]
    assert val[0].name == "em2012/z15" and val[0].meta["source"] == "em2012"
    for s in train + val:
        membrane = membranes[s.meta["slice"]]
        expected, count = ndimage.label(membrane == 255)
        assert len(np.unique(s.labels)) - 1 == count == 4
        np.testing.assert_array_equal(s.labels > 0, membrane == 255)
        assert 0.0 <= s.image.min() and s.image.max() <= 1.0
    assert max(s.image.max() for s in train + val) == pytest.approx(1.0)
