"""The prepared captcha: front end, HOG map, cache key and training variants."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cvcaptcha import CaptchaRecognizer
from cvcaptcha.prepare import (
    PREPARED_VERSION,
    prepare,
    prepare_all,
    stroke_variant,
    warp_variant,
)


def test_prepare_scales_to_the_working_height_and_remembers_the_original_size() -> None:
    params = CaptchaRecognizer(height=40).front_params()
    image = np.full((50, 200), 255, np.uint8)
    image[10:40, 20:30] = 0
    prep = prepare(image, params)
    assert prep.mask.shape == prep.ink.shape == (40, 160)
    assert prep.scale == 0.8 and prep.original_shape == (50, 200)
    assert prep.mask[20, 20] == 1 and prep.mask[20, 100] == 0  # the bar is ink, the rest is not
    assert len(prep.hog) > 0 and prep.hog.dtype == np.float32
    same = prepare(image, CaptchaRecognizer(height=0).front_params())
    assert same.mask.shape == (50, 200) and same.scale == 1.0  # 0: original size


def test_front_end_cache_is_keyed_by_the_version_of_prepared_captchas(tmp_path: Path) -> None:
    from joblib import Memory

    images = [np.full((40, 120), 255, np.uint8)]
    params = CaptchaRecognizer().front_params()
    cached = Memory(tmp_path, verbose=0).cache(prepare_all)
    cached(images, params)
    assert cached.check_call_in_cache(images, params, version=PREPARED_VERSION)
    assert not cached.check_call_in_cache(images, params, version=PREPARED_VERSION - 1)


def test_variants_change_the_strokes_and_keep_the_geometry() -> None:
    image = np.full((40, 120), 255, np.uint8)
    image[10:30, 20:24] = 0
    image[10:30, 60:64] = 0
    params = CaptchaRecognizer().front_params()
    prep = prepare(image, params)
    thick, thin = stroke_variant(prep, params, 1), stroke_variant(prep, params, -1)
    assert thick.ink.sum() > prep.ink.sum() > thin.ink.sum()
    assert thick.hog.shape == prep.hog.shape and not np.allclose(thick.hog, prep.hog)
    same = warp_variant(prep, params, 0.0, 1.0)
    np.testing.assert_allclose(same.ink, prep.ink, atol=1e-6)
    turned = warp_variant(prep, params, 90.0, 1.0)
    assert turned.ink.shape == prep.ink.shape and set(np.unique(turned.mask)) <= {0, 1}
    assert not np.allclose(turned.ink, prep.ink)
