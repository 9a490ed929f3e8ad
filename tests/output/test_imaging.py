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
