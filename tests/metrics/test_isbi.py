import math

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.metrics import adapted_rand_error, variation_of_information

from microseg.errors import InputError
from microseg.metrics import combine_rand_info, vrand_vinfo, vrand_vinfo_thinned
from microseg.metrics.isbi import thinned_segmentation


def _singletons(gt, pred):
    """Give every predicted-boundary pixel inside a GT object its own id (the ISBI convention)."""
    out = pred.astype(np.int64).copy()
    lone = (pred == 0) & (gt > 0)
    out[lone] = out.max() + 1 + np.arange(np.count_nonzero(lone))
    return out


def _skimage_reference(gt, pred):
    """V_rand and V_info rebuilt from scikit-image's scores.

    ``adapted_rand_error`` counts pixel pairs without replacement (Σ n² − N), the challenge
    normalises by N², so the N²-normalised sums are recovered from three calls: X = Σ n_ij²,
    A = Σ t_i², B = Σ s_j² (counts), V_rand = 2X / (A + B). ``variation_of_information`` gives
    conditional entropies; the marginal ones come from comparisons with a one-segment image.
    """
    fg = gt > 0
    n = np.count_nonzero(fg)
    p = _singletons(gt, pred)
    _, prec, rec = adapted_rand_error(gt, p)                       # (X−N)/(A−N), (X−N)/(B−N)
    _, _, rec_one = adapted_rand_error(gt, np.ones_like(gt))       # (A−N)/(N²−N)
    a = n + rec_one * (n * n - n)
    x = n + prec * (a - n)
    b = n + (x - n) / rec
    v_rand = 2 * x / (a + b)
    h_pred_given_gt, h_gt_given_pred = variation_of_information(gt, p, ignore_labels=(0,))
    h_gt = variation_of_information(gt, np.ones_like(gt), ignore_labels=(0,))[1]
    h_pred = variation_of_information(fg.astype(np.int64), p, ignore_labels=(0,))[0]
    info = h_gt - h_gt_given_pred
    return v_rand, 2 * info / (h_gt + h_pred), info / h_pred, info / h_gt


@pytest.mark.parametrize("shape", [(48, 64), (10, 24, 30)])
@pytest.mark.parametrize("seed", [0, 1])
def test_equals_scikit_image_with_boundary_pixels_as_singletons(label_pair, shape, seed):
    gt, pred = label_pair(seed, shape=shape)
    assert np.any((pred == 0) & (gt > 0))     # the singleton rule is exercised
    v_rand, v_info, info_split, info_merge = _skimage_reference(gt, pred)
    r = vrand_vinfo(gt, pred)
    assert r.v_rand == pytest.approx(v_rand, abs=1e-9)
    assert r.v_info == pytest.approx(v_info, abs=1e-9)
    assert r.info_split == pytest.approx(info_split, abs=1e-9)
    assert r.info_merge == pytest.approx(info_merge, abs=1e-9)
    assert r.v_rand == pytest.approx(2 / (1 / r.rand_split + 1 / r.rand_merge))


def test_background_of_gt_is_ignored_and_perfect_scores_one(label_pair):
    gt, pred = label_pair(3)
    r = vrand_vinfo(gt, gt)
    assert r.v_rand == r.v_info == 1.0
    noisy = pred.copy()
    noisy[gt == 0] = 999          # whatever the prediction does on GT membrane is not counted
    perfect_inside = np.where(gt > 0, gt, noisy)
    assert vrand_vinfo(gt, perfect_inside).v_rand == pytest.approx(1.0)


def test_hand_computed_split():
    gt = np.array([[1, 1, 1, 1, 0, 2, 2, 2, 2]])
    pred = np.array([[3, 3, 4, 4, 0, 5, 5, 5, 5]])
    # Σt² = 32, Σs² = 4 + 4 + 16 = 24, Σp² = 24 (counts; N² cancels)
    r = vrand_vinfo(gt, pred)
    assert r.v_rand == pytest.approx(48 / 56)
    assert (r.rand_split, r.rand_merge) == (pytest.approx(24 / 32), 1.0)
    h_t, h_s = math.log(2), 1.5 * math.log(2)  # S is a refinement of T: I = H(T)
    assert r.v_info == pytest.approx(2 * h_t / (h_t + h_s))


def test_per_slice_mean_and_empty_foreground():
    gt = np.zeros((2, 4, 4), np.uint8)
    gt[:, :, :2], gt[:, :, 2:] = 1, 2
    pred = gt.copy()
    pred[1] = 7                   # slice 1 merges both cells
    per_slice = vrand_vinfo(gt, pred, per_slice=True)
    expected = combine_rand_info([vrand_vinfo(gt[0], pred[0]), vrand_vinfo(gt[1], pred[1])])
    assert per_slice == expected and per_slice.v_rand == pytest.approx((1 + 2 / 3) / 2)
    assert math.isnan(vrand_vinfo(np.zeros((3, 3), np.uint8), np.ones((3, 3), np.uint8)).v_rand)


# --- thinned scores on a membrane probability map ---------------------------------------------

def _grid(size=64, step=16, width=3):
    """Binary membrane grid and its GT cells (4-connected regions between the lines)."""
    membrane = np.zeros((size, size), bool)
    for k in range(step, size, step):
        membrane[k - width // 2:k + width // 2 + 1, :] = True
        membrane[:, k - width // 2:k + width // 2 + 1] = True
    gt, _ = ndi.label(~membrane)
    return membrane, gt


def test_thinned_scores_are_perfect_for_exact_membranes():
    membrane, gt = _grid()
    scores = vrand_vinfo_thinned(membrane.astype(float), gt)
    assert scores.best_v_rand == pytest.approx(1.0) and scores.best_v_info == pytest.approx(1.0)


def test_thinning_forgives_thick_boundaries():
    membrane, gt = _grid()
    thick = ndi.binary_dilation(membrane, iterations=2)       # 7 px wide instead of 3
    unthinned, _ = ndi.label(~thick)
    assert vrand_vinfo(gt, unthinned).v_rand < 0.9
    assert vrand_vinfo_thinned(thick.astype(float), gt).best_v_rand == pytest.approx(1.0)


def test_gap_in_membrane_scores_as_a_merge():
    membrane, gt = _grid()
    prob = membrane.astype(float)
    prob[:15, 15:18] = 0.0        # open the wall between the first two cells of the top row
    a, b = np.sum(gt == gt[5, 5]), np.sum(gt == gt[5, 25])
    sizes = np.bincount(gt.ravel())[1:]
    sum_t2 = float(sizes @ sizes)
    t = sizes / sizes.sum()
    merged = np.r_[np.delete(sizes, [gt[5, 5] - 1, gt[5, 25] - 1]), a + b] / sizes.sum()
    h_t, h_s = -(t * np.log(t)).sum(), -(merged * np.log(merged)).sum()
    scores = vrand_vinfo_thinned(prob, gt, thresholds=[0.5])
    # Σs² = Σt² + 2ab and Σp² = Σt², so V_rand = Σt² / (Σt² + ab); S coarser than T: I = H(S)
    assert scores.v_rand[0] == pytest.approx(sum_t2 / (sum_t2 + a * b))
    assert scores.v_info[0] == pytest.approx(2 * h_s / (h_s + h_t))


def test_best_over_thresholds_and_stacks():
    membrane, gt = _grid()
    prob = np.where(membrane, 0.6, 0.1)
    scores = vrand_vinfo_thinned(prob, gt, thresholds=[0.05, 0.5, 0.7])
    assert scores.best_threshold_rand == 0.5 and scores.v_rand[1] == pytest.approx(1.0)
    assert scores.v_rand[0] < 1 and scores.v_rand[2] < 1     # all membrane / no membrane
    stack = vrand_vinfo_thinned(np.stack([prob, prob]), np.stack([gt, gt]), thresholds=[0.5])
    assert stack.v_rand[0] == pytest.approx(1.0)


def test_thinned_segmentation_keeps_separating_lines_only():
    membrane, gt = _grid()
    thick = ndi.binary_dilation(membrane, iterations=2)
    assert np.all((thinned_segmentation(thick) == 0) <= membrane)  # centred in thick walls
    thick[40:43, 5:9] = True                  # an isolated speck inside a cell
    thick[20:23, 26:29] = True                # a spur attached to a wall
    labels = thinned_segmentation(thick)
    lines = labels == 0
    assert np.all(lines <= thick)             # lines lie inside the predicted membrane
    assert labels.max() == gt.max()           # same cells: speck and spur separate nothing
    assert not lines[40:43, 5:9].any() and not lines[20:23, 26:29].any()
    # no two different regions touch (4-neighbours), so the lines separate them
    for a, b in ((labels[1:], labels[:-1]), (labels[:, 1:], labels[:, :-1])):
        assert not np.any((a > 0) & (b > 0) & (a != b))
    assert np.array_equal(thinned_segmentation(np.zeros((5, 5), bool)), np.ones((5, 5)))


def test_thinned_input_checks():
    membrane, gt = _grid()
    with pytest.raises(InputError, match="shape"):
        vrand_vinfo_thinned(membrane[:10].astype(float), gt)
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        vrand_vinfo_thinned(membrane * 2.0, gt)
