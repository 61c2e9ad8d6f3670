"""Self-training: the threshold rule, the rounds, and fit(unlabelled=...)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cvcaptcha import CaptchaRecognizer, load_dataset
from cvcaptcha.selftrain import Intake, choose_threshold, self_train


def test_threshold_is_the_lowest_confidence_keeping_the_precision() -> None:
    conf = np.array([0.99, 0.97, 0.9, 0.9, 0.7, 0.6])
    right = np.array([1, 1, 1, 1, 0, 0])
    assert choose_threshold(conf, right, 0.95) == 0.9
    assert choose_threshold(conf, right, 0.7) == 0.7  # 4 of 5 right down to 0.7, 4 of 6 below
    assert choose_threshold(conf, right, 0.6) == 0.6
    assert choose_threshold(conf, np.array([0, 1, 1, 1, 1, 1]), 0.95) == 1.0  # none qualifies
    # ties are kept or left together: 0.9 holds one wrong read, so the cut stays above it
    assert choose_threshold(conf, np.array([1, 1, 1, 0, 1, 1]), 0.95) == 0.97
    assert choose_threshold(conf, right, 0.5, floor=0.8) == 0.9  # never below a floor


def test_rounds_keep_what_each_model_reads_surely_and_reread_everything() -> None:
    labels = [f"{i:03d}" for i in range(20)]
    truth = [f"u{i:02d}" for i in range(30)]
    fits: list[tuple[int, int]] = []

    def fit(labelled: np.ndarray, intake: Intake) -> int:
        assert all(t == truth[i] for i, t in zip(intake.kept, intake.texts))  # only right reads
        fits.append((len(labelled), len(intake.kept)))
        return (len(fits) + 1) // 2  # the model: its round number (two fits a round)

    def read(model: int, labelled: np.ndarray, pseudo: np.ndarray):
        # round r reads labelled captchas at 0.55, and unlabelled captcha i at 0.6 for
        # the first 10 * r of them (0.1 otherwise); always rightly
        texts = [labels[i] for i in labelled] + [truth[i] for i in pseudo]
        conf = [0.55] * len(labelled) + [0.6 if i < 10 * model else 0.1 for i in pseudo]
        chars = [np.full(3, c) for c in conf]
        return texts, np.array(conf), chars, [None] * len(texts)

    intake, rounds = self_train(
        20, 30, labels, fit, read, rounds=3, precision=0.95, char_precision=None
    )
    # a quarter of the labels held out to choose the threshold; every label to read
    assert fits == [(15, 0), (20, 0), (15, 10), (20, 10), (15, 20), (20, 20)]
    assert [r.added for r in rounds] == [10, 20, 30]
    assert intake.kept.tolist() == list(range(30)) and intake.texts == truth
    assert rounds[0].trained_on == 15 and rounds[2].trained_on == 35
    assert all(r.held_out_precision == 1.0 and r.threshold == 0.55 for r in rounds)
    assert intake.n_chars == 0 and all(r.chars_added == 0 for r in rounds)


def test_rounds_take_the_sure_characters_of_captchas_not_kept_whole() -> None:
    labels = [f"{i:03d}" for i in range(20)]
    truth = [f"u{i:02d}" for i in range(10)]
    taken: list[Intake] = []

    def fit(labelled: np.ndarray, intake: Intake) -> int:
        taken.append(intake)
        return len(taken)

    def read(model: int, labelled: np.ndarray, pseudo: np.ndarray):
        # held-out labelled reads: whole captchas unsure (0.5), their first two
        # characters sure and right (0.99), the last unsure and wrong (0.4); unlabelled
        # captchas 0-2 read surely whole, the others like the held-out ones
        held = [labels[i][:2] + "x" for i in labelled]
        texts = held + [truth[i] for i in pseudo]
        conf = [0.5] * len(labelled) + [0.9 if i < 3 else 0.5 for i in pseudo]
        chars = [np.array([0.99, 0.99, 0.4])] * len(texts)
        cuts = [np.arange(6).reshape(3, 2) + 10 * k for k in range(len(texts))]
        return texts, np.array(conf), chars, cuts

    intake, rounds = self_train(20, 10, labels, fit, read, rounds=2, char_precision=0.99)
    assert taken[0].n_chars == 0  # the first round knows nothing yet
    assert rounds[0].threshold == 1.0 and rounds[0].char_threshold == 0.99
    assert intake.kept.tolist() == []  # no held-out captcha is right whole: none kept
    assert intake.partial.tolist() == list(range(10))
    assert all(m.tolist() == [True, True, False] for m in intake.sure)
    assert intake.partial_texts == truth and intake.n_chars == 20
    assert rounds[1].chars_added == 20 and taken[2].n_chars == taken[3].n_chars == 20
    assert intake.partial_cuts[4].tolist() == (np.arange(6).reshape(3, 2) + 40).tolist()


@pytest.mark.parametrize("rounds", [0, 2])
def test_fit_learns_from_unlabelled_captchas(synth_dir: Path, rounds: int) -> None:
    data = load_dataset(synth_dir)
    labelled, unlabelled = slice(0, 60), slice(60, 120)
    # precision 0: every unlabelled captcha read at least as surely as the least sure
    # held-out read is kept, so some are, whatever this cheap recipe reads
    model = CaptchaRecognizer(
        segmenter="equal", features="ink", clean="none", classifier="logistic",
        self_training_rounds=rounds,
        self_training_precision=0.0,
    ).fit(data.images[labelled], data.labels[labelled], unlabelled=data.images[unlabelled])
    summary = model.fit_summary_
    if not rounds:
        assert "self_training" not in summary and summary["n_images"] == 60
        return
    training = summary["self_training"]
    assert training["n_labelled"] == 60 and training["n_unlabelled"] == 60
    assert len(training["rounds"]) == 2 and training["rounds"][-1]["added"] == training["added"]
    assert 0 < training["added"] <= 60 and summary["n_images"] == 60 + training["added"]
    assert all(0.0 < r["threshold"] <= 1.0 for r in training["rounds"])
    assert training["chars_added"] == training["rounds"][-1]["chars_added"] >= 0
    assert all(r["held_out_kept"] == 1.0 for r in training["rounds"])  # all held out pass


def test_fit_gives_the_reader_sure_characters_of_unsure_captchas(synth_dir: Path) -> None:
    data = load_dataset(synth_dir)
    labelled, unlabelled = slice(0, 60), slice(60, 120)

    def fitted(char_precision: float | None) -> CaptchaRecognizer:
        return CaptchaRecognizer(
            segmenter="equal", features="ink", clean="none", classifier="logistic",
            self_training_rounds=1, self_training_precision=1.0,
            self_training_char_precision=char_precision,
        ).fit(data.images[labelled], data.labels[labelled], unlabelled=data.images[unlabelled])

    # precision 0 for characters: every character read at least as surely as the
    # least sure held-out character, in every captcha not kept whole, is taken
    every = fitted(0.0).fit_summary_["self_training"]
    added = every["added"]
    assert 0 < every["chars_added"] <= 4 * (60 - added)
    assert every["rounds"][0]["char_threshold"] < 1.0
    none = fitted(None).fit_summary_["self_training"]
    assert none["chars_added"] == 0 and none["added"] == added
