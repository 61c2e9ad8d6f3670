"""Reading captcha images and labelled folders.

Every image leaves this module as a 2-D ``uint8`` grey array, whatever it was on
disk (grey, BGR, BGRA, 8 or 16 bit), so later stages handle one kind of input:
transparent pixels over white, colour by its distance from the paper's
(:mod:`~cvcaptcha.colour`).
"""

from __future__ import annotations

import io as _io
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .colour import colour_to_gray
from .errors import (
    ConfigError,
    DatasetError,
    ImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    LabelError,
)

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".gif", ".bmp")
#: Refuse images with more pixels than this (checked from the header, before decoding).
MAX_PIXELS: int = 25_000_000
#: An image needs at least this many pixels on each side to hold a captcha.
MIN_SIDE: int = 8

ImageLike = np.ndarray | str | os.PathLike | bytes

Image.MAX_IMAGE_PIXELS = None  # we enforce our own limit with a clear error


@dataclass
class Dataset:
    """A labelled set of captchas: grey images, their labels and where they came from."""

    images: list[np.ndarray]
    labels: list[str]
    paths: list[Path]
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Convert an image array of any common layout to 2-D ``uint8`` grey.

    Parameters
    ----------
    image : ndarray
        Grey (H, W), BGR (H, W, 3) or BGRA (H, W, 4) as OpenCV gives them, in
        ``uint8``, ``uint16`` or float in [0, 1].

    Returns
    -------
    ndarray of uint8, shape (H, W)

    Examples
    --------
    >>> to_gray(np.zeros((10, 20, 3), np.uint8)).shape
    (10, 20)
    """
    if not isinstance(image, np.ndarray):
        raise ImageError(f"expected a numpy array, got {type(image).__name__}")
    img = image
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)):
        raise ImageError(f"unsupported image shape {image.shape}")
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype.kind == "f":
        img = (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif img.dtype == bool:
        img = img.astype(np.uint8) * 255
    elif img.dtype != np.uint8:
        raise ImageError(f"unsupported image dtype {image.dtype}")
    if img.ndim == 3:
        if img.shape[2] == 4 and img[:, :, 3].min() < 255:
            # Composite transparent pixels onto white: captchas are dark ink on light paper.
            alpha = img[:, :, 3:4].astype(np.float32) / 255.0
            rgb = img[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
            img = rgb.astype(np.uint8)
        img = colour_to_gray(img[:, :, :3])
    check_size(img.shape[1], img.shape[0])
    return np.ascontiguousarray(img)


def check_size(width: int, height: int, max_pixels: int = MAX_PIXELS) -> None:
    """Raise if an image of this size is too small or too large to be a captcha."""
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image of {width}x{height} pixels exceeds the limit of {max_pixels} pixels"
        )
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageTooSmallError(
            f"image of {width}x{height} pixels is too small to hold a captcha"
        )


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode encoded image bytes (PNG, JPEG, GIF, BMP) to a grey ``uint8`` array.

    The header is read first so that an oversized image is refused before any
    pixel is decoded.

    Parameters
    ----------
    data : bytes
        The encoded file contents.
    max_pixels : int
        Largest accepted width x height.

    Returns
    -------
    ndarray of uint8, shape (H, W)
    """
    if not data:
        raise ImageError("empty file")
    try:
        with Image.open(_io.BytesIO(data)) as header:
            width, height = header.size
    except Exception as exc:  # PIL raises many types for garbage
        raise ImageError(f"not a readable image ({type(exc).__name__})") from None
    check_size(width, height, max_pixels)
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:  # formats OpenCV lacks (e.g. GIF) go through Pillow
        try:
            with Image.open(_io.BytesIO(data)) as pil:
                arr = np.asarray(pil.convert("L"))
        except Exception as exc:
            raise ImageError(f"truncated or corrupt image ({type(exc).__name__})") from None
    return to_gray(arr)


def read_image(source: ImageLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read a captcha from a path, encoded bytes or an array, as grey ``uint8``.

    Parameters
    ----------
    source : path, bytes or ndarray
        A file path, the bytes of an encoded image, or an already decoded array.
    max_pixels : int
        Largest accepted width x height.

    Returns
    -------
    ndarray of uint8, shape (H, W)

    Examples
    --------
    >>> read_image(np.full((50, 200), 255, np.uint8)).shape
    (50, 200)
    """
    if isinstance(source, np.ndarray):
        return to_gray(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return decode_image(bytes(source), max_pixels)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ImageError(f"{path}: no such file")
        try:
            return decode_image(path.read_bytes(), max_pixels)
        except ImageError as exc:
            raise type(exc)(f"{path}: {exc}") from None
    raise ImageError(f"cannot read an image from {type(source).__name__}")


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Return the image files of a folder, sorted by name (not recursive)."""
    root = Path(folder)
    if not root.exists():
        raise DatasetError(f"{root}: no such folder")
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    files = sorted(
        p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    )
    if not files:
        raise DatasetError(
            f"{root}: no images ({', '.join(IMAGE_EXTENSIONS)}) in this folder"
        )
    return files


#: A second image with the same label is saved as ``<label> (n)<ext>``, n = 2, 3, ...
DUPLICATE = re.compile(r"^(?P<label>.*) \((?P<n>[2-9]|[1-9][0-9]+)\)$")


def split_duplicate(stem: str) -> str:
    """The label a file stem stands for: the stem without a `` (n)`` duplicate suffix.

    Examples
    --------
    >>> split_duplicate("ab12 (2)"), split_duplicate("ab12"), split_duplicate("ab12 (1)")
    ('ab12', 'ab12', 'ab12 (1)')
    """
    match = DUPLICATE.match(stem)
    return match["label"] if match else stem


def label_of(path: Path) -> str:
    """The label a file stands for: its name without the extension (and without
    a duplicate's `` (n)`` suffix, see :func:`split_duplicate`)."""
    return split_duplicate(path.stem)


def load_dataset(
    folder: str | os.PathLike,
    skip_bad: bool = False,
    progress: bool = False,
    max_pixels: int = MAX_PIXELS,
) -> Dataset:
    """Load every captcha of a folder, labelled by file name stem.

    Parameters
    ----------
    folder : path
        Folder of ``.png``, ``.jpg``, ``.jpeg``, ``.gif`` or ``.bmp`` files.
    skip_bad : bool
        Leave out unreadable files (listed in ``Dataset.skipped``) instead of
        refusing the whole folder.
    progress : bool
        Show a progress bar.
    max_pixels : int
        Largest accepted width x height.

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        Missing or empty folder, or unreadable files when ``skip_bad`` is False.
    """
    from tqdm.auto import tqdm

    files = list_images(folder)
    images: list[np.ndarray] = []
    labels: list[str] = []
    paths: list[Path] = []
    bad: list[tuple[Path, str]] = []
    for path in tqdm(files, desc="loading", unit="img", disable=not progress, leave=False):
        try:
            images.append(decode_image(path.read_bytes(), max_pixels))
        except (ImageError, OSError) as exc:
            bad.append((path, str(exc)))
            continue
        labels.append(label_of(path))
        paths.append(path)
    if bad and not skip_bad:
        names = ", ".join(f"{p.name} ({why})" for p, why in bad[:5])
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise DatasetError(
            f"{len(bad)} unreadable file(s): {names}{more}; use --skip-bad to leave them out"
        )
    if not images:
        raise DatasetError(f"{folder}: no readable images")
    return Dataset(images, labels, paths, bad)


def check_labels(
    labels: list[str], names: list[str] | None = None, mixed: bool = False
) -> int:
    """Check that all labels share one non-zero length and return it.

    Parameters
    ----------
    labels : list of str
    names : list of str, optional
        File names to quote in the error message.
    mixed : bool
        Allow several lengths (a family of several lengths); only empty
        labels are refused.

    Returns
    -------
    int
        The common label length (the most common one when ``mixed``).
    """
    if not labels:
        raise LabelError("no labels")
    lengths = Counter(len(label) for label in labels)
    if 0 in lengths:
        raise LabelError("empty label")
    if len(lengths) > 1 and not mixed:
        common = lengths.most_common(1)[0][0]
        names = names or labels
        odd = [n for n, label in zip(names, labels) if len(label) != common]
        shown = ", ".join(odd[:5]) + (f" and {len(odd) - 5} more" if len(odd) > 5 else "")
        raise LabelError(
            f"labels have inconsistent lengths {dict(sorted(lengths.items()))}; "
            f"most are {common} long, not: {shown}"
        )
    return lengths.most_common(1)[0][0]


def read_json(path: str | os.PathLike) -> object:
    """The contents of a JSON file the user gave (a recipe, a grid); ConfigError
    with a one-line reason when it cannot be read or parsed."""
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
