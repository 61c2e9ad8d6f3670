"""A labelling session: unlabelled captchas answered one at a time, written through to disk.

The queue holds every image of a folder that has no answer yet. With a model,
each captcha's reading is pre-filled and the least sure readings come first,
so the user's keystrokes go where the model is weakest. Every answer is at
once a copy of the image bytes as ``LABELLED_DIR/<label><ext>`` and a row of
``LABELLED_DIR/labels.csv``: a closed browser or a killed process loses
nothing, and the next session over the same folders resumes from the log.

No web framework here: :mod:`cvcaptcha.label_server` puts a session behind HTTP.
"""

from __future__ import annotations

import csv
import heapq
import os
import threading
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import DatasetError, ImageError, LabelError
from .io import list_images

LOG_NAME = "labels.csv"
LOG_FIELDS: tuple[str, ...] = ("source", "label", "how", "time", "file", "model")
#: The model retrained during a session, kept beside the labels for the next one.
MODEL_NAME = "labels-model.cvc"
LOCK_NAME = ".labels.lock"
#: A character the model reads with less confidence than this is marked unsure.
UNSURE_BELOW = 0.9
#: Characters refused in labels: they cannot be part of a portable file name.
_BAD_CHARS = set('/\\:*?"<>|')
def check_label(label: Any, lengths: Collection[int] | None = None) -> str:
    """Return ``label`` if it can name a file (and has one of ``lengths``
    characters), else LabelError."""
    if not isinstance(label, str) or not label:
        raise LabelError("the label is empty")
    if len(label) > 64:
        raise LabelError("the label is longer than 64 characters")
    bad = sorted({c for c in label if c in _BAD_CHARS or c.isspace() or not c.isprintable()})
    if bad or label.startswith("."):
        shown = "".join(bad) or "."
        raise LabelError(f"the label {label!r} holds characters not allowed in file names: "
                         f"{shown!r}")
    if lengths and len(label) not in lengths:
        wanted = " or ".join(map(str, sorted(lengths)))
        raise LabelError(f"the label {label!r} has {len(label)} characters, not {wanted}")
    return label


@dataclass
class Reading:
    """The model's reading of one captcha; ``round`` is the model it came from."""

    text: str
    confidence: float
    chars: list[float]
    round: int


@dataclass
class Item:
    """One image of the queue and what is known of it."""

    id: int
    path: Path
    reading: Reading | None = None
    label: str | None = None
    file: str | None = None
    model_text: str = ""
    skips: int = 0
    error: str | None = None


def _valid_row(row: list[str]) -> bool:
    """Whether a log row is whole and names a plain file of the labelled folder
    (a hand-edited log must not make a session write elsewhere)."""
    if len(row) != len(LOG_FIELDS) or row[2] not in ("accepted", "typed"):
        return False
    name = row[4]
    if not name or Path(name).name != name or name.startswith(".") or "\\" in name:
        return False
    try:
        check_label(row[1])
    except LabelError:
        return False
    return True


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class LabelSession:
    """The state of a labelling session over ``images_dir`` writing to ``out_dir``.

    Thread-safe: the HTTP server calls it from several threads, a reader
    thread fills in the model's readings in batches (least sure first needs
    them all, but a step never waits for more than the captcha it shows) and
    a child process retrains the model every ``retrain_every`` answers.

    Parameters
    ----------
    images_dir, out_dir : path
        Folder of unlabelled captchas; folder of labelled copies and ``labels.csv``
        (created if missing; must be another folder).
    model : CaptchaRecognizer, optional
        Fitted model whose readings pre-fill the answers. Without one the
        first answers are typed blind, in file name order.
    retrain_every : int
        Retrain after this many new answers (0: never), on every answer so far.
    params : dict, optional
        Recognizer parameters of retraining (default: the model's, or the default recipe).
    batch_size : int
        Captchas read per batch by the reader thread.
    background : bool
        Start the reader thread (tests may call :meth:`read_batch` themselves).
    """

    def __init__(
        self,
        images_dir: str | os.PathLike,
        out_dir: str | os.PathLike,
        model: Any = None,
        *,
        retrain_every: int = 0,
        params: dict[str, Any] | None = None,
        batch_size: int = 32,
        background: bool = True,
        lengths: Collection[int] | None = None,
    ) -> None:
        if retrain_every < 0 or batch_size < 1:
            raise LabelError("retrain_every must be >= 0 and batch_size >= 1")
        self.images_dir = Path(images_dir).resolve()
        self.out_dir = Path(out_dir).resolve()
        if self.out_dir == self.images_dir:
            raise DatasetError("the labelled folder must not be the folder of unlabelled images")
        self.items = [Item(i, p) for i, p in enumerate(list_images(self.images_dir))]
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = _lock(self.out_dir / LOCK_NAME)
        self.log_path = self.out_dir / LOG_NAME
        self.retrain_every = retrain_every
        self.batch_size = batch_size
        self.model = model
        #: whether ``model`` is the one the session was given (then a retrained model must
        #: read the newest answers as well to replace it) rather than one it trained itself
        self._given_model = model is not None
        self.round = 0
        self.params = params if params is not None else (
            model.get_params(deep=False) if model is not None else {}
        )
        self.params = {k: v for k, v in self.params.items() if k not in ("memory", "verbose")}
        #: the label lengths answers may have: ``lengths``, the model's, or
        #: (neither given) the length of the first answer
        self.lengths: tuple[int, ...] | None = (
            tuple(lengths) if lengths else
            tuple(model.lengths_) if model is not None else None
        )
        self.retraining = False
        self.message = ""
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._claimed: set[str] = set()
        self._order: list[int] = []  # answered ids, oldest first
        self._trail: list[int] = []  # ids shown, in order; the user walks it with back
        self._pos = 0
        self._since_retrain = 0
        self._threads: list[threading.Thread] = []
        self._resume()
        if background:
            self._start(self._reader, "label-reader")

    # -- resuming -------------------------------------------------------------
    def _resume(self) -> None:
        """Replay ``labels.csv`` (the last row of a source wins) and rewrite any
        copy a killed session had logged but not yet written."""
        by_name = {item.path.name: item for item in self.items}
        for stale in self.out_dir.glob(".label-*.tmp"):
            stale.unlink(missing_ok=True)
        if self.log_path.exists():
            with open(self.log_path, newline="", encoding="utf-8") as fh:
                rows = list(csv.reader(fh))
            if not rows or tuple(rows[0]) != LOG_FIELDS:
                raise DatasetError(
                    f"{self.log_path} is not a cvcaptcha labels log; move it away first"
                )
            last: dict[str, list[str]] = {}
            for row in rows[1:]:
                if _valid_row(row):
                    last.pop(row[0], None)  # keep log order of the last answer
                    last[row[0]] = row
            for source, row in last.items():
                _, label, _, _, name, model_text = row
                self._claimed.add(name)
                item = by_name.get(source)
                if item is None:
                    continue
                item.label, item.file, item.model_text = label, name, model_text
                self._order.append(item.id)
                if not (self.out_dir / name).exists():
                    item.file = self._put(item, item.path.read_bytes(), name, row[2])
            with open(self.log_path, "rb+") as fh:  # a killed write leaves half a line
                fh.seek(0, os.SEEK_END)
                if fh.tell():
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":
                        fh.write(b"\n")
        else:
            self._append_row(list(LOG_FIELDS))
        if self.lengths is None:
            seen = Counter(len(self.items[i].label or "") for i in self._order)
            self.lengths = (seen.most_common(1)[0][0],) if seen else None
        self._trail = list(self._order)
        self._pos = len(self._trail)

    # -- writing ------------------------------------------------------------
    def _append_row(self, row: list[str]) -> None:
        with open(self.log_path, "a", newline="", encoding="utf-8") as fh:
            csv.writer(fh, lineterminator="\n").writerow(row)
            fh.flush()
            os.fsync(fh.fileno())

    def _free_name(self, label: str, ext: str) -> str:
        n = 1
        while True:
            name = f"{label}{ext}" if n == 1 else f"{label} ({n}){ext}"
            if name not in self._claimed and not (self.out_dir / name).exists():
                return name
            n += 1

    def _put(self, item: Item, data: bytes, name: str, how: str) -> str:
        """Write ``data`` as ``name`` without ever replacing a file; if the name was
        taken meanwhile, the next free one (logged again). Returns the name used."""
        tmp = self.out_dir / f".label-{os.getpid()}-{item.id}.tmp"
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            while True:
                try:
                    os.link(tmp, self.out_dir / name)  # atomic, and fails if the name exists
                    return name
                except FileExistsError:
                    name = self._free_name(item.label or "", item.path.suffix.lower())
                    self._claimed.add(name)
                    self._append_row([item.path.name, item.label or "", how, _now(), name,
                                      item.model_text])
        finally:
            tmp.unlink(missing_ok=True)

    def _write(self, item: Item, label: str) -> None:
        """Log the answer, then copy the image bytes; a correction removes the old copy."""
        data = item.path.read_bytes()
        old = item.file
        shown = item.reading.text if item.reading is not None else ""
        how = "accepted" if shown and label == shown and item.label is None else "typed"
        name = self._free_name(label, item.path.suffix.lower())
        self._claimed.add(name)
        model_text = shown if item.label is None else item.model_text
        self._append_row([item.path.name, label, how, _now(), name, model_text])
        item.label, item.model_text = label, model_text
        item.file = self._put(item, data, name, how)
        if old is not None:
            self._claimed.discard(old)
            old_path = self.out_dir / old
            if old_path.is_file() and old_path.read_bytes() == data:  # our own copy only
                old_path.unlink()

    # -- the queue ------------------------------------------------------------
    def _key(self, item: Item) -> tuple[int, float, int]:
        if self.model is None:
            return (item.skips, 0.0, item.id)
        conf = item.reading.confidence if item.reading is not None else 2.0
        return (item.skips, conf, item.id)

    def _pending(self) -> list[Item]:
        return [it for it in self.items if it.label is None and it.error is None]

    def _advance(self) -> None:
        """Move the cursor forward along the trail, or past its end: the next captcha
        is chosen only when shown, so it is chosen with the latest readings."""
        self._pos = min(self._pos + 1, len(self._trail))

    def _current(self) -> Item | None:
        if self._pos < len(self._trail):
            return self.items[self._trail[self._pos]]
        pending = self._pending()
        if not pending:
            return None
        self._trail.append(min(pending, key=self._key).id)
        return self.items[self._trail[self._pos]]

    def _ensure_read(self, item: Item) -> None:
        """Read one captcha now if the current model has not (a few ms)."""
        if self.model is None or item.label is not None:
            return
        if item.reading is None or item.reading.round != self.round:
            self._store(self.model, self.round, [item])

    def _store(self, model: Any, round_: int, items: list[Item]) -> None:
        try:
            preds = model.predict_details([it.path for it in items])
        except (ImageError, OSError):
            preds = []
            for it in items:  # one bad image must not spoil the batch
                try:
                    preds.extend(model.predict_details([it.path]))
                except (ImageError, OSError) as exc:
                    preds.append(None)
                    it.error = str(exc)
        with self._lock:
            if round_ != self.round:
                return
            for it, p in zip(items, preds):
                if p is not None:
                    it.reading = Reading(p.text, float(p.confidence),
                                         [float(c) for c in p.char_confidences], round_)

    def read_batch(self) -> int:
        """Read the next batch of pending captchas with the current model (the
        ones soonest shown first); returns how many were read."""
        with self._lock:
            model, round_ = self.model, self.round
            if model is None:
                return 0
            stale = [it for it in self._pending()
                     if it.reading is None or it.reading.round != round_]
            stale.sort(key=self._key)
            batch = stale[: self.batch_size]
        if batch:
            self._store(model, round_, batch)
        return len(batch)

    def _reader(self) -> None:
        while not self._stop.is_set():
            try:
                if self.read_batch() == 0:
                    self._wake.wait(1.0)
                    self._wake.clear()
            except Exception as exc:  # keep serving: the page shows the message
                with self._lock:
                    self.message = f"reading failed: {type(exc).__name__}: {exc}"
                self._wake.wait(5.0)

    # -- the user's steps --------------------------------------------------
    def _item(self, item_id: Any) -> Item:
        if type(item_id) is not int or not 0 <= item_id < len(self.items):
            raise LabelError(f"no captcha with id {item_id!r}")
        return self.items[item_id]

    def state(self) -> dict[str, Any]:
        """What the page shows: the current captcha, progress and the model's agreement."""
        with self._lock:
            item = self._current()
            if item is not None:
                self._ensure_read(item)
            return self._state(item)

    def answer(self, item_id: Any, label: Any) -> dict[str, Any]:
        """Record ``label`` for a captcha (written through), then move on."""
        with self._lock:
            item = self._item(item_id)
            check_label(label, self.lengths)
            if item.label != label:
                first = item.label is None
                self._write(item, label)
                if first:
                    self._order.append(item.id)
                    self._since_retrain += 1
                else:
                    self._order.remove(item.id)
                    self._order.append(item.id)
                if self.lengths is None:
                    self.lengths = (len(label),)
            if item is self._current():
                self._advance()
            self._maybe_retrain()
            return self.state()

    def skip(self, item_id: Any) -> dict[str, Any]:
        """Leave a captcha unanswered for now: it goes behind the others."""
        with self._lock:
            item = self._item(item_id)
            if item.label is None:
                item.skips += 1
            if item is self._current():
                self._advance()
            return self.state()

    def back(self) -> dict[str, Any]:
        """Show the captcha shown before the current one, to correct it."""
        with self._lock:
            if self._pos > 0:
                self._pos -= 1
            return self.state()

    def _agreement(self, ids: Sequence[int]) -> tuple[float | None, int]:
        rows = [self.items[i] for i in ids if self.items[i].model_text]
        if not rows:
            return None, 0
        return sum(it.label == it.model_text for it in rows) / len(rows), len(rows)

    def progress(self) -> dict[str, int]:
        """Counts of answered, left, skipped and unreadable captchas."""
        with self._lock:
            answered = len(self._order)
            bad = sum(it.error is not None for it in self.items)
            return {
                "answered": answered, "total": len(self.items), "unreadable": bad,
                "left": len(self.items) - answered - bad,
                "skipped": sum(it.skips > 0 and it.label is None for it in self.items),
            }

    def _state(self, item: Item | None) -> dict[str, Any]:
        rate, n = self._agreement(self._order)
        recent = max(self.retrain_every, 50)
        recent_rate, recent_n = self._agreement(self._order[-recent:])
        out: dict[str, Any] = {
            "item": None,
            "progress": self.progress(),
            "agreement": {"rate": rate, "n": n, "recent_rate": recent_rate, "recent_n": recent_n},
            "model": {"present": self.model is not None, "round": self.round,
                      "retraining": self.retraining, "message": self.message},
            "lengths": list(self.lengths or ()),
            "can_back": self._pos > 0,
            "upcoming": [],
        }
        if item is None:
            return out
        reading = item.reading if item.label is None else None
        out["item"] = {
            "id": item.id,
            "source": item.path.name,
            "label": item.label,
            "file": item.file,
            "prefill": item.label if item.label is not None else (reading.text if reading else ""),
            "reading": None if reading is None else {
                "text": reading.text, "confidence": reading.confidence, "chars": reading.chars,
                "unsure": [c < UNSURE_BELOW for c in reading.chars],
            },
        }
        if self._pos == len(self._trail) - 1:  # the page preloads the likely next images
            pending = [it for it in self._pending() if it is not item]
            out["upcoming"] = [it.id for it in heapq.nsmallest(2, pending, key=self._key)]
        return out

    def image_path(self, item_id: Any) -> Path:
        """The source file of a captcha; refused if it resolves outside the image folder."""
        path = self._item(item_id).path
        if not path.resolve().is_relative_to(self.images_dir):
            raise DatasetError(f"{path.name} lies outside {self.images_dir}")
        return path

    # -- retraining ---------------------------------------------------------
    def _maybe_retrain(self) -> None:
        if self.retrain_every and self._since_retrain >= self.retrain_every \
                and not self.retraining and not self._stop.is_set():
            self.retrain()

    def retrain(self) -> bool:
        """Start retraining on every answer so far in a child process (a fit must
        not hold this process's GIL while the page answers); False if one runs."""
        with self._lock:
            if self.retraining:
                return False
            pairs = [(str(self.out_dir / self.items[i].file), self.items[i].label)
                     for i in self._order]
            old = self.model if self._given_model else None
            # a model the session trained itself saw fewer answers: retrain on all of them
            test = pairs[-max(1, len(pairs) // 5):] if old is not None and len(pairs) > 1 else []
            train = pairs[: len(pairs) - len(test)]
            self.retraining = True
            self._since_retrain = 0
            self.message = f"retraining on {len(train)} answers"
            self._start(lambda: self._retrain(train, test, old), "label-retrain")
            return True

    def _retrain(self, train: list[tuple[str, str]], test: list[tuple[str, str]],
                 old: Any) -> None:
        from .label_retrain import retrain_in_child
        from .persist import write_atomically

        model, data, message = retrain_in_child(self.params, train, test, old, self._stop)
        if data is not None and not self._stop.is_set():
            write_atomically(self.out_dir / MODEL_NAME, data)
        with self._lock:
            if model is not None and not self._stop.is_set():
                self.model = model
                self._given_model = False
                self.round += 1
            self.message = message
            self.retraining = False
        self._wake.set()

    def wait_retrained(self, timeout: float = 120.0) -> bool:
        """Block until no retraining runs (for tests and scripts); False on timeout."""
        for thread in list(self._threads):
            if thread.name == "label-retrain":
                thread.join(timeout)
        return not self.retraining

    # -- lifetime -------------------------------------------------------------
    def _start(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def close(self) -> None:
        """Stop the reader and any retraining; the written answers stay."""
        self._stop.set()
        self._wake.set()
        for thread in list(self._threads):
            thread.join(10)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> LabelSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lock(path: Path) -> Any:
    """Hold an exclusive lock on ``path`` so two sessions never share a labelled folder."""
    fh = open(path, "a")  # held open for the session's lifetime
    try:
        import fcntl
    except ImportError:  # Windows: no lock, one session at a time is up to the user
        return fh
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise DatasetError(f"another labelling session is writing to {path.parent}") from None
    return fh
