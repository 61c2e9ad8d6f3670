from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from cvcaptcha import CaptchaRecognizer, load_dataset, save_model
from cvcaptcha.cli import main
from cvcaptcha.errors import ConfigError, ModelFileError

pytest.importorskip("skl2onnx")
pytest.importorskip("onnxruntime")

from cvcaptcha.export import (  # noqa: E402
    OnnxClassifier,
    classifier_to_onnx,
    export_onnx,
    load_onnx,
    sidecar_path,
)

#: Recognizers exported in the agreement tests, on cheap segmentation: the
#: CappedPCA + temperature-calibrated SVM reader, the same with sigmoid
#: calibration, logistic (on glyph crops), a tiny XGBoost and a small TinyMLP (the default's kind).
READERS = {
    "svm": {"segmenter": "equal", "augment": 1, "classifier": "svm"},
    "svm-sigmoid": {
        "segmenter": "equal", "augment": 1, "classifier": "svm",
        "classifier__svm__method": "sigmoid",
    },
    "logistic": {  # reading glyph crops: the sidecar's recipe rebuilds them
        "segmenter": "components", "features": "glyph", "clean": "none", "classifier": "logistic",
    },
    "tinymlp": {  # reading ink and HOG: the wider input exports alike
        "segmenter": "equal", "features": "inkhog", "classifier": "tinymlp",
        "classifier__hidden": 32,
        "classifier__max_iter": 50,
    },
    "xgboost": {
        "segmenter": "equal", "augment": 0, "classifier": "xgboost",
        "classifier__n_estimators": 5, "classifier__max_depth": 2,
    },
}


@pytest.fixture(scope="module")
def test_images(synth_test_dir: Path) -> list[np.ndarray]:
    return load_dataset(synth_test_dir).images


@pytest.fixture(scope="module", params=list(READERS))
def exported(
    request: pytest.FixtureRequest, synth_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[CaptchaRecognizer, Path]:
    """A fitted recognizer of each reader kind and its ONNX export."""
    if request.param == "xgboost":
        pytest.importorskip("onnxmltools")
    data = load_dataset(synth_dir)
    model = CaptchaRecognizer(features="ink", clean="none").set_params(**READERS[request.param])
    model.fit(data.images, data.labels)
    path = tmp_path_factory.mktemp("onnx") / f"{request.param}.onnx"
    export_onnx(model, path)
    return model, path


def test_onnx_probabilities_agree_with_native(exported, test_images) -> None:
    model, path = exported
    loaded = load_onnx(path, threads=1)
    assert isinstance(loaded.classifier_, OnnxClassifier)
    X = np.concatenate(model.char_features(test_images))
    native = model.classifier_.predict_proba(X)
    onnx = loaded.classifier_.predict_proba(X)
    assert onnx.shape == native.shape
    np.testing.assert_allclose(onnx, native, atol=1e-4)
    np.testing.assert_array_equal(onnx.argmax(axis=1), native.argmax(axis=1))
    np.testing.assert_array_equal(loaded.classifier_.classes_, model.classifier_.classes_)


def _temperature_svc(
    n_classes: int, ensemble: bool = False
) -> tuple[CalibratedClassifierCV, np.ndarray]:
    """A temperature-scaled SVC on overlapping blobs, and its training rows.

    The labels are 0..k-1, as the recognizer trains every classifier:
    scikit-learn 1.9's temperature scaling passes integer labels to its loss
    unencoded, so labels such as 0, 3, 6 index past the logits' columns and
    the fit reads stray memory (it failed now and then with a NaN loss).
    """
    rng = np.random.default_rng(n_classes)
    y = np.arange(150) % n_classes
    X = (rng.normal(size=(150, 5)) + y[:, None] / 3).astype(np.float32)
    svc = CalibratedClassifierCV(SVC(), method="temperature", cv=3, ensemble=ensemble)
    return svc.fit(X, y), X


@pytest.mark.parametrize("n_classes", [2, 5])
def test_temperature_scaled_svc_agrees_with_native(n_classes: int) -> None:
    """Bare (not in a pipeline), binary (logits ``(-d, d)``) and multiclass."""
    import onnxruntime as ort

    svc, X = _temperature_svc(n_classes)
    onx = classifier_to_onnx(svc, X.shape[1])
    assert "Softmax" in {node.op_type for node in onx.graph.node}
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    label, proba = session.run(["label", "probabilities"], {"X": X})
    native = svc.predict_proba(X)
    np.testing.assert_allclose(proba, native, atol=1e-5)
    np.testing.assert_array_equal(label, svc.classes_[native.argmax(axis=1)])


def test_temperature_scaled_ensemble_is_refused() -> None:
    svc, X = _temperature_svc(3, ensemble=True)
    with pytest.raises(ConfigError, match="ensemble=True"):
        classifier_to_onnx(svc, X.shape[1])


def test_loaded_onnx_reads_like_the_native_model(exported, test_images) -> None:
    model, path = exported
    loaded = load_onnx(path, threads=1)
    assert loaded.predict(test_images) == model.predict(test_images)
    assert loaded.alphabet_ == model.alphabet_ and loaded.n_chars_ == model.n_chars_
    assert loaded.get_params(deep=False)["segmenter"] == model.segmenter


def test_sidecar_holds_the_pipeline(exported) -> None:
    model, path = exported
    side = json.loads(sidecar_path(path).read_text())
    assert side["format"] == "cvcaptcha-onnx" and side["cvcaptcha_version"]
    assert side["onnx"]["file"] == path.name
    assert side["onnx"]["classes"] == [int(c) for c in model.classifier_.classes_]
    assert side["model"]["fitted"]["alphabet_"] == model.alphabet_
    assert side["model"]["params"]["height"] == model.height
    assert all({"dtype", "shape", "data"} == set(a) for a in side["arrays"].values())


def test_guided_model_round_trips_locator(
    synth_dir: Path, test_images, tmp_path: Path
) -> None:
    """The window segmenter needs the locator arrays from the sidecar."""
    data = load_dataset(synth_dir)
    model = CaptchaRecognizer(
        segmenter="window", features="ink", clean="none", classifier="logistic", augment=1,
        align_rounds=0,
    )
    model.fit(data.images[:60], data.labels[:60])
    path, _ = export_onnx(model, tmp_path / "w.onnx")
    loaded = load_onnx(path)
    # stored at half precision, read back as float32
    np.testing.assert_allclose(loaded.locator_coef_, model.locator_coef_, rtol=1e-3, atol=1e-4)
    assert loaded.locator_coef_.dtype == model.locator_coef_.dtype
    assert loaded.predict(test_images[:10]) == model.predict(test_images[:10])


def test_export_refuses_to_overwrite_and_unconvertible(fast_model, tmp_path: Path) -> None:
    path, side = export_onnx(fast_model, tmp_path / "m.onnx")
    with pytest.raises(ModelFileError, match="exists"):
        export_onnx(fast_model, path)
    export_onnx(fast_model, path, overwrite=True)

    class Custom(LogisticRegression):  # no ONNX converter is registered for it
        pass

    odd = copy.copy(fast_model)
    odd.classifier_ = Custom().fit(np.eye(3), [0, 1, 2])
    with pytest.raises(ConfigError, match="cannot convert classifier Custom"):
        export_onnx(odd, tmp_path / "odd.onnx")
    assert not (tmp_path / "odd.onnx").exists() and not sidecar_path(tmp_path / "odd.onnx").exists()
    with pytest.raises(ModelFileError, match="not fitted"):
        export_onnx(CaptchaRecognizer(), tmp_path / "unfitted.onnx")


def test_load_refuses_missing_and_mismatched_sidecar(fast_model, tmp_path: Path) -> None:
    path, side = export_onnx(fast_model, tmp_path / "m.onnx")
    other, _ = export_onnx(fast_model, tmp_path / "other.onnx")
    meta = json.loads(side.read_text())
    meta["onnx"]["sha256"] = "0" * 64
    side.write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="SHA-256"):
        load_onnx(path)
    side.unlink()
    with pytest.raises(ModelFileError, match="no such sidecar"):
        load_onnx(path)
    with pytest.raises(ModelFileError, match="no such ONNX file"):
        load_onnx(tmp_path / "gone.onnx")
    sidecar_path(other).write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ModelFileError, match="wrong format tag"):
        load_onnx(other)


# -- command line ---------------------------------------------------------------
@pytest.fixture(scope="module")
def model_file(fast_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_model(fast_model, tmp_path_factory.mktemp("model") / "m.model")


def test_cli_export_writes_both_files_and_refuses_to_overwrite(
    model_file: Path, fast_model, test_images, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "sub" / "m.onnx"
    assert main(["export", str(model_file), "--onnx", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and str(sidecar_path(out)) in printed and "KiB" in printed
    assert load_onnx(out).predict(test_images[:5]) == fast_model.predict(test_images[:5])
    before = out.read_bytes()
    assert main(["export", str(model_file), "--onnx", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cvcaptcha: error:") and "--force" in err and err.count("\n") == 1
    assert out.read_bytes() == before
    assert main(["export", str(model_file), "--onnx", str(out), "--force"]) == 0
    assert not [p for p in out.parent.iterdir() if p.name.endswith(".tmp")]


def test_cli_export_bad_model_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["export", str(tmp_path / "gone.model"), "--onnx", str(tmp_path / "x.onnx")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cvcaptcha: error:") and "no such model file" in err
    assert err.count("\n") == 1 and not (tmp_path / "x.onnx").exists()


@pytest.mark.parametrize("missing", ["onnxruntime", "skl2onnx"])
def test_cli_export_names_the_extra_when_missing(
    missing: str, model_file: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)
    assert main(["export", str(model_file), "--onnx", str(tmp_path / "x.onnx")]) == 1
    err = capsys.readouterr().err
    assert f"export needs {missing}" in err and "pip install 'cvcaptcha[onnx]'" in err
    assert err.count("\n") == 1


def test_a_family_of_several_lengths_reads_the_same_from_onnx(
    mixed_model: CaptchaRecognizer, mixed_test_dir: Path, tmp_path: Path
) -> None:
    """The sidecar carries the length prior: the ONNX model reads every length alike."""
    images = load_dataset(mixed_test_dir).images[:15]
    path, side = export_onnx(mixed_model, tmp_path / "mixed.onnx")
    loaded = load_onnx(path, threads=1)
    assert tuple(loaded.lengths_) == (3, 4, 5)
    np.testing.assert_allclose(loaded.length_coef_, mixed_model.length_coef_)
    before, after = mixed_model.predict_details(images), loaded.predict_details(images)
    assert [p.text for p in after] == [p.text for p in before]
    assert len({len(p.text) for p in after}) > 1
