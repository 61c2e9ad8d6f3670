from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from cvcaptcha.errors import (
    DatasetError,
    ImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    LabelError,
)
from cvcaptcha.io import check_labels, decode_image, load_dataset, read_image, to_gray


def _png(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return buf.tobytes()


def _png_header(width: int, height: int) -> bytes:
    """A small real PNG whose header is patched to claim ``width`` x ``height``."""
    data = bytearray(_png(np.zeros((10, 10), np.uint8)))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.mark.parametrize(
    "image",
    [
        np.full((30, 60), 200, np.uint8),
        np.full((30, 60, 3), 200, np.uint8),
        np.dstack([np.full((30, 60, 3), 200, np.uint8), np.full((30, 60), 255, np.uint8)]),
        np.full((30, 60), 200 * 257, np.uint16),
        np.full((30, 60, 1), 200, np.uint8),
    ],
)
def test_to_gray_accepts_common_layouts(image: np.ndarray) -> None:
    gray = to_gray(image)
    assert gray.shape == (30, 60) and gray.dtype == np.uint8
    assert abs(int(gray[0, 0]) - 200) <= 1


def test_transparent_pixels_become_white() -> None:
    img = np.zeros((20, 20, 4), np.uint8)  # black, fully transparent
    assert to_gray(img).min() == 255
    img[:10, :, 3] = 255  # the top half opaque
    gray = to_gray(img)
    assert gray[:10].max() == 0 and gray[10:].min() == 255


def test_opaque_colour_image_reads_as_its_grey() -> None:
    rng = np.random.default_rng(3)
    bgr = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    bgra = np.dstack([bgr, np.full((20, 30), 255, np.uint8)])
    assert np.array_equal(to_gray(bgra), to_gray(bgr))


def test_decode_matches_array_path(tmp_path: Path) -> None:
    img = np.random.default_rng(0).integers(0, 255, (40, 90), dtype=np.uint8)
    path = tmp_path / "x.png"
    path.write_bytes(_png(img))
    assert np.array_equal(read_image(path), img)
    assert np.array_equal(read_image(path.read_bytes()), img)


@pytest.mark.parametrize(
    "data", [b"", b"hello, not an image", _png(np.zeros((30, 30), np.uint8))[:60]]
)
def test_bad_bytes_raise_image_error(data: bytes) -> None:
    with pytest.raises(ImageError):
        decode_image(data)


def test_oversized_image_is_refused_from_its_header() -> None:
    with pytest.raises(ImageTooLargeError, match="20000x20000"):
        decode_image(_png_header(20000, 20000))


def test_tiny_image_is_refused() -> None:
    with pytest.raises(ImageTooSmallError):
        read_image(np.zeros((3, 50), np.uint8))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        read_image(tmp_path / "nope.png")


def test_load_dataset_labels_are_stems(synth_dir: Path) -> None:
    data = load_dataset(synth_dir)
    assert len(data) == 120
    assert [p.stem for p in data.paths] == data.labels
    assert all(img.ndim == 2 and img.dtype == np.uint8 for img in data.images)


def test_load_dataset_reads_a_duplicate_suffix_as_the_same_label(
    synth_dir: Path, tmp_path: Path
) -> None:
    import shutil

    first = sorted(synth_dir.glob("*.png"))[0]
    shutil.copy(first, tmp_path / first.name)
    shutil.copy(first, tmp_path / f"{first.stem} (2).png")  # as the labelling page names it
    shutil.copy(first, tmp_path / f"{first.stem} (1).png")  # not a suffix it writes
    data = load_dataset(tmp_path)
    assert sorted(data.labels) == sorted([first.stem, first.stem, f"{first.stem} (1)"])


def test_load_dataset_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such folder"):
        load_dataset(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match="no images"):
        load_dataset(tmp_path)


def test_load_dataset_names_bad_files_unless_skipped(tmp_path: Path) -> None:
    (tmp_path / "ab12.png").write_bytes(_png(np.full((30, 80), 255, np.uint8)))
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "text.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match="zero.png") as err:
        load_dataset(tmp_path)
    assert "text.jpg" in str(err.value) and "--skip-bad" in str(err.value)
    data = load_dataset(tmp_path, skip_bad=True)
    assert data.labels == ["ab12"]
    assert sorted(p.name for p, _ in data.skipped) == ["text.jpg", "zero.png"]


def test_check_labels() -> None:
    assert check_labels(["abc", "xyz"]) == 3
    with pytest.raises(LabelError, match="inconsistent lengths"):
        check_labels(["abc", "abcd", "xyz"], ["abc.png", "abcd.png", "xyz.png"])
    assert check_labels(["abc", "abcd", "xyz"], mixed=True) == 3  # the most common length
    with pytest.raises(LabelError, match="empty"):
        check_labels(["abc", ""], mixed=True)
