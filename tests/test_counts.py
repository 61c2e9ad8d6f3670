"""The front end's threshold and lead cleaner chosen from how many blobs the labels ask for."""

from __future__ import annotations

import numpy as np
import pytest

from cvcaptcha import CaptchaRecognizer, load_dataset
from cvcaptcha.counts import AUTO_THRESHOLDS, choose_front, count_agreement_scores
from cvcaptcha.io import read_image

from .conftest import shared_path

PARAMS = dict(height=40, clean="none", band=False, open_frac=0.0, speck_frac=0.002,
              line_frac=0.07, hog_orientations=9, hog_cell=4, hog_block=2)


def _captchas(pale: bool, n: int = 30) -> tuple[list[np.ndarray], list[int]]:
    """Captchas of 2-4 bars; with ``pale``, every other bar light grey and a
    dark stroke across the top, which puts Otsu's split between the two inks."""
    rng = np.random.default_rng(0)
    images, lengths = [], []
    for _ in range(n):
        k = int(rng.integers(2, 5))
        img = np.full((40, 160), 255, np.uint8)
        for j in range(k):
            img[10:30, 15 + 35 * j:27 + 35 * j] = 200 if pale and j % 2 else 30
        if pale:
            img[3:5, 5:150] = 0
        images.append(img)
        lengths.append(k)
    return images, lengths


def test_the_triangle_threshold_wins_where_otsu_loses_pale_glyphs() -> None:
    images, lengths = _captchas(pale=True)
    scores = count_agreement_scores(images, lengths, PARAMS)
    assert scores["triangle"]["agreement"] > scores["otsu"]["agreement"]
    chosen = choose_front(images, lengths, PARAMS, clean="none")
    assert chosen["threshold"] == "triangle"
    assert set(chosen["threshold_agreement"]) == set(AUTO_THRESHOLDS)
    assert chosen["clean_lead"] == "none" and "clean_agreement" not in chosen


def test_otsu_stays_where_both_count_alike() -> None:
    images, lengths = _captchas(pale=False)
    chosen = choose_front(images, lengths, PARAMS)
    assert chosen["threshold"] == "otsu"
    assert chosen["threshold_agreement"] == {"otsu": 1.0, "triangle": 1.0}
    assert chosen["clean_lead"] == "none"  # no cleaner counts better than none


@pytest.mark.skipif(not shared_path("generic-varlen").is_dir(), reason="needs ../shared")
def test_a_family_of_pale_glyphs_and_thin_scratches_takes_triangle_and_thin() -> None:
    """generic-varlen's coloured glyphs (some pale) crossed by hairlines: Otsu loses the pale
    glyphs, and the hairlines join glyphs until a thin-stroke cleaner takes them out."""
    data = load_dataset(shared_path("generic-varlen"))
    params = dict(PARAMS, band=True)
    grays = [read_image(img) for img in data.images[:300]]
    chosen = choose_front(grays, [len(t) for t in data.labels[:300]], params)
    agree = chosen["clean_agreement"]
    assert chosen["threshold"] == "triangle" and chosen["clean_lead"] == "thin"
    assert agree["thin"] > agree["none"] == chosen["threshold_agreement"]["triangle"]


def test_the_recognizer_records_and_uses_the_chosen_threshold() -> None:
    images, lengths = _captchas(pale=True, n=40)
    labels = ["abcd"[:k] for k in lengths]
    rec = CaptchaRecognizer(segmenter="components", features="ink", clean="none", augment=0,
                            classifier="logistic").fit(images, labels)
    assert rec.threshold_ == "triangle" == rec.fit_summary_["threshold"]
    assert rec.front_params()["threshold"] == "triangle"
    assert rec.fit_summary_["auto_threshold_agreement"]["triangle"] == 1.0
    fixed = CaptchaRecognizer(threshold="otsu", segmenter="components", features="ink",
                              clean="none", augment=0, classifier="logistic").fit(images, labels)
    assert fixed.threshold_ == "otsu" and "auto_threshold_agreement" not in fixed.fit_summary_
