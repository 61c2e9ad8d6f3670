"""Parameter grids over :class:`CaptchaRecognizer`: checked, loaded, enumerated.

A grid is a scikit-learn parameter grid over recognizer parameters (a dict,
or a list of dicts, of names to lists of values; the classifier's own
parameters nested as ``classifier__<param>``), so
:class:`sklearn.model_selection.ParameterGrid` enumerates exactly the
configurations searched. :func:`validate_grid` checks names, types and
registered names cheaply, so a typo fails at once, naming the key, instead of
in every fit of a long search; :func:`config_key` is how a configuration is
recognised again when a search resumes.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Sequence
from typing import Any

from sklearn.model_selection import ParameterGrid

from .clean import CLEANERS
from .errors import ConfigError
from .features import FEATURES, WINDOW_FEATURES
from .io import read_json
from .models import CLASSIFIERS, make_classifier
from .preprocess import THRESHOLDS
from .recognizer import CaptchaRecognizer
from .segment import SEGMENTERS

#: Recognizer parameters the search sets itself; a grid may not vary them.
RESERVED: tuple[str, ...] = ("memory", "verbose")
#: Parameters taking a registered name, and the names they accept.
NAMED: dict[str, tuple[str, ...]] = {
    "classifier": tuple(CLASSIFIERS),
    "segmenter": ("auto", *SEGMENTERS),
    "features": ("auto", *FEATURES, *WINDOW_FEATURES),
    "clean": ("auto", *CLEANERS),
    "threshold": ("auto", *THRESHOLDS),
}


def _suggest(name: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_ok(value: Any, default: Any) -> bool:
    """Whether ``value`` has the kind of the parameter's default (None: anything)."""
    if default is None:
        return True
    if hasattr(default, "get_params"):  # an estimator: a JSON grid cannot give one
        return False
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        kinds = int if isinstance(default, int) else (int, float)
        return isinstance(value, kinds) and not isinstance(value, bool)
    if isinstance(default, (tuple, list)):
        return isinstance(value, (tuple, list))
    return isinstance(value, type(default))


def _check_classifier_param(key: str, value: Any, classifier: str) -> None:
    """Check ``classifier__<path>`` against the parameters of a named classifier.

    scikit-learn estimators declare what each parameter accepts
    (``_parameter_constraints``, the table their ``fit`` checks); others are
    checked against the type of the default.
    """
    from sklearn.utils._param_validation import validate_parameter_constraints

    path = key.split("__", 1)[1]
    params = make_classifier(classifier).get_params(deep=True)
    if path not in params:
        raise ConfigError(
            f"{key!r}: unknown parameter of classifier {classifier!r}{_suggest(path, params)}"
        )
    *owners, name = path.split("__")
    owner = make_classifier(classifier)
    for part in owners:
        owner = owner.get_params(deep=True)[part]
    constraints = getattr(owner, "_parameter_constraints", {})
    if name in constraints:
        try:
            validate_parameter_constraints(
                {name: constraints[name]}, {name: value}, type(owner).__name__
            )
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{key!r}: {exc}") from None
    elif not _type_ok(value, params[path]):
        raise ConfigError(f"{key!r}: expected {type(params[path]).__name__}, got {value!r}")


def _check_value(key: str, value: Any, own: dict[str, Any], classifiers: list[Any]) -> None:
    if key.startswith("classifier__"):
        for name in classifiers:
            _check_classifier_param(key, value, name)
    elif not _type_ok(value, own[key]):
        raise ConfigError(f"{key!r}: expected {type(own[key]).__name__}, got {value!r}")
    elif key in NAMED and value not in NAMED[key]:
        raise ConfigError(f"{key!r}: unknown name {value!r}; choose from {', '.join(NAMED[key])}")


def validate_grid(grid: Any) -> list[dict[str, list[Any]]]:
    """Check a parameter grid against :class:`CaptchaRecognizer`, before any work.

    Every key must be a recognizer parameter (``classifier__<param>`` one of
    the classifier chosen in the same dict, or of the default classifier),
    every value a non-empty list whose items have the parameter's type, and
    every segmenter, feature, threshold and classifier name a registered one.
    Checking up front turns what would be the same error in every fit of a
    long search into one message naming the bad key.

    Parameters
    ----------
    grid : dict or list of dict
        A scikit-learn parameter grid, as read from JSON.

    Returns
    -------
    list of dict
        The grid as a list of dicts, ready for :class:`~sklearn.model_selection.ParameterGrid`.

    Raises
    ------
    ConfigError
        Naming the bad key (and the dict's index in a list of dicts).

    Examples
    --------
    >>> validate_grid({"segmenter": ["equal", "projection"]})
    [{'segmenter': ['equal', 'projection']}]
    >>> validate_grid({"segmenter": "equal"})
    Traceback (most recent call last):
    ...
    cvcaptcha.errors.ConfigError: 'segmenter': expected a list of values, got str
    """
    subgrids = [grid] if isinstance(grid, dict) else grid
    if not isinstance(subgrids, list) or not subgrids:
        raise ConfigError("a grid is an object of parameter lists, or a non-empty list of them")
    own = CaptchaRecognizer().get_params(deep=False)
    for i, sub in enumerate(subgrids):
        where = f"grid[{i}]: " if isinstance(grid, list) else ""
        if not isinstance(sub, dict):
            raise ConfigError(f"{where}expected an object of parameter lists, not {sub!r}")
        # the classifier names first: the nested keys are checked against them
        for key in sorted(sub, key=lambda k: k != "classifier"):
            values = sub[key]
            head = key.split("__", 1)[0] if key.startswith("classifier__") else key
            try:
                if key in RESERVED:
                    raise ConfigError(f"{key!r} is set by the search, not searched over")
                if head not in own:
                    raise ConfigError(f"{key!r}: unknown parameter{_suggest(key, own)}")
                if not isinstance(values, list):
                    raise ConfigError(f"{key!r}: expected a list of values, got "
                                      f"{type(values).__name__}")
                if not values:
                    raise ConfigError(f"{key!r}: empty list of values")
                for value in values:
                    _check_value(key, value, own, sub.get("classifier", [own["classifier"]]))
            except ConfigError as exc:
                raise ConfigError(f"{where}{exc}") from None
    return [dict(sub) for sub in subgrids]


def load_grid(path: str | os.PathLike) -> list[dict[str, list[Any]]]:
    """Read and validate a JSON grid file (see :func:`validate_grid`)."""
    grid = read_json(path)
    try:
        return validate_grid(grid)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def config_key(params: dict[str, Any]) -> str:
    """Canonical JSON of one configuration: how results are matched on resume.

    Examples
    --------
    >>> config_key({"segmenter": "equal", "classifier": "logistic"})
    '{"classifier": "logistic", "segmenter": "equal"}'
    """
    return json.dumps(params, sort_keys=True)


def configurations(grid: list[dict[str, list[Any]]]) -> list[dict[str, Any]]:
    """Every configuration of a grid, in :class:`ParameterGrid` order, duplicates once."""
    seen: dict[str, dict[str, Any]] = {}
    for params in ParameterGrid(grid):
        seen.setdefault(config_key(params), params)
    return list(seen.values())
