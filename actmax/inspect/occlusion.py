"""Occlusion sensitivity: slide a grey patch over the photo and map how much the chosen score drops."""

from __future__ import annotations

from typing import Callable

import numpy as np
import tensorflow as tf

from .. import models
from ..models import memory
from ..optvis import objectives
from ..output import colormaps, gallery, imaging
from ..errors import ActmaxError

Score = Callable[[tf.Tensor], tf.Tensor]


def positions(length: int, patch: int, stride: int) -> list[int]:
    """Patch offsets along one axis, every `stride` px, the last one flush with the edge."""
    last = max(length - patch, 0)
    return sorted(set(list(range(0, last + 1, stride)) + [last]))


def score_function(spec: models.ModelSpec, target: str | None, image: np.ndarray,
                   names: list[str] | None = None) -> tuple[Score, str]:
    """The score to watch: a class probability for classifiers (`class:N`, or `class:NAME` with the classes'
    `names`; default top-1; as the head reports it, `models.Head`), else a filter's mean.

    For a conv body the default is the strongest filter of its last layer; `target` may be `layer:index`.
    """
    if models.is_classifier(spec.model) and (target is None or target.startswith("class:")):
        models.check_fits(spec, image.shape, models.LOGITS)
        logits, head = models.FeatureModel(spec, (models.LOGITS,), compiled=True), models.head(spec)
        probs = lambda x: head.probabilities(logits(x)[models.LOGITS])
        index = (models.class_index(target.partition(":")[2], names) if target
                 else int(np.argmax(probs(tf.constant(image[None]))[0])))
        if not 0 <= index < head.classes:
            raise ActmaxError(f"class {index} is outside this model's range 0-{head.classes - 1}")
        return (lambda x: tf.cast(probs(x)[:, index], tf.float32)), f"class:{index}"
    if target is None:
        layer = models.last_conv_layer(spec.model)
        models.check_fits(spec, image.shape, layer)
        acts = models.FeatureModel(spec, (layer,), pre_activation=False)(tf.constant(image[None]))[layer]
        target = f"{layer}:{int(np.argmax(tf.reduce_mean(acts, axis=(0, 1, 2))))}"
    goal = objectives.parse(target)
    models.check_fits(spec, image.shape, *goal.layers)
    features = models.FeatureModel(spec, tuple(goal.layers), pre_activation=False, compiled=True)
    objectives.evaluated(goal, features(tf.constant(image[None])), spec.name)  # a filter the layer lacks: one line
    return (lambda x: goal(features(x))), target


def patch_and_stride(image: np.ndarray, patch: int | None = None, stride: int | None = None) -> tuple[int, int]:
    """The patch and its step, each as given or by default: a seventh of the photo's shorter side (32 px at 224; 4 for
    a 28 px model's input, which a fixed 32 would cover whole), and half the patch."""
    patch = patch or max(2, min(image.shape[:2]) // 7)
    return patch, stride or max(1, patch // 2)


def occlusion_map(score: Score, image: np.ndarray, *, patch: int | None = None, stride: int | None = None,
                  batch: int = 32, fill: float = 0.5) -> np.ndarray:
    """Per pixel, the mean drop of `score` over the patches covering it (H, W); positive = the pixel helped.
    `patch` and `stride` default as `patch_and_stride` says.

    Raises:
        ActmaxError: a patch that covers the whole photo (every position would hide all of it: a flat map).
    """
    height, width = image.shape[:2]
    patch, stride = patch_and_stride(image, patch, stride)
    if patch >= max(height, width):
        raise ActmaxError(f"--patch {patch} px covers the whole {width}x{height} photo, so the map would be flat; "
                          f"use a patch smaller than {max(height, width)} px, e.g. {patch_and_stride(image)[0]}")
    base = float(score(tf.constant(image[None]))[0])
    spots = [(y, x) for y in positions(height, patch, stride) for x in positions(width, patch, stride)]
    drops = []
    for start in range(0, len(spots), batch):
        occluded = np.repeat(image[None], len(spots[start:start + batch]), axis=0)
        for i, (y, x) in enumerate(spots[start:start + batch]):
            occluded[i, y:y + patch, x:x + patch] = fill
        drops.extend(base - score(tf.constant(occluded)).numpy())
    total, count = np.zeros((height, width)), np.zeros((height, width))
    for (y, x), drop in zip(spots, drops):
        total[y:y + patch, x:x + patch] += drop
        count[y:y + patch, x:x + patch] += 1
    return (total / np.maximum(count, 1)).astype(np.float32)


@memory.guard("lower --size")
def figure(spec: models.ModelSpec, image: np.ndarray, *, target: str | None = None, patch: int | None = None,
           stride: int | None = None, colormap: str = "inferno",
           names: list[str] | None = None) -> tuple[np.ndarray, str]:
    """What `actmax occlusion` saves: the photo beside the drop heatmap over it, under a title naming the score
    watched; also returns the score's name (`names`: the classes' names, see `models.class_names`, for a class by
    name and its label)."""
    score, name = score_function(spec, target, image, names)
    heat = occlusion_map(score, image, patch=patch, stride=stride)
    shown = colormaps.overlay(image, colormaps.normalise(np.maximum(heat, 0)), name=colormap)
    shows = models.class_label(int(name[6:]), names) if name.startswith("class:") else name
    pair = gallery.side_by_side([imaging.to_uint8(image), shown], labels=["input", "score drop"])
    return gallery.titled(pair, f"occlusion: {shows}"), name
