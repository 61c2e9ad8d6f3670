from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from cvcaptcha import CaptchaRecognizer, load_dataset, load_model, save_model
from cvcaptcha.errors import ModelFileError
from cvcaptcha.persist import FORMAT_VERSION, model_bytes, model_from_state, model_state

from .conftest import FAST

MARKER: list[str] = []


class Evil:
    """Anything that runs code while being loaded would append to MARKER."""

    def __reduce__(self):
        return (MARKER.append, ("pwned",))

    def __setstate__(self, state):
        MARKER.append("pwned")


def _rewrite(model_file: Path, out: Path, **members: bytes) -> Path:
    """Copy a model file, replacing the given members."""
    with zipfile.ZipFile(model_file) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, members.pop(name, src.read(name)))
        for name, data in members.items():
            dst.writestr(name, data)
    return out


@pytest.fixture()
def model_file(fast_model, tmp_path: Path) -> Path:
    return save_model(fast_model, tmp_path / "m.model")


def test_round_trip_predicts_the_same(fast_model, model_file: Path, synth_test_dir: Path) -> None:
    data = load_dataset(synth_test_dir)
    loaded = load_model(model_file)
    assert loaded.predict(data.images) == fast_model.predict(data.images)
    assert loaded.alphabet_ == fast_model.alphabet_ and loaded.n_chars_ == fast_model.n_chars_
    assert loaded.get_params()["segmenter"] == "equal"
    meta = json.loads(zipfile.ZipFile(model_file).read("model.json"))
    assert meta["format_version"] == FORMAT_VERSION and meta["cvcaptcha_version"]
    assert meta["fitted"]["fit_summary_"]["n_images"] == 120


def test_round_trip_of_an_auto_segmenter_keeps_the_chosen_strategy(
    synth_dir: Path, tmp_path: Path
) -> None:
    data = load_dataset(synth_dir)
    model = CaptchaRecognizer(classifier="logistic", augment=0).fit(data.images, data.labels)
    loaded = load_model(save_model(model, tmp_path / "m.model"))
    assert type(loaded.segmenter_) is type(model.segmenter_)
    assert loaded.get_params()["segmenter"] == "auto"
    assert loaded.predict(data.images[:20]) == model.predict(data.images[:20])


@pytest.mark.parametrize("name", ["xgboost", "mlp", "tinymlp"])
def test_round_trip_other_classifiers(name: str, synth_dir: Path, tmp_path: Path) -> None:
    data = load_dataset(synth_dir)
    params = {"classifier__n_estimators": 10} if name == "xgboost" else {"classifier__max_iter": 30}
    model = CaptchaRecognizer(segmenter="equal", features="ink", clean="none", classifier=name)
    model.set_params(**params)
    model.fit(data.images[:60], data.labels[:60])
    loaded = load_model(save_model(model, tmp_path / "m.model"))
    before = model.predict_details(data.images[60:])
    after = loaded.predict_details(data.images[60:])
    assert [p.text for p in before] == [p.text for p in after]
    # the tiny MLP's weights are stored at half precision: reads move by about 1e-4
    atol = 1e-3 if name == "tinymlp" else 1e-5
    assert np.allclose([p.confidence for p in before], [p.confidence for p in after], atol=atol)


def test_save_refuses_to_overwrite(fast_model, model_file: Path) -> None:
    original = model_file.read_bytes()
    with pytest.raises(ModelFileError, match="exists"):
        save_model(fast_model, model_file)
    assert model_file.read_bytes() == original
    save_model(fast_model, model_file, overwrite=True)


def test_failed_save_keeps_the_old_file(model_file: Path) -> None:
    original = model_file.read_bytes()
    with pytest.raises(ModelFileError):
        save_model(CaptchaRecognizer(**FAST), model_file, overwrite=True)  # not fitted
    assert model_file.read_bytes() == original
    assert [p.name for p in model_file.parent.iterdir()] == [model_file.name]


def test_unfitted_model_cannot_be_serialised() -> None:
    with pytest.raises(ModelFileError, match="not fitted"):
        model_bytes(CaptchaRecognizer())


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps(Evil()),
        b"\x00" * 10 + bytes(range(256)),
        b"",
    ],
)
def test_hostile_bytes_are_refused(payload: bytes, tmp_path: Path) -> None:
    path = tmp_path / "evil.model"
    path.write_bytes(payload)
    with pytest.raises(ModelFileError, match="evil.model"):
        load_model(path)
    assert MARKER == []


def test_joblib_payload_is_refused(tmp_path: Path) -> None:
    import joblib

    path = tmp_path / "evil.model"
    joblib.dump(Evil(), path)
    with pytest.raises(ModelFileError):
        load_model(path)
    assert MARKER == []


def test_untrusted_type_in_classifier_is_refused(model_file: Path, tmp_path: Path) -> None:
    evil = _rewrite(model_file, tmp_path / "evil.model", **{"classifier.skops": sio.dumps(Evil())})
    with pytest.raises(ModelFileError, match="untrusted types"):
        load_model(evil)
    assert MARKER == []


def test_crafted_schema_naming_a_builtin_is_refused(model_file: Path, tmp_path: Path) -> None:
    inner = zipfile.ZipFile(io.BytesIO(zipfile.ZipFile(model_file).read("classifier.skops")))
    schema = json.loads(inner.read("schema.json"))
    schema.update({"__class__": "system", "__module__": "os"})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for name in inner.namelist():
            data = json.dumps(schema) if name == "schema.json" else inner.read(name)
            out.writestr(name, data)
    evil = _rewrite(model_file, tmp_path / "evil.model", **{"classifier.skops": buf.getvalue()})
    with pytest.raises(ModelFileError):
        load_model(evil)


def test_unexpected_member_and_version_are_refused(model_file: Path, tmp_path: Path) -> None:
    extra = _rewrite(model_file, tmp_path / "extra.model", **{"run.py": b"print(1)"})
    with pytest.raises(ModelFileError, match="unexpected contents"):
        load_model(extra)
    meta = json.loads(zipfile.ZipFile(model_file).read("model.json"))
    meta["format_version"] = FORMAT_VERSION + 1
    newer = _rewrite(
        model_file, tmp_path / "newer.model", **{"model.json": json.dumps(meta).encode()}
    )
    with pytest.raises(ModelFileError, match="not supported"):
        load_model(newer)


def test_parameters_of_a_newer_version_are_named(model_file: Path, tmp_path: Path) -> None:
    meta = json.loads(zipfile.ZipFile(model_file).read("model.json"))
    meta["params"]["future_knob"] = 1
    newer = _rewrite(
        model_file, tmp_path / "newer.model", **{"model.json": json.dumps(meta).encode()}
    )
    with pytest.raises(ModelFileError, match="does not know: future_knob"):
        load_model(newer)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such model file"):
        load_model(tmp_path / "none.model")


def test_round_trip_of_a_family_of_several_lengths(
    mixed_model: CaptchaRecognizer, mixed_test_dir: Path, tmp_path: Path
) -> None:
    images = load_dataset(mixed_test_dir).images[:15]
    loaded = load_model(save_model(mixed_model, tmp_path / "m.cvc"))
    assert tuple(loaded.lengths_) == mixed_model.lengths_
    before, after = mixed_model.predict_details(images), loaded.predict_details(images)
    assert [p.text for p in before] == [p.text for p in after]
    np.testing.assert_allclose(  # weights stored at half precision
        [p.confidence for p in before], [p.confidence for p in after], atol=1e-3
    )


def test_large_weights_are_stored_at_half_precision_and_read_back_as_float32(
    synth_dir: Path, tmp_path: Path
) -> None:
    data = load_dataset(synth_dir)
    model = CaptchaRecognizer(segmenter="window", features="ink", clean="none", augment=1).fit(
        data.images[:60], data.labels[:60]
    )
    path = save_model(model, tmp_path / "m.cvc")
    with zipfile.ZipFile(path) as zf, np.load(io.BytesIO(zf.read("arrays.npz"))) as npz:
        assert npz["fitted/locator_coef_"].dtype == np.float16
    loaded = load_model(path)
    for got, want in ((loaded.locator_coef_, model.locator_coef_),
                      (loaded.classifier_.hidden_weights_, model.classifier_.hidden_weights_)):
        assert got.dtype == np.float32 and got.flags["C_CONTIGUOUS"]
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)
    assert loaded.locator_intercept_.dtype == np.float32  # small arrays stay as they were
    np.testing.assert_array_equal(loaded.locator_intercept_, model.locator_intercept_)
    assert loaded.predict(data.images[60:]) == model.predict(data.images[60:])
    assert model.classifier_.hidden_weights_.dtype == np.float32  # saving left it as it was
    copied = pickle.loads(pickle.dumps(model))  # a pickle (a worker process's copy) is exact
    np.testing.assert_array_equal(
        [p.confidence for p in copied.predict_details(data.images[60:])],
        [p.confidence for p in model.predict_details(data.images[60:])],
    )


def test_a_file_from_before_the_input_choice_reads_with_the_input_it_names(
    fast_model, synth_test_dir: Path
) -> None:
    meta, arrays = model_state(fast_model)
    del meta["fitted"]["features_"]  # as written before features="auto" existed
    loaded = model_from_state(meta, arrays, fast_model.classifier_)
    assert loaded.features_ == fast_model.get_params()["features"] == "ink"
    images = load_dataset(synth_test_dir).images[:10]
    assert loaded.predict(images) == fast_model.predict(images)


def test_a_file_from_before_the_cleaners_reads_without_one(
    fast_model, synth_test_dir: Path
) -> None:
    meta, arrays = model_state(fast_model)
    assert meta["fitted"]["clean_"] == "none" and meta["params"]["clean"] == "none"
    del meta["fitted"]["clean_"], meta["params"]["clean"]  # as written before cleaners
    loaded = model_from_state(meta, arrays, fast_model.classifier_)
    assert loaded.clean == "auto" and loaded.clean_ == "none"
    assert loaded.front_params()["clean"] == "none"
    images = load_dataset(synth_test_dir).images[:10]
    assert loaded.predict(images) == fast_model.predict(images)


def test_a_classifier_saved_before_one_of_its_parameters_existed_reads_with_its_default(
    fast_model, model_file: Path, synth_test_dir: Path, tmp_path: Path
) -> None:
    import copy
    import inspect

    old = copy.copy(fast_model.classifier_)
    name = "max_iter"  # a parameter that only shapes training
    delattr(old, name)  # as written before the classifier had the parameter
    path = _rewrite(model_file, tmp_path / "old.model", **{"classifier.skops": sio.dumps(old)})
    loaded = load_model(path)
    default = inspect.signature(type(old).__init__).parameters[name].default
    assert loaded.classifier_.get_params()[name] == default
    images = load_dataset(synth_test_dir).images[:10]
    assert loaded.predict(images) == fast_model.predict(images)
