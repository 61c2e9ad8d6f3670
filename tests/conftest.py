"""Shared fixtures: small synthetic captcha sets that exist anywhere; the Kaggle set if present."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from types import ModuleType

import pytest

from cvcaptcha.synth import generate

#: Cheap recognizer settings for tests whose point is not accuracy.
FAST = {"segmenter": "equal", "features": "ink", "clean": "none", "classifier": "logistic"}


def kaggle_path() -> Path | None:
    """The Kaggle v2 folder from ``CVCAPTCHA_DATA`` or ``../shared`` beside the repo, if present."""
    env = os.environ.get("CVCAPTCHA_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(shared_path("kaggle-captcha-v2"))
    return next((p for p in candidates if p.is_dir()), None)


def shared_path(name: str) -> Path:
    """Where the shared dataset ``name`` lies when ``../shared`` is beside the repo."""
    return Path(__file__).resolve().parents[2] / "shared/datasets" / name


def load_benchmark(name: str) -> ModuleType:
    """A script of ``benchmarks/`` (not a package) loaded as a module, to call its ``main``."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_bench", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``--config`` file of the cheap :data:`FAST` recipe."""
    path = tmp_path_factory.mktemp("cfg") / "fast.json"
    path.write_text(json.dumps(FAST))
    return path


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 synthetic 4-character captchas over a small alphabet."""
    out = tmp_path_factory.mktemp("synth") / "train"
    generate(out, 120, length=4, alphabet="abcdef23", seed=3)
    return out


@pytest.fixture(scope="session")
def synth_test_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 more captchas of the same family, for evaluation."""
    out = tmp_path_factory.mktemp("synth") / "test"
    generate(out, 40, length=4, alphabet="abcdef23", seed=4)
    return out


@pytest.fixture(scope="session")
def mixed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """120 synthetic captchas of 3 to 5 characters (a family of several lengths)."""
    out = tmp_path_factory.mktemp("mixed") / "train"
    generate(out, 120, length="3-5", alphabet="abcdef23", seed=5)
    return out


@pytest.fixture(scope="session")
def mixed_test_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """45 more captchas of the mixed family, for evaluation."""
    out = tmp_path_factory.mktemp("mixed") / "test"
    generate(out, 45, length="3-5", alphabet="abcdef23", seed=6)
    return out


@pytest.fixture(scope="session")
def mixed_model(mixed_dir: Path):
    """The window recipe (one moved copy per character) fitted on the mixed family."""
    from cvcaptcha import CaptchaRecognizer, load_dataset

    data = load_dataset(mixed_dir)
    return CaptchaRecognizer(segmenter="window", features="ink", clean="none", augment=1).fit(
        data.images, data.labels
    )


@pytest.fixture(scope="session")
def fast_model(synth_dir: Path):
    """A cheap recognizer fitted on the synthetic set."""
    from cvcaptcha import CaptchaRecognizer, load_dataset

    data = load_dataset(synth_dir)
    return CaptchaRecognizer(**FAST).fit(data.images, data.labels)


@pytest.fixture(scope="session")
def fitted(synth_dir: Path):
    """The default window recipe (recentring, four nets) fitted on 80 synthetic
    captchas, one moved copy per character: shared by the tests of the reading
    stages (never modify it; copy it first)."""
    from cvcaptcha import CaptchaRecognizer, load_dataset

    data = load_dataset(synth_dir)
    return CaptchaRecognizer(
        segmenter="window", features="ink", clean="none", align_rounds=1, augment=1
    ).fit(data.images[:80], data.labels[:80])


@pytest.fixture(scope="session")
def synth_preps(fitted, synth_test_dir: Path) -> list:
    """The first 20 test captchas prepared by the ``fitted`` model's front end."""
    from cvcaptcha import load_dataset
    from cvcaptcha.prepare import prepare_all

    return prepare_all(load_dataset(synth_test_dir).images[:20], fitted.front_params())
