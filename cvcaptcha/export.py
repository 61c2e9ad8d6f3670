"""Export a fitted recognizer's reading classifier to ONNX.

:func:`export_onnx` writes two files:

* ``OUT.onnx``: the reader (the character classifier, ``classifier_``),
  converted with skl2onnx (onnxmltools for XGBoost). A temperature-scaled
  ``CalibratedClassifierCV`` over an SVC, which skl2onnx cannot convert, is
  exported as the SVC's decision function followed by ``softmax(beta * scores)``
  (see :func:`classifier_to_onnx`). Input ``X``: float32
  feature rows, shape ``(n, n_features)``; output ``probabilities``: float32,
  shape ``(n, n_classes)``, columns in the order of the sidecar's
  ``onnx.classes`` (class ``i`` is ``alphabet_[i]``); a second output,
  ``label``, holds the argmax class.
* ``OUT.onnx.json``, the *sidecar* (the ONNX file's full name plus ``.json``):
  format tag and version, cvcaptcha version, and everything else the pipeline
  needs — recognizer parameters (preprocessing, segmentation, features),
  alphabet, label length, segmenter state and the locator's arrays — in the
  layout of a model file's ``model.json`` (see :func:`cvcaptcha.persist.model_state`),
  with its arrays stored inline as ``{"dtype", "shape", "data"}``. It also
  records the ONNX file's SHA-256, so a mismatched pair is refused on load.

:func:`load_onnx` rebuilds a :class:`~cvcaptcha.recognizer.CaptchaRecognizer`
whose reader runs in onnxruntime: the character classifier itself no longer
needs scikit-learn (the rest of cvcaptcha still does).

Needs the ``onnx`` extra: ``pip install 'cvcaptcha[onnx]'``.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import ConfigError, ModelFileError
from .models import CappedPCA, TinyMLP
from .persist import MAX_UNPACKED, _is_xgboost, model_from_state, model_state, write_atomically
from .recognizer import CaptchaRecognizer

FORMAT = "cvcaptcha-onnx"
FORMAT_VERSION = 1
#: Names of the ONNX graph's input and probability output.
INPUT = "X"
OUTPUT = "probabilities"
#: Array dtypes a sidecar may hold (numbers only: nothing is ever unpickled).
_DTYPE_KINDS = "biuf"


def sidecar_path(path: str | os.PathLike) -> Path:
    """The JSON sidecar written beside an ONNX file: its full name plus ``.json``.

    Examples
    --------
    >>> sidecar_path("out/kaggle.onnx").as_posix()
    'out/kaggle.onnx.json'
    """
    path = Path(path)
    return path.with_name(path.name + ".json")


def _final_step(estimator: Any) -> Any:
    """The last step of a pipeline, or the estimator itself."""
    from sklearn.pipeline import Pipeline

    return _final_step(estimator.steps[-1][1]) if isinstance(estimator, Pipeline) else estimator


def _is_temperature_scaled(estimator: Any) -> bool:
    """Whether ``estimator`` is a ``CalibratedClassifierCV(method="temperature")``."""
    from sklearn.calibration import CalibratedClassifierCV

    return isinstance(estimator, CalibratedClassifierCV) and estimator.method == "temperature"


def _temperature_parts(calibrated: Any) -> tuple[Any, float]:
    """The fitted SVC and inverse temperature ``beta_`` of a temperature-scaled
    ``CalibratedClassifierCV`` (``ensemble=False``).

    Its probabilities are ``softmax(beta_ * svc.decision_function(X))``, columns
    in ``svc.classes_`` order; for two classes the decision values ``d`` become
    the logits ``(-d, d)`` (scikit-learn's ``_convert_to_logits``).

    Parameters
    ----------
    calibrated : CalibratedClassifierCV
        Fitted, ``method="temperature"``.

    Returns
    -------
    svc : SVC or NuSVC
        The one calibrated SVC (fitted on all the data, with the same classes).
    beta : float
        Its inverse temperature.

    Raises
    ------
    ConfigError
        Several calibrated models (``ensemble=True``), a base estimator other
        than an SVC/NuSVC with one-vs-rest decision values and no built-in
        probabilities, or classes that differ from the calibrated classifier's.
    """
    from sklearn.svm import SVC, NuSVC

    parts = calibrated.calibrated_classifiers_
    if len(parts) != 1:
        raise ConfigError(
            f"temperature-scaled CalibratedClassifierCV with {len(parts)} calibrated "
            "models (ensemble=True) cannot be exported; use ensemble=False"
        )
    base = parts[0].estimator
    if not (
        isinstance(base, (SVC, NuSVC))
        and base.decision_function_shape == "ovr"
        and base.probability is not True  # False, or 'deprecated' (scikit-learn >= 1.9)
    ):
        raise ConfigError(
            "temperature-scaled CalibratedClassifierCV is exported only over an SVC or "
            "NuSVC with decision_function_shape='ovr' and probability=False, "
            f"not {base!r}"
        )
    if not np.array_equal(base.classes_, calibrated.classes_):
        raise ConfigError("temperature-scaled SVC was not fitted on every class; cannot export it")
    return base, float(parts[0].calibrators[0].beta_)


def _onnx_ready(estimator: Any) -> Any:
    """``estimator`` with every :class:`CappedPCA` replaced by its fitted PCA,
    which skl2onnx knows how to convert, and a temperature-scaled
    ``CalibratedClassifierCV`` by its SVC, whose calibration
    :func:`_append_temperature_softmax` adds to the graph (pipelines are
    rebuilt, not modified)."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, CappedPCA):
        return estimator.pca_
    if _is_temperature_scaled(estimator):
        return _temperature_parts(estimator)[0]
    if isinstance(estimator, Pipeline):
        return Pipeline([(name, _onnx_ready(step)) for name, step in estimator.steps])
    return estimator


def _append_temperature_softmax(onx: Any, beta: float, classes: np.ndarray) -> None:
    """Turn a converted SVC's raw decision values into temperature-scaled
    probabilities, in place.

    The graph's :data:`OUTPUT` must hold the SVC's raw scores (skl2onnx option
    ``raw_scores``: one-vs-rest decision values, or ``(-d, d)`` for two
    classes). Afterwards :data:`OUTPUT` is ``softmax(beta * scores, axis=1)``
    and ``label`` is ``classes[argmax(OUTPUT)]``, replacing the SVC's vote
    winner so the two outputs never disagree on ties.

    Parameters
    ----------
    onx : onnx.ModelProto
        Converted graph, outputs ``label`` and :data:`OUTPUT`.
    beta : float
        Inverse temperature.
    classes : array of int
        Class of each score column.
    """
    from onnx import helper, numpy_helper

    graph = onx.graph
    scores, beta_name, scaled = "temperature_scores", "temperature_beta", "temperature_scaled"
    classes_name, best = "temperature_classes", "temperature_argmax"
    renamed = {OUTPUT: scores, "label": "temperature_svc_label"}
    for node in graph.node:
        node.input[:] = [renamed.get(name, name) for name in node.input]
        node.output[:] = [renamed.get(name, name) for name in node.output]
    graph.initializer.extend([
        numpy_helper.from_array(np.asarray(beta, dtype=np.float32), beta_name),
        numpy_helper.from_array(np.asarray(classes, dtype=np.int64), classes_name),
    ])
    graph.node.extend([
        helper.make_node("Mul", [scores, beta_name], [scaled], name="TemperatureScale"),
        helper.make_node("Softmax", [scaled], [OUTPUT], name="TemperatureSoftmax", axis=1),
        helper.make_node("ArgMax", [OUTPUT], [best], name="TemperatureArgMax", axis=1,
                         keepdims=0),
        helper.make_node("Gather", [classes_name, best], ["label"], name="TemperatureLabel"),
    ])


def _tiny_mlp_to_onnx(net: TinyMLP, n_features: int) -> Any:
    """The ONNX graph of a fitted :class:`~cvcaptcha.models.TinyMLP`: its arrays,
    a ``MatMul`` (the projection), two ``Gemm`` nodes, a ``Relu`` and a
    ``Softmax`` (no converter needed)."""
    from onnx import TensorProto, helper, numpy_helper

    arrays = {
        "hidden_weights": net.hidden_weights_, "hidden_bias": net.hidden_bias_,
        "output_weights": net.output_weights_, "output_bias": net.output_bias_,
        "classes": np.asarray(net.classes_, dtype=np.int64),
    }
    nodes = []
    projected = INPUT
    if net.projection_ is not None:
        arrays["projection"] = net.projection_
        projected = "projected"
        nodes.append(helper.make_node("MatMul", [INPUT, "projection"], [projected]))
    nodes += [
        helper.make_node("Gemm", [projected, "hidden_weights", "hidden_bias"], ["hidden"]),
        helper.make_node("Relu", ["hidden"], ["active"]),
        helper.make_node("Gemm", ["active", "output_weights", "output_bias"], ["logits"]),
        helper.make_node("Softmax", ["logits"], [OUTPUT], axis=1),
        helper.make_node("ArgMax", [OUTPUT], ["best"], axis=1, keepdims=0),
        helper.make_node("Gather", ["classes", "best"], ["label"]),
    ]
    graph = helper.make_graph(
        nodes, "cvcaptcha_tinymlp",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, [None, n_features])],
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
            helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, [None, len(net.classes_)]),
        ],
        [numpy_helper.from_array(value, name) for name, value in arrays.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def input_width(classifier: Any) -> int:
    """Width of a fitted classifier's input rows (``n_features_in_``, looked up
    through :class:`CappedPCA` steps, which do not record it themselves).

    Raises
    ------
    ConfigError
        The classifier does not record it.
    """
    n_features = getattr(_onnx_ready(classifier), "n_features_in_", None)
    if n_features is None:
        raise ConfigError(
            f"classifier {type(classifier).__name__} does not record its input width "
            "(n_features_in_); cannot export it"
        )
    return int(n_features)


def classifier_to_onnx(classifier: Any, n_features: int) -> Any:
    """Convert a fitted reading classifier to an ONNX model.

    Parameters
    ----------
    classifier : estimator
        A fitted scikit-learn classifier or pipeline (``CappedPCA`` steps
        allowed), or an ``XGBClassifier``.
    n_features : int
        Width of its input rows.

    Returns
    -------
    onnx.ModelProto
        Input :data:`INPUT` (float32, ``(n, n_features)``), outputs ``label``
        and :data:`OUTPUT` (float32 probabilities, one column per class of
        ``classifier.classes_``). A temperature-scaled
        ``CalibratedClassifierCV`` (final step) is converted as its SVC's raw
        decision values, then scaled and softmaxed as scikit-learn does.

    Raises
    ------
    ConfigError
        The classifier has no ONNX converter.
    """
    try:
        with warnings.catch_warnings():
            # converters read attributes scikit-learn has deprecated (SVC.probB_)
            warnings.simplefilter("ignore", FutureWarning)
            if isinstance(classifier, TinyMLP):
                onx = _tiny_mlp_to_onnx(classifier, n_features)
            elif _is_xgboost(classifier):
                from onnxmltools import convert_xgboost
                from onnxmltools.convert.common.data_types import FloatTensorType as XgbFloat

                inputs = [(INPUT, XgbFloat([None, n_features]))]
                onx = convert_xgboost(classifier, initial_types=inputs)
            else:
                from skl2onnx import to_onnx
                from skl2onnx.common.data_types import FloatTensorType

                final = _final_step(classifier)
                temperature = _temperature_parts(final) if _is_temperature_scaled(final) else None
                options: dict[Any, Any] = {"zipmap": False}
                if temperature is not None:
                    options = {id(temperature[0]): {"zipmap": False, "raw_scores": True}}
                inputs = [(INPUT, FloatTensorType([None, n_features]))]
                onx = to_onnx(_onnx_ready(classifier), initial_types=inputs, options=options)
                if temperature is not None:
                    _append_temperature_softmax(onx, temperature[1], temperature[0].classes_)
    except (ImportError, ConfigError):
        raise
    except Exception as exc:  # converters raise RuntimeError, NameError, KeyError...
        raise ConfigError(
            f"cannot convert classifier {type(classifier).__name__} to ONNX "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None
    outputs = [o.name for o in onx.graph.output]
    if OUTPUT not in outputs:
        raise ConfigError(
            f"ONNX conversion of {type(classifier).__name__} has no {OUTPUT!r} output "
            f"(outputs: {', '.join(outputs)})"
        )
    return onx


def _array_to_json(array: np.ndarray) -> dict[str, Any]:
    return {"dtype": array.dtype.str, "shape": list(array.shape), "data": array.ravel().tolist()}


def _array_from_json(name: str, value: Any) -> np.ndarray:
    try:
        dtype = np.dtype(value["dtype"])
        if dtype.kind not in _DTYPE_KINDS:
            raise ValueError(f"dtype {dtype} is not numeric")
        return np.asarray(value["data"], dtype=dtype).reshape(value["shape"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"bad array {name!r} in sidecar ({exc})") from None


def export_onnx(
    model: CaptchaRecognizer, path: str | os.PathLike, overwrite: bool = False
) -> tuple[Path, Path]:
    """Write a fitted recognizer's reader as ONNX and the rest as a JSON sidecar.

    Both files are written to temporary names and renamed into place only when
    complete. The sidecar is ``path`` plus ``.json`` (see :func:`sidecar_path`).

    Parameters
    ----------
    model : CaptchaRecognizer
        A fitted recognizer.
    path : path
        The ONNX file to write, conventionally ``*.onnx``.
    overwrite : bool
        Replace existing files; refused otherwise.

    Returns
    -------
    onnx_path, sidecar_path : Path

    Raises
    ------
    ModelFileError
        The recognizer is not fitted, or a destination exists (without
        ``overwrite``) or is a folder.
    ConfigError
        The reading classifier cannot be converted to ONNX.
    ImportError
        skl2onnx (or onnxmltools, for XGBoost) is not installed.
    """
    path = Path(path)
    side = sidecar_path(path)
    for target in (path, side):
        if target.is_dir():
            raise ModelFileError(f"{target} is a folder")
        if target.exists() and not overwrite:
            raise ModelFileError(f"{target} exists; refusing to overwrite it")
    meta, arrays = model_state(model)
    classifier = model.classifier_
    n_features = input_width(classifier)
    onnx_bytes = classifier_to_onnx(classifier, n_features).SerializeToString()
    sidecar = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "cvcaptcha_version": __version__,
        "onnx": {
            "file": path.name,
            "sha256": hashlib.sha256(onnx_bytes).hexdigest(),
            "input": INPUT,
            "input_dtype": "float32",
            "n_features": n_features,
            "output": OUTPUT,
            "classes": [int(c) for c in classifier.classes_],
            "classifier_type": f"{type(classifier).__module__}.{type(classifier).__name__}",
        },
        "model": meta,
        "arrays": {name: _array_to_json(np.asarray(a)) for name, a in arrays.items()},
    }
    # the ONNX file first: a sidecar never names a file that is not there, and a
    # failure in between leaves a pair that load_onnx refuses (SHA-256 differs)
    write_atomically(path, onnx_bytes)
    write_atomically(side, json.dumps(sidecar, sort_keys=True).encode())
    return path, side


class OnnxClassifier:
    """A fitted reader running in onnxruntime, duck-typed like a scikit-learn classifier.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        Session of an ONNX file written by :func:`export_onnx`.
    classes : array of int
        Class of each probability column.
    input_name, output_name : str
        The graph's input and probability output.
    """

    def __init__(
        self, session: Any, classes: np.ndarray, input_name: str = INPUT,
        output_name: str = OUTPUT,
    ) -> None:
        self.session = session
        self.classes_ = np.asarray(classes, dtype=int)
        self.input_name = input_name
        self.output_name = output_name
        self.n_features_in_ = session.get_inputs()[0].shape[1]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities of float32 feature rows, columns following ``classes_``."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        return self.session.run([self.output_name], {self.input_name: X})[0]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most probable class of each row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """No parameters: an ONNX reader cannot be refitted (keeps ``repr`` working)."""
        return {}

    def __repr__(self) -> str:
        return f"OnnxClassifier(classes={len(self.classes_)}, features={self.n_features_in_})"


def _read_sidecar(path: Path, onnx_bytes: bytes) -> dict[str, Any]:
    side = sidecar_path(path)
    if not side.is_file():
        raise ModelFileError(f"{side}: no such sidecar (export_onnx writes it beside {path.name})")
    if side.stat().st_size > MAX_UNPACKED:
        raise ModelFileError(f"{side}: too large to be a sidecar")
    try:
        meta = json.loads(side.read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{side}: not valid JSON ({type(exc).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{side}: not a cvcaptcha ONNX sidecar (wrong format tag)")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{side}: sidecar format version {meta.get('format_version')!r} is not supported "
            f"by cvcaptcha {__version__} (reads version {FORMAT_VERSION})"
        )
    digest = meta.get("onnx", {}).get("sha256")
    if digest != hashlib.sha256(onnx_bytes).hexdigest():
        raise ModelFileError(f"{side}: does not belong to {path} (SHA-256 differs)")
    return meta


def load_onnx(path: str | os.PathLike, threads: int | None = None) -> CaptchaRecognizer:
    """Load an ONNX export and its sidecar as a recognizer whose reader runs in onnxruntime.

    Parameters
    ----------
    path : path
        The ONNX file written by :func:`export_onnx`; its sidecar must lie beside it.
    threads : int, optional
        onnxruntime intra-op threads (default: onnxruntime's choice).

    Returns
    -------
    CaptchaRecognizer
        Ready to ``predict``; ``classifier_`` is an :class:`OnnxClassifier`.
        It cannot be refitted or saved with :func:`cvcaptcha.persist.save_model`.

    Raises
    ------
    ModelFileError
        Missing, corrupt, foreign or mismatched files.
    ImportError
        onnxruntime is not installed.
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such ONNX file")
    if path.stat().st_size > MAX_UNPACKED:
        raise ModelFileError(f"{path}: too large to be an ONNX export")
    onnx_bytes = path.read_bytes()
    meta = _read_sidecar(path, onnx_bytes)
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(
            onnx_bytes, sess_options=options, providers=["CPUExecutionProvider"]
        )
        info = meta["onnx"]
        reader = OnnxClassifier(session, info["classes"], info["input"], info["output"])
        arrays = {name: _array_from_json(name, v) for name, v in meta["arrays"].items()}
        model_meta = meta["model"]
    except ModelFileError:
        raise
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise ModelFileError(f"{path}: corrupt ONNX export ({type(exc).__name__})") from None
    try:
        return model_from_state(model_meta, arrays, reader, estimator=reader)
    except ModelFileError as exc:
        raise ModelFileError(f"{sidecar_path(path)}: {exc}") from None
