from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cvcaptcha.errors import ConfigError, DatasetError
from cvcaptcha.synth import generate


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
