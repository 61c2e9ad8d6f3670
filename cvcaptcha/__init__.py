"""cvcaptcha: read text captchas with classical computer vision and small CPU classifiers."""

from __future__ import annotations

__version__ = "0.1.0"

from .evaluation import evaluate  # noqa: E402
from .io import load_dataset, read_image  # noqa: E402
from .persist import load_model, save_model  # noqa: E402
from .prediction import Prediction  # noqa: E402
from .recognizer import CaptchaRecognizer  # noqa: E402

__all__ = [
    "CaptchaRecognizer",
    "Prediction",
    "__version__",
    "evaluate",
    "load_dataset",
    "load_model",
    "read_image",
    "save_model",
]
