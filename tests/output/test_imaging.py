import numpy as np
import pytest

from actmax.errors import ImageError
from actmax.output import imaging


def test_pictures_show_a_multispectral_image_by_its_first_bands():
    bands = np.random.default_rng(0).uniform(size=(2, 4, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(imaging.to_uint8(bands), imaging.to_uint8(bands[..., :3]))
    assert imaging.to_uint8(bands[..., :2]).shape == (2, 4, 4, 1) and imaging.to_uint8(bands[..., :3]).shape[-1] == 3
    assert imaging.photo_mode(1) == "L" and imaging.photo_mode(3) == "RGB"
    with pytest.raises(ImageError, match="reads 4-channel images"):
        imaging.photo_mode(4)


def test_transparent_pixels_load_as_white_not_as_their_hidden_colour(tmp_path):
    from PIL import Image
    pixels = np.zeros((4, 4, 4), np.uint8)  # transparent black...
    pixels[:2] = (255, 0, 0, 255)  # ...under an opaque red top half
    Image.fromarray(pixels, "RGBA").save(tmp_path / "cutout.png")
    image = imaging.load_image(tmp_path / "cutout.png")
    np.testing.assert_array_equal(image[:2], np.broadcast_to([1.0, 0.0, 0.0], (2, 4, 3)))
    np.testing.assert_array_equal(image[2:], np.ones((2, 4, 3)))
    assert imaging.load_image(tmp_path / "cutout.png", channels=1)[3, 0, 0] == 1.0


def test_a_panorama_keeps_its_shorter_side_at_the_floor(tmp_path):
    from PIL import Image
    Image.new("RGB", (200, 10)).save(tmp_path / "strip.png")
    assert imaging.load_image(tmp_path / "strip.png", 64).shape == (3, 64, 3)
    assert imaging.load_image(tmp_path / "strip.png", 64, floor=32).shape == (32, 640, 3)
    assert imaging.load_image(tmp_path / "strip.png", 300, floor=4).shape == (15, 300, 3)
