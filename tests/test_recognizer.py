"""The recognizer as a scikit-learn estimator, on small synthetic sets."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from cvcaptcha import CaptchaRecognizer, Prediction, auto, load_dataset, load_model, save_model
from cvcaptcha import clean as cleaners
from cvcaptcha.auto import (
    AUTO_CLEANERS,
    AUTO_FEATURES,
    AUTO_SEGMENTERS,
    BLOB_FEATURES,
    BLOB_SEGMENTERS,
)
from cvcaptcha.errors import ConfigError, LabelError
from cvcaptcha.evaluation import evaluate
from cvcaptcha.length import count_agreement
from cvcaptcha.locate import locate
from cvcaptcha.segment import segmenter_name

from .conftest import FAST


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


def test_fit_rejects_labels_it_cannot_learn() -> None:
    img = np.full((30, 60), 255, np.uint8)
    with pytest.raises(LabelError, match="outside lengths"):
        CaptchaRecognizer(lengths="2").fit([img, img], ["ab", "abc"])
    with pytest.raises(LabelError, match="empty"):
        CaptchaRecognizer().fit([img, img], ["ab", ""])
    with pytest.raises(LabelError):
        CaptchaRecognizer().fit([img, img], ["aa", "aa"])
    with pytest.raises(ConfigError, match="lengths"):
        CaptchaRecognizer(lengths="four").fit([img, img], ["ab", "abc"])


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
    rec = CaptchaRecognizer(
        segmenter=segmenter, features="ink", clean="none", classifier="logistic"
    )
    rec.fit(data.images[:40], data.labels[:40])
    assert rec.fit_summary_["align_rounds"] == 0
    assert rec.score(data.images[:40], data.labels[:40]) >= 0.0


def test_memory_caches_the_front_end_without_changing_results(
    synth_dir: Path, tmp_path: Path
) -> None:
    data = load_dataset(synth_dir)
    images, labels = data.images[:40], data.labels[:40]
    plain = CaptchaRecognizer(
        segmenter="window", features="ink", align_rounds=0, classifier="logistic"
    )
    plain.fit(images, labels)
    cached = clone(plain).set_params(memory=str(tmp_path / "c"))
    cached.fit(images, labels)
    assert any((tmp_path / "c").rglob("output.pkl"))
    assert cached.predict(images[:10]) == plain.predict(images[:10])
    again = clone(cached).set_params(classifier__C=0.5).fit(images, labels)  # cache hit
    assert len(again.predict(images[:5])) == 5


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


def test_segmenter_params_reach_the_strategy_and_the_model_file(
    synth_dir: Path, tmp_path: Path
) -> None:
    data = load_dataset(synth_dir)
    rec = CaptchaRecognizer(
        segmenter="window", segmenter_params={"window": {"pitch_weight": 3.0}},
        features="ink", augment=0, classifier="logistic",
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
    rec = CaptchaRecognizer(height=30, features="ink", clean="none", align_rounds=0)
    rec.fit(data.images[:30], data.labels[:30])
    width = data.images[0].shape[1]
    assert rec.image_shape_ == data.images[0].shape
    cuts = rec.predict_details(data.images[:5])[0].cuts
    assert cuts.max() <= width + 1 and cuts.max() > 0.5 * width


def test_auto_segmenter_keeps_the_default_unless_another_reads_clearly_more(
    synth_dir: Path,
) -> None:
    data = load_dataset(synth_dir)
    rec = CaptchaRecognizer(augment=0, classifier="logistic").fit(data.images, data.labels)
    summary = rec.fit_summary_
    scores = summary["auto_captcha_accuracy"]
    assert list(scores) == list(AUTO_SEGMENTERS)
    assert all(0.0 <= v <= 1.0 for v in scores.values())
    chars = summary["auto_char_accuracy"]
    assert list(chars) == list(AUTO_SEGMENTERS) and all(0.0 <= v <= 1.0 for v in chars.values())
    # the first candidate stays unless another reads clearly more characters
    assert summary["segmenter"] == AUTO_SEGMENTERS[0] or (
        chars[summary["segmenter"]] > chars[AUTO_SEGMENTERS[0]]
    )
    assert segmenter_name(rec.segmenter_) == summary["segmenter"]
    assert rec.get_params()["segmenter"] == "auto"  # the parameter is left as given
    # then the reader's input, with the chosen segmenter; its first trial is the one above
    inputs = summary["auto_features_char_accuracy"]
    tried = [*AUTO_FEATURES, *(BLOB_FEATURES if summary["segmenter"] in BLOB_SEGMENTERS else ())]
    assert list(inputs) == tried
    assert inputs[AUTO_FEATURES[0]] == chars[summary["segmenter"]]
    assert rec.features_ == summary["features"] in tried
    assert summary["features"] == AUTO_FEATURES[0] or (
        inputs[summary["features"]] > inputs[AUTO_FEATURES[0]]
    )
    width = rec.char_features(data.images[:1])[0].shape[1]
    assert width == rec.classifier_.n_features_in_  # the reader reads the chosen input
    # last the cleaner, with both; "none" is the recipe just chosen, not tried again
    cleaners = summary["auto_clean_char_accuracy"]
    assert list(cleaners)[0] == AUTO_CLEANERS[0] == "none"
    assert set(cleaners) <= set(AUTO_CLEANERS) and "thin" in cleaners
    assert cleaners["none"] == inputs[summary["features"]]
    assert rec.clean_ == summary["clean"] == rec.front_params()["clean"]
    assert summary["clean"] == "none" or cleaners[summary["clean"]] > cleaners["none"]


def test_a_cleaner_is_tried_on_captchas_it_prepares_itself_and_kept_only_if_it_reads_more(
    synth_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = load_dataset(synth_dir)
    blank = lambda gray: np.full_like(gray, 255)  # noqa: E731 - a cleaner that wipes the text
    monkeypatch.setitem(cleaners.CLEANERS, "blank", blank)
    monkeypatch.setattr(auto, "AUTO_CLEANERS", ("none", "blank"))
    rec = CaptchaRecognizer(**{**FAST, "clean": "auto"}).fit(data.images, data.labels)
    chars = rec.fit_summary_["auto_clean_char_accuracy"]
    assert list(chars) == ["none", "blank"]
    assert chars["blank"] < chars["none"]  # its trial read wiped captchas
    assert rec.clean_ == rec.fit_summary_["clean"] == "none"
    forced = CaptchaRecognizer(**{**FAST, "clean": "blank"})
    ink = forced._prepare(data.images[:1], "x")[0].ink
    assert not ink.any()  # a named cleaner is the front end's first step
    assert "auto_clean_char_accuracy" not in forced.fit(
        data.images[:40], data.labels[:40]).fit_summary_  # named: nothing to choose
    assert forced.clean_ == "blank"


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
    rec = CaptchaRecognizer(segmenter="window", features="ink", clean="none", augment=1)
    rec.fit(images, labels)  # nothing chosen: no trial fits a reader
    assert len(seen) == 2  # the default: aligned by the locator, then recentred by the reader
    span = rec.segmenter_.recentre_span * rec.segmenter_.char_width_ + 2
    shifts = [np.abs(a.mean(axis=1) - b.mean(axis=1)).max() for a, b in zip(*seen)]
    assert 0 < max(shifts) <= span
    seen.clear()
    still = {"window": {"recentre_span": 0.0}}
    CaptchaRecognizer(
        segmenter="window", features="ink", clean="none", augment=1, segmenter_params=still
    ).fit(images, labels)
    assert len(seen) == 1  # no recentring: the reader is trained once


def test_reading_is_locate_then_moved_reads_then_the_locator_vote(
    fitted: CaptchaRecognizer, synth_preps: list
) -> None:
    """The estimator's reading composes the stages' public pieces, nothing more."""
    locator, reader = fitted._locator(), fitted._reader()
    tables = [locator.table(p.hog) for p in synth_preps]
    found = locate(
        fitted.segmenter_, synth_preps, fitted.n_chars_, tables, locator, reader,
        fitted.locator_weight,
    )
    for (cuts, proba, status, share), (c, s, centred), prep, table in zip(
        fitted._read(synth_preps), found, synth_preps, tables
    ):
        assert share == 1.0  # a family of one length
        np.testing.assert_array_equal(cuts, c)
        assert status == s
        alone = reader.moved([prep], [c], centred[None].copy())[0]
        np.testing.assert_allclose(
            proba, locator.vote(alone, table, c, fitted.locator_weight), atol=1e-6
        )
    texts = fitted._texts(synth_preps)
    assert texts == ["".join(fitted.alphabet_[i] for i in p.argmax(axis=1))
                     for _, p, _, _ in fitted._read(synth_preps)]



def test_a_family_of_several_lengths_reads_each_captchas_length(
    mixed_model: CaptchaRecognizer, mixed_test_dir: Path
) -> None:
    data = load_dataset(mixed_test_dir)
    assert mixed_model.lengths_ == (3, 4, 5)
    assert mixed_model.n_chars_ in (3, 4, 5)
    found = mixed_model.predict_details(data.images)
    right_length = np.mean([len(p.text) == len(t) for p, t in zip(found, data.labels)])
    assert right_length > 0.8
    assert {len(p.text) for p in found} == {3, 4, 5}
    assert np.mean([p.text == t for p, t in zip(found, data.labels)]) > 0.3
    for p in found:
        assert len(p.char_confidences) == len(p.text) == len(p.cuts)
        assert 0 < p.length_confidence <= 1
        assert p.confidence == pytest.approx(math.prod(p.char_confidences) * p.length_confidence)
    wrong = [p.length_confidence for p, t in zip(found, data.labels) if len(p.text) != len(t)]
    right = [p.length_confidence for p, t in zip(found, data.labels) if len(p.text) == len(t)]
    if wrong:  # a wrong length looks less sure than a right one
        assert np.mean(wrong) < np.mean(right)
    mixed_model.check_labels(["abc", "abcde"])
    with pytest.raises(LabelError, match="reads 3, 4, 5"):
        mixed_model.check_labels(["abcdef"])


def test_the_count_components_find_witnesses_each_captchas_length(
    mixed_model: CaptchaRecognizer, mixed_dir: Path, mixed_test_dir: Path
) -> None:
    assert mixed_model.count_agreement_ is None  # the window strategy counts nothing
    data, test = load_dataset(mixed_dir), load_dataset(mixed_test_dir)
    rec = CaptchaRecognizer(segmenter="components", features="ink", clean="none", augment=0,
                            classifier="logistic").fit(data.images, data.labels)
    counts = [rec.segmenter_.count(p.mask) for p in rec._prepare(data.images, "")]
    assert rec.count_agreement_ == count_agreement(counts, [len(t) for t in data.labels])
    assert 0 < rec.count_agreement_ < 1

    def right_length() -> float:
        return np.mean([len(p) == len(t) for p, t in zip(rec.predict(test.images), test.labels)])

    with_count = right_length()
    rec.count_agreement_ = None  # the prior and the reads alone
    assert with_count >= right_length()


def test_lengths_parameter_lets_a_model_read_lengths_training_did_not_show(
    mixed_dir: Path, mixed_test_dir: Path
) -> None:
    data = load_dataset(mixed_dir)
    keep = [i for i, t in enumerate(data.labels) if len(t) != 5]
    images, labels = [data.images[i] for i in keep], [data.labels[i] for i in keep]
    model = CaptchaRecognizer(**FAST, lengths="3-5").fit(images, labels)
    assert model.lengths_ == (3, 4, 5)
    test = load_dataset(mixed_test_dir)
    fives = [img for img, t in zip(test.images, test.labels) if len(t) == 5]
    assert np.mean([len(p) == 5 for p in model.predict(fives)]) > 0.5
    learned = CaptchaRecognizer(**FAST).fit(images, labels)
    assert learned.lengths_ == (3, 4)
    assert {len(p) for p in learned.predict(fives)} <= {3, 4}


def test_band_auto_crops_a_family_drawn_small_in_a_tall_canvas(synth_dir: Path) -> None:
    data = load_dataset(synth_dir)
    images, labels = data.images[:60], data.labels[:60]
    tall = [np.pad(img, ((2 * img.shape[0], 2 * img.shape[0]), (0, 0)), constant_values=255)
            for img in images]
    plain = CaptchaRecognizer(**FAST).fit(images, labels)
    cropped = CaptchaRecognizer(**FAST).fit(tall, labels)
    assert plain.band_ is False and cropped.band_ is True
    assert cropped.front_params()["band"] is True
    assert cropped.score(tall, labels) > 0.5
    # cuts are columns of the image as given, cropped or not
    np.testing.assert_allclose(
        cropped.predict_details(tall[:3])[0].cuts, cropped.predict_details(images[:3])[0].cuts,
        atol=3,
    )
    assert CaptchaRecognizer(**FAST, band=False).fit(tall, labels).band_ is False


def test_windows_of_a_spaced_family_are_sized_by_the_glyph(synth_dir: Path) -> None:
    rng = np.random.default_rng(0)
    labels = ["".join(rng.choice(list("abcd"), 4)) for _ in range(40)]
    images = []
    for label in labels:  # narrow glyphs (a bar of the letter's height) far apart
        img = np.full((40, 140), 255, np.uint8)
        for k, c in enumerate(label):
            img[30 - 5 * "abcd".index(c) - 8:32, 12 + 32 * k:18 + 32 * k] = 0
        images.append(img)
    spaced = CaptchaRecognizer(**FAST).fit(images, labels)
    assert 0 < spaced.glyph_width_ < 0.5 * spaced._char_width()
    assert spaced._window_width() == spaced.glyph_width_
    data = load_dataset(synth_dir)
    touching = CaptchaRecognizer(**FAST).fit(data.images[:60], data.labels[:60])
    assert touching.glyph_width_ == 0.0 and touching._window_width() == touching._char_width()


def test_a_rare_length_is_still_read(mixed_dir: Path, mixed_test_dir: Path) -> None:
    """Three captchas of length 5 among many of 3 and 4: the length prior, a
    regression on the captcha's geometry, still gives it its place."""
    data = load_dataset(mixed_dir)
    fives = [i for i, t in enumerate(data.labels) if len(t) == 5]
    keep = [i for i, t in enumerate(data.labels) if len(t) != 5] + fives[:3]
    model = CaptchaRecognizer(**FAST).fit(
        [data.images[i] for i in keep], [data.labels[i] for i in keep]
    )
    assert model.lengths_ == (3, 4, 5)
    test = load_dataset(mixed_test_dir)
    found = model.predict([img for img, t in zip(test.images, test.labels) if len(t) == 5])
    assert np.mean([len(p) == 5 for p in found]) > 0.5


def test_ignore_case_trains_and_scores_case_folded(synth_dir: Path, synth_test_dir: Path) -> None:
    data, test = load_dataset(synth_dir), load_dataset(synth_test_dir)
    rng = np.random.default_rng(0)

    def shout(labels: list[str]) -> list[str]:  # the same texts, some letters upper-cased
        return ["".join(c.upper() if rng.random() < 0.5 else c for c in t) for t in labels]

    folded = CaptchaRecognizer(**FAST, ignore_case=True).fit(data.images, shout(data.labels))
    assert folded.alphabet_ == "23abcdef"
    assert folded.score(test.images, shout(test.labels)) == folded.score(test.images, test.labels)
    right = folded.score(test.images, test.labels)
    assert evaluate(folded, test.images, shout(test.labels))["captcha_accuracy"] == right > 0
    sensitive = CaptchaRecognizer(**FAST).fit(data.images, shout(data.labels))
    assert set("ABCDEF") <= set(sensitive.alphabet_)  # case-sensitive by default
    assert sensitive.score(test.images, test.labels) < folded.score(test.images, test.labels)
