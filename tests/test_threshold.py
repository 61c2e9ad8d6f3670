"""The front end's threshold chosen from how many blobs the labels ask for."""

from __future__ import annotations

import numpy as np

from cvcaptcha import CaptchaRecognizer
from cvcaptcha.threshold import AUTO_THRESHOLDS, choose_threshold, count_agreement_scores

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
    chosen, agreement = choose_threshold(images, lengths, PARAMS)
    assert chosen == "triangle" and set(agreement) == set(AUTO_THRESHOLDS)


def test_otsu_stays_where_both_count_alike() -> None:
    images, lengths = _captchas(pale=False)
    chosen, agreement = choose_threshold(images, lengths, PARAMS)
    assert chosen == "otsu" and agreement["otsu"] == agreement["triangle"] == 1.0


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
