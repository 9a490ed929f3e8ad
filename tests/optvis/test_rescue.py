import numpy as np

import actmax
from actmax.optvis import metrics, rescue


def test_with_contrast_scales_each_pattern_about_its_mean_colour_to_its_own_rms():
    rng = np.random.default_rng(0)
    images = (np.array([0.3, 0.5, 0.6]) + 0.05 * rng.standard_normal((2, 16, 16, 3))).astype(np.float32)
    scaled = rescue.with_contrast(images, np.array([0.1, 0.15]))
    np.testing.assert_allclose(rescue.contrast(scaled), [0.1, 0.15], atol=0.005)
    np.testing.assert_allclose(scaled.mean(axis=(1, 2)), images.mean(axis=(1, 2)), atol=0.005)  # same mean colour
    centred = lambda x: (x - x.mean(axis=(1, 2), keepdims=True)).ravel()  # noqa: E731
    assert np.corrcoef(centred(scaled[:1]), centred(images[:1]))[0, 1] > 0.99  # the same pattern


def test_boost_spends_the_contrast_cap_where_it_holds_the_filter_better(hed):
    kwargs = dict(model=hed, size=48, octaves=2, steps=10, seed=0, rescue=0, revive=0, wake=0)
    plain = actmax.render("block3_conv1", "0-3", boost=0, **kwargs)
    boosted = actmax.render("block3_conv1", "0-3", boost=2, **kwargs)
    assert boosted.extra["boosted"] == 4
    assert (rescue.contrast(boosted.images) > 1.5 * rescue.contrast(plain.images)).all()
    assert (rescue.contrast(boosted.images) <= boosted.settings.contrast + 0.01).all()
    held = [metrics.robust_activation(hed, "block3_conv1", r.images, r.filters) for r in (plain, boosted)]
    assert (held[1] > 1.3 * held[0]).all()


def test_boost_keeps_the_images_a_higher_contrast_would_not_hold_better(hed):
    kwargs = dict(model=hed, size=48, octaves=2, steps=10, seed=0, rescue=0, revive=0, wake=0)
    plain = actmax.render("block2_conv1", "0,17,93,119", boost=0, **kwargs)
    boosted = actmax.render("block2_conv1", "0,17,93,119", boost=2, **kwargs)
    changed = (boosted.images != plain.images).any(axis=(1, 2, 3))
    assert 1 <= boosted.extra["boosted"] == changed.sum() < 4
    assert (rescue.contrast(plain.images[~changed]) < 0.2).all()  # tried, and kept as they were
    held = [metrics.robust_activation(hed, "block2_conv1", r.images, r.filters)[changed] for r in (plain, boosted)]
    assert (held[1] > held[0]).all()


def test_boost_needs_a_contrast_cap_to_search_up_to(hed):
    result = actmax.render("block3_conv1", "0-1", model=hed, size=32, octaves=1, steps=4, contrast=0.0, boost=2)
    assert result.extra["boosted"] == 0
