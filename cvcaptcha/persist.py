"""Saving and loading fitted recognizers as small, safe model files.

A model file is a zip archive holding

* ``model.json``: format version, cvcaptcha version, parameters, fitted
  metadata (alphabet, length, geometry, training summary) and segmenter state;
* ``arrays.npz``: any numpy arrays of fitted state, read with ``allow_pickle=False``;
* ``classifier.skops`` (scikit-learn classifiers, read by :mod:`skops.io` with
  an explicit allow-list) or ``classifier.xgb.json`` (XGBoost's own format).

Loading never unpickles anything and never imports or calls code named by the
file: unknown types are refused before any object is built.
"""

from __future__ import annotations

import copy
import inspect
import io as _io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone

from . import __version__
from .errors import CvCaptchaError, ModelFileError
from .recognizer import CaptchaRecognizer
from .segment import make_segmenter, segmenter_name

FORMAT = "cvcaptcha-model"
FORMAT_VERSION = 1
#: Non-default types skops may build, beyond the scikit-learn estimators it trusts
#: itself; reviewed by hand: private helpers of calibrated classifiers and the MLP.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.calibration._TemperatureScaling",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
    "cvcaptcha.models.CappedPCA",
    "cvcaptcha.models.TinyMLP",
)
_MEMBERS = {"model.json", "arrays.npz", "classifier.skops", "classifier.xgb.json"}
#: Refuse archives that would unpack to more than this (zip bombs).
MAX_UNPACKED = 512 * 1024 * 1024
_SPECIAL = ("classifier_", "segmenter_")
#: float32 arrays of at least this many values are stored at half precision
#: (three significant digits, far finer than what moves a read) and read back
#: as float32: the locator's weights are most of a model file otherwise.
HALF_FROM = 4096


def half(value: np.ndarray) -> bool:
    """Whether an array is stored at half precision (a large float32 one).

    Examples
    --------
    >>> half(np.zeros(5000, np.float32)), half(np.zeros(10, np.float32)), half(np.zeros(5000))
    (True, False, False)
    """
    return value.dtype == np.float32 and value.size >= HALF_FROM


def _encode(state: dict[str, Any], prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """JSON-able copy of ``state``; numpy arrays are moved into ``arrays``."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, np.ndarray) and half(value):
            arrays[f"{prefix}{key}"] = value.astype(np.float16)
            out[key] = {"$array": f"{prefix}{key}", "$dtype": "float32"}
        elif isinstance(value, np.ndarray):
            arrays[f"{prefix}{key}"] = value
            out[key] = {"$array": f"{prefix}{key}"}
        elif isinstance(value, np.generic):
            out[key] = value.item()
        elif isinstance(value, tuple):
            out[key] = {"$tuple": list(value)}
        else:
            out[key] = value
    return out


def _decode(state: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in state.items():
        if isinstance(value, dict) and set(value) == {"$array"}:
            out[key] = arrays[value["$array"]]
        elif isinstance(value, dict) and set(value) == {"$array", "$dtype"}:
            if value["$dtype"] != "float32":  # the only type stored narrower
                raise ModelFileError(f"unexpected array type {value['$dtype']!r}")
            out[key] = np.ascontiguousarray(arrays[value["$array"]], dtype=np.float32)
        elif isinstance(value, dict) and set(value) == {"$tuple"}:
            out[key] = tuple(value["$tuple"])
        else:
            out[key] = value
    return out


def _is_xgboost(estimator: Any) -> bool:
    return type(estimator).__module__.startswith("xgboost")


def model_state(model: CaptchaRecognizer) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Everything of a fitted recognizer but its classifier, as JSON-able data and arrays.

    This is what a model file keeps in ``model.json`` and ``arrays.npz``; other
    formats (see :mod:`cvcaptcha.export`) reuse it with another classifier.

    Parameters
    ----------
    model : CaptchaRecognizer
        A fitted recognizer.

    Returns
    -------
    meta : dict
        Format tag and version, cvcaptcha version, parameters, the classifier's
        registry name (``None`` for a custom estimator), fitted attributes and
        segmenter state; arrays are replaced by ``{"$array": name}``.
    arrays : dict of str to ndarray
        The arrays ``meta`` names.

    Raises
    ------
    ModelFileError
        The recognizer is not fitted.
    """
    if not hasattr(model, "classifier_"):
        raise ModelFileError("the recognizer is not fitted; nothing to save")
    arrays: dict[str, np.ndarray] = {}
    params = model.get_params(deep=False)
    classifier_is_name = isinstance(params.pop("classifier"), str)
    params["memory"] = None  # a cache location on this machine means nothing elsewhere
    fitted = {k: v for k, v in vars(model).items() if k.endswith("_") and k not in _SPECIAL}
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "cvcaptcha_version": __version__,
        "params": _encode(params, "param/", arrays),
        "classifier": model.classifier if classifier_is_name else None,
        "fitted": _encode(fitted, "fitted/", arrays),
        "segmenter": {
            "name": segmenter_name(model.segmenter_),
            "state": _encode(vars(model.segmenter_), "segmenter/", arrays),
        },
    }
    return meta, arrays


def _narrowed(classifier: Any) -> Any:
    """A shallow copy of ``classifier`` whose large float32 array attributes
    (the tiny MLP's weight matrices) are at half precision, to be stored; the
    fitted classifier itself is left as it is."""
    narrow = {k: v for k, v in vars(classifier).items() if isinstance(v, np.ndarray) and half(v)}
    if not narrow:
        return classifier
    stored = copy.copy(classifier)
    for key, value in narrow.items():
        setattr(stored, key, value.astype(np.float16))
    return stored


def _widened(classifier: Any) -> Any:
    """A loaded classifier with its half-precision arrays read back as float32,
    and any parameter it was saved without (a file older than the parameter)
    at its default, so that ``get_params`` and ``clone`` work on it."""
    for key, value in list(vars(classifier).items()):
        if isinstance(value, np.ndarray) and value.dtype == np.float16:
            setattr(classifier, key, np.ascontiguousarray(value, dtype=np.float32))
    for name, param in inspect.signature(type(classifier).__init__).parameters.items():
        if param.default is not param.empty and not hasattr(classifier, name):
            setattr(classifier, name, param.default)
    return classifier


def model_bytes(model: CaptchaRecognizer) -> bytes:
    """Serialise a fitted recognizer to the bytes of a model file."""
    import skops.io as sio

    meta, arrays = model_state(model)
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model.json", json.dumps(meta, indent=1, sort_keys=True))
        if arrays:
            npz = _io.BytesIO()
            np.savez(npz, **arrays)
            zf.writestr("arrays.npz", npz.getvalue())
        if _is_xgboost(model.classifier_):
            booster = model.classifier_.get_booster()
            zf.writestr("classifier.xgb.json", bytes(booster.save_raw("json")))
        else:
            zf.writestr("classifier.skops", sio.dumps(_narrowed(model.classifier_)))
    return buf.getvalue()


def save_model(model: CaptchaRecognizer, path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Write a fitted recognizer to ``path`` atomically.

    The file is written to a temporary name beside ``path`` and renamed into
    place only when complete, so a failure never leaves a half-written file or
    destroys an existing one.

    Parameters
    ----------
    model : CaptchaRecognizer
        A fitted recognizer.
    path : path
        Destination file.
    overwrite : bool
        Replace an existing file; refused otherwise.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise ModelFileError(f"{path} exists; refusing to overwrite it")
    if path.exists() and path.is_dir():
        raise ModelFileError(f"{path} is a folder")
    return write_atomically(path, model_bytes(model))


def write_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place.

    A failure never leaves a half-written file nor destroys an existing one.
    Missing parent folders are created; the file gets the usual permissions
    (the umask's), not :func:`tempfile.mkstemp`'s private ones.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a model is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _load_classifier(zf: zipfile.ZipFile, names: set[str]) -> Any:
    if "classifier.xgb.json" in names:
        from xgboost import XGBClassifier

        clf = XGBClassifier()
        try:
            clf.load_model(bytearray(zf.read("classifier.xgb.json")))
        except Exception as exc:
            raise ModelFileError(f"corrupt XGBoost classifier ({type(exc).__name__})") from None
        return clf
    if "classifier.skops" not in names:
        raise ModelFileError("model file has no classifier")
    import skops.io as sio

    data = zf.read("classifier.skops")
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:
        raise ModelFileError(f"corrupt classifier ({type(exc).__name__})") from None
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise ModelFileError(f"model file names untrusted types: {', '.join(refused)}")
    try:
        return _widened(sio.loads(data, trusted=list(TRUSTED_TYPES)))
    except Exception as exc:
        raise ModelFileError(f"corrupt classifier ({type(exc).__name__}: {exc})") from None


def model_from_bytes(data: bytes) -> CaptchaRecognizer:
    """Rebuild a recognizer from the bytes of a model file, refusing anything unexpected."""
    try:
        zf = zipfile.ZipFile(_io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ModelFileError("not a cvcaptcha model file (not a zip archive)") from None
    with zf:
        infos = zf.infolist()
        names = {i.filename for i in infos}
        if "model.json" not in names or not names <= _MEMBERS:
            raise ModelFileError("not a cvcaptcha model file (unexpected contents)")
        if sum(i.file_size for i in infos) > MAX_UNPACKED:
            raise ModelFileError("model file unpacks to more than the size limit")
        try:
            meta = json.loads(zf.read("model.json"))
            arrays: dict[str, np.ndarray] = {}
            if "arrays.npz" in names:
                with np.load(_io.BytesIO(zf.read("arrays.npz")), allow_pickle=False) as npz:
                    arrays = {k: npz[k] for k in npz.files}
        except (ValueError, zipfile.BadZipFile, OSError) as exc:
            raise ModelFileError(f"corrupt model file ({type(exc).__name__})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ModelFileError("not a cvcaptcha model file (wrong format tag)")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelFileError(
                f"model format version {meta.get('format_version')!r} is not supported "
                f"by cvcaptcha {__version__} (reads version {FORMAT_VERSION})"
            )
        classifier = _load_classifier(zf, names)
    return model_from_state(meta, arrays, classifier)


def model_from_state(
    meta: dict[str, Any],
    arrays: dict[str, np.ndarray],
    classifier: Any,
    estimator: Any = None,
) -> CaptchaRecognizer:
    """Rebuild a fitted recognizer from :func:`model_state` output and a fitted classifier.

    Parameters
    ----------
    meta, arrays
        As returned by :func:`model_state` (the format tag is not checked here).
    classifier : object
        The fitted reader, set as ``classifier_``: anything with
        ``predict_proba`` and ``classes_``.
    estimator : object, optional
        The recognizer's ``classifier`` parameter when ``meta`` names no
        registered classifier; default: an unfitted clone of ``classifier``.

    Returns
    -------
    CaptchaRecognizer

    Raises
    ------
    ModelFileError
        ``meta`` or ``arrays`` are incomplete or inconsistent.
    """
    try:
        params = _decode(meta["params"], arrays)
        unknown = sorted(set(params) - set(CaptchaRecognizer._get_param_names()))
        if unknown:
            raise ModelFileError(
                f"written by cvcaptcha {meta.get('cvcaptcha_version')!s} with parameters "
                f"this version ({__version__}) does not know: {', '.join(unknown)}"
            )
        model = CaptchaRecognizer(**params)
        if meta["classifier"]:
            model.set_params(classifier=meta["classifier"])
        else:
            model.set_params(classifier=clone(classifier) if estimator is None else estimator)
        segmenter = make_segmenter(meta["segmenter"]["name"])
        for key, value in _decode(meta["segmenter"]["state"], arrays).items():
            setattr(segmenter, key, value)
        for key, value in _decode(meta["fitted"], arrays).items():
            if not key.endswith("_"):
                raise ModelFileError(f"unexpected fitted attribute {key!r}")
            setattr(model, key, value)
    except CvCaptchaError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ModelFileError(f"corrupt model file ({type(exc).__name__}: {exc})") from None
    model.segmenter_ = segmenter
    model.classifier_ = classifier
    # files written before families of several lengths: the one length they read
    model.lengths_ = tuple(getattr(model, "lengths_", (model.n_chars_,)))
    # files written before the reader's input was chosen: the input they name
    model.features_ = getattr(model, "features_", model.features)
    # files written before the front end's cleaner: none
    model.clean_ = getattr(model, "clean_", "none")
    return model


def load_model(path: str | os.PathLike) -> CaptchaRecognizer:
    """Load a model file written by :func:`save_model`.

    Parameters
    ----------
    path : path

    Returns
    -------
    CaptchaRecognizer
        Fitted and ready to predict.

    Raises
    ------
    ModelFileError
        Missing, corrupt, foreign or untrusted file.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    if path.stat().st_size > MAX_UNPACKED:
        raise ModelFileError(f"{path}: too large to be a model file")
    try:
        return model_from_bytes(path.read_bytes())
    except ModelFileError as exc:
        raise ModelFileError(f"{path}: {exc}") from None
