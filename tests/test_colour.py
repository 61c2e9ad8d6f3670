import cv2
import numpy as np

from cvcaptcha.colour import colour_to_gray, ink_contrast, is_grey, paper_colour
from cvcaptcha.io import to_gray
from cvcaptcha.preprocess import binarize


def _page(paper, ink, box=(10, 30, 20, 60), shape=(40, 100)):
    img = np.empty(shape + (3,), np.uint8)
    img[:] = paper
    y0, y1, x0, x1 = box
    img[y0:y1, x0:x1] = ink
    return img


def test_grey_image_keeps_its_luminance():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (30, 60), dtype=np.uint8)
    bgr = np.repeat(grey[:, :, None], 3, axis=2)
    assert is_grey(bgr)
    np.testing.assert_array_equal(colour_to_gray(bgr), grey)


def test_pale_yellow_glyph_becomes_ink():
    img = _page((255, 255, 255), (90, 250, 250))  # pale yellow (BGR)
    luma = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    gray = colour_to_gray(img)
    assert luma[20, 40] > 200  # all but lost in luminance
    assert gray[20, 40] < 170 and gray[0, 0] == 255
    mask = binarize(gray)
    assert mask[10:30, 20:60].all() and mask.sum() == 20 * 40


def test_tinted_paper_turns_white_and_polarity_is_unified():
    tinted = colour_to_gray(_page((200, 230, 250), (60, 40, 120)))
    assert tinted[0, 0] == 255 and tinted[20, 40] < 100
    light_on_dark = colour_to_gray(_page((80, 20, 10), (240, 250, 255)))
    assert light_on_dark[0, 0] == 255 and light_on_dark[20, 40] < 50


def test_paper_is_the_majority_colour():
    img = _page((10, 200, 30), (0, 0, 0), box=(0, 40, 0, 30))  # 30 % ink
    assert paper_colour(img).tolist() == [10.0, 200.0, 30.0]
    assert ink_contrast(img)[5, 5] < ink_contrast(img)[5, 90]


def test_to_gray_composites_alpha_then_reads_colour():
    bgra = np.zeros((40, 100, 4), np.uint8)
    bgra[10:30, 20:60] = (0, 200, 255, 255)  # opaque orange glyph, transparent elsewhere
    gray = to_gray(bgra)
    assert gray[0, 0] == 255 and gray[20, 40] < 60
    opaque = bgra.copy()
    opaque[:, :, 3] = 255
    opaque[opaque[:, :, 0] == 0] = (255, 255, 255, 255)
    opaque[10:30, 20:60] = (0, 200, 255, 255)
    np.testing.assert_array_equal(to_gray(opaque), gray)
