"""Self-training: the threshold rule, the rounds, and fit(unlabelled=...)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cvcaptcha import CaptchaRecognizer, load_dataset
from cvcaptcha.selftrain import choose_threshold, self_train


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

    def fit(labelled: np.ndarray, pseudo: np.ndarray, texts: list[str]) -> int:
        assert all(t == truth[i] for i, t in zip(pseudo, texts))  # only right reads kept here
        fits.append((len(labelled), len(pseudo)))
        return len(fits)  # the model: its round number

    def read(model: int, labelled: np.ndarray, pseudo: np.ndarray):
        # round r reads labelled captchas at 0.55, and unlabelled captcha i at 0.6 for
        # the first 10 * r of them (0.1 otherwise); always rightly
        texts = [labels[i] for i in labelled] + [truth[i] for i in pseudo]
        conf = [0.55] * len(labelled) + [0.6 if i < 10 * model else 0.1 for i in pseudo]
        return texts, np.array(conf)

    kept, texts, rounds = self_train(20, 30, labels, fit, read, rounds=3, precision=0.95)
    assert fits == [(15, 0), (15, 10), (15, 20)]  # a quarter of the labels held out
    assert [r.added for r in rounds] == [10, 20, 30]
    assert kept.tolist() == list(range(30)) and texts == truth
    assert rounds[0].trained_on == 15 and rounds[2].trained_on == 35
    assert all(r.held_out_precision == 1.0 and r.threshold == 0.55 for r in rounds)


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
    assert all(r["held_out_kept"] == 1.0 for r in training["rounds"])  # all held out pass
