import numpy as np
import pytest

from actmax.output import gallery


@pytest.mark.parametrize("count, cols, expected", [(16, None, (4, 4)), (10, None, (3, 4)), (1, None, (1, 1)),
                                                    (64, None, (8, 8)), (5, 2, (3, 2))])
def test_grid_shape_is_square_ish(count, cols, expected):
    assert gallery.grid_shape(count, cols) == expected


def test_grid_geometry_is_exact():
    tiles = np.stack([np.full((10, 12, 3), 10 * (i + 1), np.uint8) for i in range(5)])
    grid = gallery.make_grid(tiles, margin=3)  # 5 tiles → 2 rows x 3 cols
    assert grid.shape == (2 * 10 + 3 * 3, 3 * 12 + 4 * 3, 3)
    for i in range(5):
        top, left = gallery.tile_origin(i, 3, height=10, width=12, margin=3)
        assert (grid[top:top + 10, left:left + 12] == 10 * (i + 1)).all()
    assert (grid[:3] == gallery.BACKGROUND).all() and (grid[:, :3] == gallery.BACKGROUND).all()
    assert (grid[3:13, 15:18] == gallery.BACKGROUND).all()  # the margin between tiles 0 and 1
    top, left = gallery.tile_origin(5, 3, height=10, width=12, margin=3)
    assert (grid[top:top + 10, left:left + 12] == gallery.BACKGROUND).all()  # the empty sixth cell


def test_labels_add_a_strip_under_each_tile_and_dead_tiles_get_a_red_frame():
    tiles = np.zeros((2, 8, 8, 3), np.uint8)
    grid = gallery.make_grid(tiles, margin=4, labels=["#0 1.5", "#1 dead"], dead=[False, True])
    assert grid.shape == (8 + gallery.LABEL_HEIGHT + 8, 2 * 8 + 3 * 4, 3)
    assert (grid[2, 2] == gallery.BACKGROUND).all()
    left = 4 + 8 + 4
    assert tuple(grid[2, left + 3]) == gallery.DEAD_COLOUR  # frame above the dead tile
    label_strip = grid[4 + 8:4 + 8 + gallery.LABEL_HEIGHT, 4:12]
    assert (label_strip != gallery.BACKGROUND).any()  # text was drawn


def test_grey_tiles_become_rgb():
    grid = gallery.make_grid(np.full((1, 4, 4, 1), 200, np.uint8), margin=0)
    assert grid.shape == (4, 4, 3) and (grid == 200).all()


def test_small_images_are_enlarged_pixel_for_pixel_by_a_whole_factor():
    tiles = np.arange(2 * 3 * 5 * 3, dtype=np.uint8).reshape(2, 3, 5, 3)
    big = gallery.enlarged(tiles, 12)  # 5 px wide: 3× reaches 15, the smallest whole factor past 12
    assert big.shape == (2, 9, 15, 3) and (big[:, ::3, ::3] == tiles).all() and (big[:, 2::3, 2::3] == tiles).all()
    assert gallery.enlarged(tiles, 4).shape == tiles.shape  # large enough already
    pair = gallery.side_by_side([tiles[0], tiles[1]], margin=0, min_side=10)
    assert pair.shape == (6, 20, 3)
