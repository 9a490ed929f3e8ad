"""Names of a classifier's classes, for labels: a user's file, or ImageNet's for keras.applications models.

A names file is plain text, one name per line in class order, or JSON: a list, or an object keyed by class
index whose values are names or lists ending in the name (Keras's `imagenet_class_index.json` is one).
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import json
from pathlib import Path

import numpy as np

from ..errors import ActmaxError, LayerError
from .downloads import announced_when_under_way
from .heads import head
from .layers import get_layer, is_classifier, logits_layer, upstream
from .loading import ModelSpec
from .selection import INDEX_PART

IMAGENET_CLASSES = 1000


def read_names(path: Path | str, classes: int) -> list[str]:
    """The `classes` names in a names file.

    Raises:
        ActmaxError: the file is missing, unreadable, or names another number of classes.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
        names = _parse(text, json_file=path.suffix.lower() == ".json")
    except (OSError, UnicodeDecodeError, ValueError, TypeError, IndexError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not a list of names or an index → name object"
        raise ActmaxError(f"cannot read class names from '{path}': {reason}; give a text file with one name per "
                          "line, or a JSON list") from None
    if len(names) != classes:
        raise ActmaxError(f"'{path}' names {len(names)} classes and the model has {classes}; give one name per "
                          "class, in class order")
    return names


def _parse(text: str, *, json_file: bool) -> list[str]:
    """Names from a file's text: a JSON list or index-keyed object, else one name per line (blank end lines
    dropped)."""
    if not json_file:
        return [line.strip() for line in text.rstrip().splitlines()]
    data = json.loads(text)
    if isinstance(data, dict):
        keys = sorted(data, key=int)
        if [int(key) for key in keys] != list(range(len(keys))):
            raise ValueError("keys are not the indices 0..n-1")
        data = [data[key] for key in keys]
    return [str(name[-1] if isinstance(name, list) else name) for name in data]


@functools.lru_cache(maxsize=1)
def imagenet_names() -> tuple[str, ...] | None:
    """ImageNet's 1,000 class names as Keras gives them (its index file downloads once), or None offline."""
    try:
        import keras
        with announced_when_under_way():
            decoded = keras.applications.imagenet_utils.decode_predictions(np.eye(IMAGENET_CLASSES, dtype="float32"),
                                                                           top=1)
    except Exception:  # offline, or the download failed: indices alone still label the classes
        return None
    return tuple(row[0][1] for row in decoded)


def class_index(value: str | int, names: list[str] | None) -> int:
    """A class given by its index or by its name (one of `names`).

    Raises:
        ActmaxError: a name that is not among `names`, or a name where the classes have none.
    """
    with contextlib.suppress(ValueError):
        return int(value)  # its range is checked where the class is used
    if not names:
        raise ActmaxError(f"class '{value}' is a name, and this model's classes have none; give its index, or name "
                          "them with --class-names FILE")
    if value in names:
        return names.index(value)
    close = difflib.get_close_matches(value, names, n=3)
    raise ActmaxError(f"no class is named '{value}'; " + (f"did you mean {', '.join(close)}?" if close else
                                                          "give one of the names in the class names, or an index"))


def units_by_name(filters, names: list[str] | None, *, head: bool = True):
    """A class head's filter selection with classes given by name (`tulip,rose,0-3`) as indices (`12,40,0-3`); as
    given where the layer is not the class `head` or the selection is not text.

    Raises:
        ActmaxError: a name that is not among `names`, or a name where the classes have none (class_index).
    """
    if not head or not isinstance(filters, str) or filters.strip().lower() == "all":
        return filters
    parts = [part.strip() for part in filters.split(",")]
    return ",".join(part if INDEX_PART.match(part) else str(class_index(part, names)) for part in parts)


def class_label(index: int, names: list[str] | None) -> str:
    """A class as figure labels show it: its index, and its name where known."""
    return f"class {index} {names[index]}" if names else f"class {index}"


def class_names(spec: ModelSpec, path: Path | str | None = None) -> list[str] | None:
    """Names of the classifier head's classes: from `path`, else ImageNet's for a keras.applications classifier with
    its ImageNet weights, else None (labels show indices; so for a model with no class head).

    Raises:
        LayerError: `path` is given and the model has no class head.
        ActmaxError: the file does not name the head's classes.
    """
    if not is_classifier(spec.model):
        if path is not None:
            raise LayerError(f"--class-names names a classifier's classes, and model '{spec.name}' has no class head")
        return None
    if path is not None:
        return read_names(path, head(spec).classes)
    if spec.imagenet and head(spec).classes == IMAGENET_CLASSES:
        names = imagenet_names()
        return list(names) if names else None
    return None


def is_class_head(spec: ModelSpec, layer: str) -> bool:
    """Whether the layer's units are the model's classes: its class head, or the layer that a head with no weights of
    its own (a Softmax or Activation layer) reads."""
    if not is_classifier(spec.model):
        return False
    path, head_tap = get_layer(spec.model, layer, units=True).path, logits_layer(spec.model)
    return path == head_tap.path or (not head_tap.layer.weights and
                                     path in upstream(spec.model, head_tap.path, direct=True))


def check_named(spec: ModelSpec, layers, path: Path | str | None) -> None:
    """Check that a names file, if given, has a class head among `layers` to name.

    Raises:
        LayerError: none of the layers is the class head.
    """
    if path is None or any(is_class_head(spec, layer) for layer in layers):
        return
    class_names(spec, path)  # a model with no class head is refused here
    raise LayerError(f"--class-names names a classifier's classes; render its class head "
                     f"('{logits_layer(spec.model).path}')")


def unit_names(spec: ModelSpec, layer: str, path: Path | str | None = None) -> list[str] | None:
    """Names of a layer's units where the layer is the class head (a one-unit head's unit is class 1), else None.

    Raises:
        ActmaxError: the file does not name the head's classes.
    """
    if not is_class_head(spec, layer):
        return None
    names = class_names(spec, path)
    return names[1:] if names and head(spec).units == 1 else names
