from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cvcaptcha.errors import ConfigError, DatasetError
from cvcaptcha.io import read_image
from cvcaptcha.synth import STYLES, generate


def test_same_seed_same_images(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", 5, length=6, alphabet="XYZ789", seed=7, width=120, height=40)
    b = generate(tmp_path / "b", 5, length=6, alphabet="XYZ789", seed=7, width=120, height=40)
    assert [p.name for p in a] == [p.name for p in b]
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert all(len(p.stem) == 6 and set(p.stem) <= set("XYZ789") for p in a)
    c = generate(tmp_path / "c", 5, length=6, alphabet="XYZ789", seed=8, width=120, height=40)
    assert [p.name for p in a] != [p.name for p in c]


def test_pitch_style_is_reproducible_and_draws_the_label(tmp_path: Path) -> None:
    kwargs = {"length": 6, "alphabet": "ABC123", "seed": 2, "width": 150, "height": 40}
    a = generate(tmp_path / "a", 4, style="pitch", **kwargs)
    b = generate(tmp_path / "b", 4, style="pitch", **kwargs)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    image = np.asarray(Image.open(a[0]))
    assert image.shape == (40, 150) and image.dtype == np.uint8
    # dark ink spread over the middle 75 % of the width, light paper at the far edges
    dark = (image < 120).sum(axis=0)
    assert (dark[40:110] > 0).mean() > 0.8
    assert image[:, :3].mean() > 150
    c = generate(tmp_path / "c", 4, **kwargs)  # the other style, same labels
    assert [p.name for p in c] == [p.name for p in a]
    assert [p.read_bytes() for p in c] != [p.read_bytes() for p in a]


def test_never_overwrites(tmp_path: Path) -> None:
    generate(tmp_path, 3, seed=1)
    with pytest.raises(DatasetError, match="overwritten"):
        generate(tmp_path, 3, seed=1)


@pytest.mark.parametrize(
    "kwargs",
    [{"count": 0}, {"count": 10, "alphabet": "ab", "length": 2}, {"count": 1, "alphabet": "a/"},
     {"count": 1, "alphabet": "aa"}, {"count": 1, "style": "wavy"}],
)
def test_bad_settings(kwargs: dict, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        generate(tmp_path, **kwargs)


NEW_STYLES = {  # name: (size, Pillow mode, suffix, length)
    "plain": ((72, 24), "L", ".png", 4),
    "pale": ((90, 30), "RGB", ".jpg", 4),
    "alpha": ((240, 80), "RGBA", ".png", 4),
    "serif": ((90, 32), "RGB", ".png", 4),
    "tiny": ((80, 25), "1", ".png", 5),
}


def test_every_style_is_registered() -> None:
    assert set(NEW_STYLES) | {"captcha", "pitch"} == set(STYLES)


@pytest.mark.parametrize("style", sorted(NEW_STYLES))
def test_new_style_natural_size_mode_and_reproducible(style: str, tmp_path: Path) -> None:
    size, mode, suffix, length = NEW_STYLES[style]
    a = generate(tmp_path / "a", 3, seed=4, style=style)
    b = generate(tmp_path / "b", 3, seed=4, style=style)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    c = generate(tmp_path / "c", 3, seed=5, style=style)
    assert [p.read_bytes() for p in a] != [p.read_bytes() for p in c]
    for path in a:
        assert path.suffix == suffix and len(path.stem) == length
        with Image.open(path) as image:
            assert image.size == size and image.mode == mode
        # the library's grey reading shows ink in the middle, light paper around it
        grey = read_image(path)
        assert grey.shape == size[::-1]
        middle = grey[:, size[0] // 4: 3 * size[0] // 4]
        assert (middle < 200).mean() > 0.05
        assert np.median(grey) > 180


@pytest.mark.parametrize("style", sorted(NEW_STYLES))
def test_new_style_takes_a_given_size_and_alphabet(style: str, tmp_path: Path) -> None:
    paths = generate(tmp_path, 2, length=3, alphabet="347", seed=1, style=style,
                     width=100, height=40)
    assert all(set(p.stem) <= set("347") and len(p.stem) == 3 for p in paths)
    with Image.open(paths[0]) as image:
        assert image.size == (100, 40)


def test_alpha_style_is_transparent(tmp_path: Path) -> None:
    path = generate(tmp_path, 1, seed=2, style="alpha")[0]
    rgba = np.asarray(Image.open(path))
    alpha = rgba[..., 3]
    assert (alpha == 0).mean() > 0.5 and (alpha == 255).any()
    # transparent pixels are transparent black: ignoring alpha shows a black background
    assert (rgba[alpha == 0, :3] == 0).all()
    assert set(path.stem) <= set("0123456789")


def test_pale_style_writes_jpeg_and_png_on_request(tmp_path: Path) -> None:
    paths = generate(tmp_path / "j", 4, seed=3, style="pale")
    assert all(Image.open(p).format == "JPEG" for p in paths)
    assert all(p.stem.isupper() and p.stem.isalpha() for p in paths)
    png = generate(tmp_path / "p", 4, seed=3, style="pale", image_format="png")
    assert [p.stem for p in png] == [p.stem for p in paths]
    assert all(Image.open(p).format == "PNG" for p in png)
    jpg = generate(tmp_path / "t", 1, seed=3, style="tiny", image_format="jpg")[0]
    assert jpg.suffix == ".jpg" and Image.open(jpg).mode == "L"


def test_tiny_style_is_one_bit(tmp_path: Path) -> None:
    for path in generate(tmp_path, 3, seed=6, style="tiny"):
        grey = np.asarray(Image.open(path).convert("L"))
        assert set(np.unique(grey)) == {0, 255}
        assert path.stem.isdigit()


def test_serif_style_labels_are_case_sensitive(tmp_path: Path) -> None:
    paths = generate(tmp_path, 40, seed=0, style="serif")
    labels = "".join(p.stem for p in paths)
    assert any(c.isupper() for c in labels) and any(c.islower() for c in labels)
    # distinct even on a case-insensitive file system
    assert len({p.stem.lower() for p in paths}) == 40


def test_jpeg_never_overwrites(tmp_path: Path) -> None:
    generate(tmp_path, 2, seed=1, style="pale")
    with pytest.raises(DatasetError, match=r"overwritten, e\.g\. .*\.jpg"):
        generate(tmp_path, 2, seed=1, style="pale")


@pytest.mark.parametrize(
    "kwargs", [{"style": "alpha", "image_format": "jpeg"}, {"image_format": "gif"}]
)
def test_bad_formats(kwargs: dict, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        generate(tmp_path, 1, **kwargs)
