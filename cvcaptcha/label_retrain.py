"""Retraining the labelling session's model in a child process.

A fit holds the GIL for long stretches; in the serving process it would slow
every step of the page, so it runs in a spawned child. While the session's
model is the one the user gave, the newest fifth of the answers is held out
and the retrained model is kept only if it reads them at least as well: a
model trained on many more captchas is not replaced by a weaker one fitted on
the first hundred answers. A model the session trained itself is simply
retrained on every answer.
"""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

from .errors import CvCaptchaError, ImageError


def _load(pairs: list[tuple[str, str]]) -> tuple[list[Any], list[str]]:
    from .io import read_image

    images, labels = [], []
    for path, label in pairs:
        try:
            images.append(read_image(path))
            labels.append(label)
        except (ImageError, OSError):
            continue
    return images, labels


def _accuracy(model: Any, images: list[Any], labels: list[str]) -> float:
    if not images:
        return 0.0
    return sum(p == t for p, t in zip(model.predict(images), labels)) / len(labels)


def _job(params: dict[str, Any], train: list[tuple[str, str]], test: list[tuple[str, str]],
         old: bytes | None, conn: Any) -> None:
    """In the child: fit on ``train``, compare with ``old`` on ``test``; always sends
    ``(model bytes or None, message)``."""
    try:
        from .persist import model_bytes, model_from_bytes
        from .recognizer import CaptchaRecognizer

        images, labels = _load(train)
        model = CaptchaRecognizer(**params).fit(images, labels)
        if old is None or not test:
            conn.send((model_bytes(model), f"trained on {len(labels)} answers"))
            return
        images, labels = _load(test)
        new_acc = _accuracy(model, images, labels)
        old_acc = _accuracy(model_from_bytes(old), images, labels)
        if new_acc < old_acc:
            conn.send((None, f"kept the old model: it read {old_acc:.0%} of the newest "
                             f"{len(labels)} answers, the retrained one {new_acc:.0%}"))
        else:
            conn.send((model_bytes(model), f"retrained on {len(train)} answers: it read "
                       f"{new_acc:.0%} of the newest {len(labels)} (old model {old_acc:.0%})"))
    except CvCaptchaError as exc:
        conn.send((None, f"retraining failed: {exc}"))
    except Exception as exc:  # the parent waits for an answer: always send one
        conn.send((None, f"retraining failed: {type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def retrain_in_child(
    params: dict[str, Any],
    train: list[tuple[str, str]],
    test: list[tuple[str, str]],
    old: Any,
    stop: threading.Event,
) -> tuple[Any, bytes | None, str]:
    """Fit ``CaptchaRecognizer(**params)`` on ``train`` (image path, label) pairs in a
    child process; with an ``old`` model and ``test`` pairs, keep the new one only
    if it reads ``test`` at least as well.

    Returns
    -------
    (model or None, its file bytes or None, a one-line message)
        None when the fit failed, the old model read better, or ``stop`` was set
        (the child is then terminated).
    """
    from .persist import model_bytes, model_from_bytes

    old_bytes = model_bytes(old) if old is not None else None
    ctx = multiprocessing.get_context("spawn")  # fork is unsafe with threads running
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_job, args=(params, train, test, old_bytes, child), daemon=True)
    proc.start()
    child.close()
    result: tuple[bytes | None, str] = (None, "retraining stopped")
    try:
        while not stop.is_set():
            if parent.poll(0.2):
                result = parent.recv()
                break
            if not proc.is_alive():
                result = (None, "retraining failed: the child process died")
                break
    except EOFError:
        result = (None, "retraining failed: the child process died")
    finally:
        if proc.is_alive() and stop.is_set():
            proc.terminate()
        proc.join(5)
        parent.close()
    data, message = result
    if data is None or stop.is_set():
        return None, None, message
    return model_from_bytes(data), data, message
