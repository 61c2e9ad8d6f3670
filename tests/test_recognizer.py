"""The recognizer as a scikit-learn estimator, on small synthetic sets."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from cvcaptcha import CaptchaRecognizer, Prediction, load_dataset, load_model, save_model
from cvcaptcha.errors import ConfigError, LabelError
from cvcaptcha.recognizer import (
    AUTO_SEGMENTERS,
    PREPARED_VERSION,
    _seen_rows,
    evaluate,
    prepare_all,
    stroke_variant,
    warp_variant,
)
from cvcaptcha.segment import segmenter_name


def test_init_only_stores_params_and_clone_keeps_nested_params() -> None:
    rec = CaptchaRecognizer(classifier="logistic", context=0.3)
    assert not [k for k in vars(rec) if k.endswith("_")]
    rec.set_params(classifier__C=3.0)
    assert rec.get_params()["classifier__C"] == 3.0
    copy = clone(rec)
    assert copy.get_params()["classifier__C"] == 3.0
    assert copy.get_params()["context"] == 0.3
    rec.set_params(classifier="mlp", classifier__alpha=0.5)
    assert rec.get_params()["classifier__alpha"] == 0.5


def test_bad_classifier_raises_config_error() -> None:
    with pytest.raises(ConfigError):
        CaptchaRecognizer(classifier=42).fit([np.zeros((20, 40), np.uint8)] * 2, ["ab", "ba"])


def test_fit_rejects_inconsistent_labels() -> None:
    img = np.full((30, 60), 255, np.uint8)
    with pytest.raises(LabelError):
        CaptchaRecognizer().fit([img, img], ["ab", "abc"])
    with pytest.raises(LabelError):
        CaptchaRecognizer().fit([img, img], ["aa", "aa"])


@pytest.fixture(scope="module")
def fitted(synth_dir: Path) -> CaptchaRecognizer:
    data = load_dataset(synth_dir)
    return CaptchaRecognizer(segmenter="window", align_rounds=1, augment=1).fit(
        data.images[:80], data.labels[:80]
    )


def test_default_recipe_learns_family_and_reads_better_than_chance(
    fitted: CaptchaRecognizer, synth_test_dir: Path
) -> None:
    assert fitted.n_chars_ == 4
    assert fitted.alphabet_ == "23abcdef"
    assert len(fitted.image_shape_) == 2
    assert fitted.fit_summary_["n_images"] == 80
    assert fitted.fit_summary_["align_rounds"] == 1
    assert fitted.classifier_.hidden_weights_.shape[1] == 4 * fitted.classifier_.hidden  # 4 nets
    # the alignment round refits the segmenter's priors on the aligned cuts
    head, head_std, tail, tail_std = fitted.segmenter_.margins_
    assert 0 < head < fitted.image_shape_[1] and head_std > 0 and tail_std > 0
    test = load_dataset(synth_test_dir)
    result = evaluate(fitted, test.images, test.labels)
    assert result["char_accuracy"] > 0.5  # chance is 1/8


def test_predict_details_returns_predictions_with_cuts(
    fitted: CaptchaRecognizer, synth_test_dir: Path
) -> None:
    test = load_dataset(synth_test_dir)
    preds = fitted.predict_details(test.images[:3])
    assert all(isinstance(p, Prediction) for p in preds)
    for p in preds:
        assert len(p.text) == 4 and set(p.text) <= set(fitted.alphabet_)
        assert p.cuts.shape == (4, 2)
        assert 0.0 <= p.confidence <= 1.0
        assert p.confidence == pytest.approx(np.prod(p.char_confidences))
    status = fitted.cut_status(test.images[:3])
    assert all(c.shape == (4, 2) and s in (True, False) for c, s in status)
    assert fitted.predict([]) == []


@pytest.mark.parametrize("segmenter", ["equal", "components"])
def test_unguided_segmenters_still_train(segmenter: str, synth_dir: Path) -> None:
    data = load_dataset(synth_dir)
    rec = CaptchaRecognizer(segmenter=segmenter, classifier="logistic")
    rec.fit(data.images[:40], data.labels[:40])
    assert rec.fit_summary_["align_rounds"] == 0
    assert rec.score(data.images[:40], data.labels[:40]) >= 0.0


def test_memory_caches_the_front_end_without_changing_results(
    synth_dir: Path, tmp_path: Path
) -> None:
    data = load_dataset(synth_dir)
    images, labels = data.images[:40], data.labels[:40]
    plain = CaptchaRecognizer(segmenter="window", align_rounds=0, classifier="logistic")
    plain.fit(images, labels)
    cached = clone(plain).set_params(memory=str(tmp_path / "c"))
    cached.fit(images, labels)
    assert any((tmp_path / "c").rglob("output.pkl"))
    assert cached.predict(images[:10]) == plain.predict(images[:10])
    again = clone(cached).set_params(classifier__C=0.5).fit(images, labels)  # cache hit
    assert len(again.predict(images[:5])) == 5


def test_front_end_cache_is_keyed_by_the_version_of_prepared_captchas(tmp_path: Path) -> None:
    from joblib import Memory

    images = [np.full((40, 120), 255, np.uint8)]
    params = CaptchaRecognizer().front_params()
    cached = Memory(tmp_path, verbose=0).cache(prepare_all)
    cached(images, params)
    assert cached.check_call_in_cache(images, params, version=PREPARED_VERSION)
    assert not cached.check_call_in_cache(images, params, version=PREPARED_VERSION - 1)


def test_char_features_feed_the_classifier(fitted: CaptchaRecognizer, synth_test_dir: Path) -> None:
    test = load_dataset(synth_test_dir)
    one_read = clone(fitted).set_params(shift_reads=0, locator_weight=0.0)  # the reader alone
    one_read.__dict__.update({k: v for k, v in vars(fitted).items() if k.endswith("_")})
    feats = one_read.char_features(test.images[:3])
    assert len(feats) == 3
    for f, text in zip(feats, one_read.predict(test.images[:3])):
        assert f.dtype == np.float32 and f.shape[0] == 4
        proba = fitted.classifier_.predict_proba(f)
        classes = fitted.classifier_.classes_
        chars = classes[classes < len(fitted.alphabet_)]
        best = chars[proba[:, classes < len(fitted.alphabet_)].argmax(axis=1)]
        assert "".join(fitted.alphabet_[i] for i in best) == text


def test_shift_reads_average_the_reader_over_windows_moved_sideways(
    fitted: CaptchaRecognizer, synth_test_dir: Path
) -> None:
    test = load_dataset(synth_test_dir).images[:10]
    width = fitted.segmenter_.char_width_
    offsets = fitted._read_offsets()
    assert len(offsets) == 2 * fitted.shift_reads + 1 and 0 in offsets
    np.testing.assert_array_equal(offsets, -offsets[::-1])
    assert abs(offsets).max() == round(fitted.shift_span * width)
    one_read = clone(fitted).set_params(shift_reads=0)
    one_read.__dict__.update({k: v for k, v in vars(fitted).items() if k.endswith("_")})
    assert list(one_read._read_offsets()) == [0]
    many = [p.char_confidences for p in fitted.predict_details(test)]
    one = [p.char_confidences for p in one_read.predict_details(test)]
    assert not np.allclose(many, one)  # the moved reads count



@pytest.mark.parametrize("below", [0.0, 0.95, 1.01])
def test_moved_reads_are_taken_only_for_characters_read_less_surely_than_shift_below(
    fitted: CaptchaRecognizer, synth_test_dir: Path, below: float
) -> None:
    preps = fitted._prepare(load_dataset(synth_test_dir).images[:10], "test")
    cuts = [c for c, _ in fitted._segment(preps)]
    model = clone(fitted).set_params(shift_below=below)
    model.__dict__.update({k: v for k, v in vars(fitted).items() if k.endswith("_")})
    offsets = fitted._read_offsets()
    weak_seen = sure_seen = 0
    for prep, c, got in zip(preps, cuts, model._reads(preps, cuts)):
        reads = [
            fitted._class_proba(fitted._features(prep, np.clip(c + o, 0, prep.mask.shape[1])))
            for o in offsets
        ]
        centred, averaged = reads[list(offsets).index(0)], np.mean(reads, axis=0)
        weak = centred.max(axis=1) < below
        np.testing.assert_allclose(got[~weak], centred[~weak], atol=1e-6)
        np.testing.assert_allclose(got[weak], averaged[weak], atol=1e-6)
        weak_seen, sure_seen = weak_seen + weak.sum(), sure_seen + (~weak).sum()
    if below > 1:
        assert sure_seen == 0
    elif below == 0:
        assert weak_seen == 0
    else:
        assert weak_seen and sure_seen  # both kinds occur, so both branches were checked


def test_locator_weight_multiplies_the_reader_by_the_located_class_probabilities(
    fitted: CaptchaRecognizer, synth_test_dir: Path
) -> None:
    preps = fitted._prepare(load_dataset(synth_test_dir).images[:10], "test")
    reader_only = clone(fitted).set_params(locator_weight=0.0)
    reader_only.__dict__.update({k: v for k, v in vars(fitted).items() if k.endswith("_")})
    tables = fitted._tables(preps)
    changed = 0
    for prep, table, (cuts, proba, _) in zip(preps, tables, fitted._read(preps)):
        alone = reader_only._reads([prep], [cuts])[0]  # the reader alone at the same cuts
        rows = fitted._starts(cuts, 0.2, len(table) - 1)
        located = table[rows] / table[rows].sum(axis=1, keepdims=True)
        expected = alone * located ** fitted.locator_weight
        np.testing.assert_allclose(proba, expected / expected.sum(axis=1, keepdims=True), atol=1e-6)
        changed += not np.allclose(proba, alone)
    assert changed  # the locator's vote moves the probabilities
    assert fitted._with_locator(alone, None, cuts) is alone  # no locator: the reader alone


@pytest.mark.parametrize("kind", ["strokes", "warps"])
def test_augmented_copies_are_cut_in_the_given_share_from_variants_of_the_captcha(
    fitted: CaptchaRecognizer, synth_test_dir: Path, kind: str
) -> None:
    preps = fitted._prepare(load_dataset(synth_test_dir).images[:20], "test")
    cuts = [c for c, _ in fitted._segment(preps)]
    targets = np.zeros((len(preps), fitted.n_chars_), int)

    def build(share: float) -> np.ndarray:
        rng = np.random.default_rng(0)
        return fitted._training_set(
            preps, cuts, targets, rng, fitted._features, 4, reject=False, **{kind: share}
        )[0]

    # every window the captchas' own ink can give, at any position
    every = np.arange(preps[0].ink.shape[1] + 1)
    own = {
        r.tobytes() for p in preps
        for r in fitted._features(p, np.stack([every, every], axis=1))
    }

    def from_variants(X: np.ndarray) -> float:
        return float(np.mean([r.tobytes() not in own for r in X]))

    plain, mixed = build(0.0), build(0.5)
    assert plain.shape == mixed.shape  # as many copies, some cut from variants
    assert from_variants(plain) == 0.0
    assert from_variants(mixed) == pytest.approx(0.5 * 4 / 5, abs=0.1)  # half the moved copies


def test_variants_change_the_strokes_and_keep_the_geometry(fitted: CaptchaRecognizer) -> None:
    image = np.full((40, 120), 255, np.uint8)
    image[10:30, 20:24] = 0
    image[10:30, 60:64] = 0
    prep = fitted._prepare([image], "test")[0]
    params = fitted.front_params()
    thick, thin = stroke_variant(prep, params, 1), stroke_variant(prep, params, -1)
    assert thick.ink.sum() > prep.ink.sum() > thin.ink.sum()
    assert thick.hog.shape == prep.hog.shape and not np.allclose(thick.hog, prep.hog)
    same = warp_variant(prep, params, 0.0, 1.0)
    np.testing.assert_allclose(same.ink, prep.ink, atol=1e-6)
    turned = warp_variant(prep, params, 90.0, 1.0)
    assert turned.ink.shape == prep.ink.shape and set(np.unique(turned.mask)) <= {0, 1}
    assert not np.allclose(turned.ink, prep.ink)


def test_segmenter_params_reach_the_strategy_and_the_model_file(
    synth_dir: Path, tmp_path: Path
) -> None:
    data = load_dataset(synth_dir)
    rec = CaptchaRecognizer(
        segmenter="window", segmenter_params={"window": {"pitch_weight": 3.0}},
        augment=0, classifier="logistic",
    ).fit(data.images[:40], data.labels[:40])
    assert rec.segmenter_.pitch_weight == 3.0
    assert clone(rec).get_params()["segmenter_params"] == {"window": {"pitch_weight": 3.0}}
    loaded = load_model(save_model(rec, tmp_path / "m.cvc"))
    assert loaded.segmenter_.pitch_weight == 3.0
    assert loaded.predict(data.images[40:45]) == rec.predict(data.images[40:45])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"window": {"nope": 1.0}}, "no parameter nope"),
        ({"bogus": {}}, "unknown segmenter"),
        ({"window": 3.0}, "parameter dicts"),
    ],
)
def test_bad_segmenter_params_are_refused_before_any_work(params: dict, message: str) -> None:
    image = np.full((30, 60), 255, np.uint8)
    with pytest.raises(ConfigError, match=message):
        CaptchaRecognizer(segmenter_params=params).fit([image, image], ["ab", "ba"])


def test_height_rescales_and_cuts_come_back_in_original_pixels(synth_dir: Path) -> None:
    data = load_dataset(synth_dir)
    rec = CaptchaRecognizer(height=30, align_rounds=0).fit(data.images[:30], data.labels[:30])
    width = data.images[0].shape[1]
    assert rec.image_shape_ == data.images[0].shape
    cuts = rec.predict_details(data.images[:5])[0].cuts
    assert cuts.max() <= width + 1 and cuts.max() > 0.5 * width


def test_auto_segmenter_keeps_the_candidate_reading_more_held_out_captchas(
    synth_dir: Path,
) -> None:
    data = load_dataset(synth_dir)
    rec = CaptchaRecognizer(augment=0, classifier="logistic").fit(data.images, data.labels)
    summary = rec.fit_summary_
    scores = summary["auto_captcha_accuracy"]
    assert list(scores) == list(AUTO_SEGMENTERS)
    assert all(0.0 <= v <= 1.0 for v in scores.values())
    assert summary["segmenter"] == max(scores, key=scores.get)
    assert segmenter_name(rec.segmenter_) == summary["segmenter"]
    assert rec.get_params()["segmenter"] == "auto"  # the parameter is left as given


def test_guided_reading_recentres_unsure_captchas_with_the_reader(
    fitted: CaptchaRecognizer, synth_test_dir: Path
) -> None:
    preps = fitted._prepare(load_dataset(synth_test_dir).images[:20], "test")
    tables = fitted._tables(preps)
    seg = fitted.segmenter_
    assert seg.recentres  # the default recentres
    for below in (0.0, fitted.shift_below, 1.01):
        model = copy.deepcopy(fitted).set_params(shift_below=below)
        recentred = moved = 0
        for prep, table, (cuts, _) in zip(preps, tables, model._segment(preps, tables)):
            located = seg.cut(prep.mask, fitted.n_chars_, fitted._scorer(table))
            centred = model._class_proba(model._features(prep, located))
            unsure = centred.max(axis=1).min() < below
            expected = (
                seg.recentre(prep.mask, located, model._reader_scorer(prep, table))
                if unsure
                else located
            )
            np.testing.assert_array_equal(cuts, expected)
            recentred += unsure
            moved += not np.array_equal(cuts, located)
        if below == 0.0:
            assert recentred == 0  # every captcha keeps the locator's path
        if below > 1:
            assert recentred == len(preps) and moved  # off the locator's coarse grid
        # the reads of the recentred windows are the recentring's own, not read again,
        # and a character still unsure is read at moved windows as well
        for (cuts, proba, _), table, prep in zip(model._read(preps), tables, preps):
            alone = model._reads([prep], [cuts])[0]
            np.testing.assert_allclose(proba, model._with_locator(alone, table, cuts), atol=1e-5)
    still = copy.deepcopy(fitted)
    still.segmenter_.recentre_span = 0.0
    assert not still.segmenter_.recentres
    for prep, table, (cuts, _) in zip(preps, tables, still._segment(preps, tables)):
        located = seg.cut(prep.mask, fitted.n_chars_, fitted._scorer(table))
        np.testing.assert_array_equal(cuts, located)  # no recentring: the locator's path


def test_recentring_reads_only_the_windows_not_read_yet(
    fitted: CaptchaRecognizer, synth_test_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prep = fitted._prepare(load_dataset(synth_test_dir).images[:1], "test")[0]
    table = fitted._tables([prep])[0]
    seg = fitted.segmenter_
    located = seg.cut(prep.mask, fitted.n_chars_, fitted._scorer(table))
    centred = fitted._class_proba(fitted._features(prep, located))
    rows: list[int] = []
    class_proba = CaptchaRecognizer._class_proba

    def spy(self: CaptchaRecognizer, X: np.ndarray) -> np.ndarray:
        rows.append(len(X))
        return class_proba(self, X)

    monkeypatch.setattr(CaptchaRecognizer, "_class_proba", spy)
    known = {"intervals": located, "proba": centred}
    fresh: dict[str, np.ndarray] = {}
    reused = seg.recentre(prep.mask, located, fitted._reader_scorer(prep, table, None, known))
    alone = seg.recentre(prep.mask, located, fitted._reader_scorer(prep, table, None, fresh))
    np.testing.assert_array_equal(reused, alone)
    np.testing.assert_array_equal(known["intervals"], fresh["intervals"])
    np.testing.assert_allclose(known["proba"], fresh["proba"], atol=1e-5)
    matched = int((_seen_rows(fresh["intervals"], located) >= 0).sum())
    assert matched and rows == [len(fresh["intervals"]) - matched, len(fresh["intervals"])]


def test_fit_retrains_the_reader_on_cuts_recentred_by_forced_alignment(
    synth_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[np.ndarray]] = []
    fit_reader = CaptchaRecognizer._fit_reader

    def spy(self: CaptchaRecognizer, preps: list, cuts: list, *args: object) -> None:
        seen.append([c.copy() for c in cuts])
        fit_reader(self, preps, cuts, *args)

    monkeypatch.setattr(CaptchaRecognizer, "_fit_reader", spy)
    data = load_dataset(synth_dir)
    images, labels = data.images[:40], data.labels[:40]
    rec = CaptchaRecognizer(segmenter="window", augment=1).fit(images, labels)
    assert len(seen) == 2  # the default: aligned by the locator, then recentred by the reader
    span = rec.segmenter_.recentre_span * rec.segmenter_.char_width_ + 2
    shifts = [np.abs(a.mean(axis=1) - b.mean(axis=1)).max() for a, b in zip(*seen)]
    assert 0 < max(shifts) <= span
    seen.clear()
    still = {"window": {"recentre_span": 0.0}}
    CaptchaRecognizer(segmenter="window", augment=1, segmenter_params=still).fit(images, labels)
    assert len(seen) == 1  # no recentring: the reader is trained once
