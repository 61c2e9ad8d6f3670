import numpy as np

from cvcaptcha.frame import frame_sides, remove_frame
from cvcaptcha.prepare import prepare
from cvcaptcha.preprocess import band_share

PARAMS = dict(
    height=40, band=False, threshold="otsu", open_frac=0.0, speck_frac=0.002, line_frac=0.07,
    hog_orientations=9, hog_cell=4, hog_block=2,
)


def _glyphs(shape=(30, 70)) -> np.ndarray:
    img = np.full(shape, 235, np.uint8)
    for x in (8, 24, 40, 56):
        img[9:21, x:x + 6] = 30
    return img


def _framed(img: np.ndarray, width: int = 1, margin: int = 0) -> np.ndarray:
    out = img.copy()
    a, b = margin, margin + width
    out[a:b], out[-b:out.shape[0] - a], out[:, a:b], out[:, -b:out.shape[1] - a] = 40, 40, 40, 40
    return out


def test_a_frame_is_painted_paper_and_the_glyphs_kept() -> None:
    plain = _glyphs()
    for width, margin in ((1, 0), (2, 0), (1, 1)):
        framed = _framed(plain, width, margin)
        assert frame_sides(framed) == (width + margin,) * 4
        np.testing.assert_array_equal(remove_frame(framed), plain)


def test_no_frame_leaves_the_same_array() -> None:
    plain = _glyphs()
    assert frame_sides(plain) == (0, 0, 0, 0)
    assert remove_frame(plain) is plain


def test_a_stem_at_one_edge_is_not_a_frame() -> None:
    img = _glyphs()
    img[:, 0:2] = 30  # a tall stem at the left edge only
    assert frame_sides(img) == (0, 0, 0, 0)
    assert remove_frame(img) is img


def test_prepared_frame_leaves_no_ink_at_the_edges_and_the_band_is_the_text() -> None:
    framed = _framed(_glyphs())
    assert band_share(framed) == 1.0  # the frame's rows make every row look inked
    assert band_share(remove_frame(framed)) < 0.6
    prep = prepare(framed, PARAMS)
    np.testing.assert_array_equal(prep.mask, prepare(_glyphs(), PARAMS).mask)
    assert prep.mask[:, :3].sum() == 0 and prep.mask[:3].sum() == 0
