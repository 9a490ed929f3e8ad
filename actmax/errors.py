"""User-facing errors: each message names the bad value, what was expected, and the fix."""


class ActmaxError(Exception):
    """Base class for every error actmax reports to a user as one line."""


class ModelError(ActmaxError):
    """A model name or file could not be resolved or loaded."""


class LayerError(ActmaxError):
    """A layer is unknown or cannot be visualised."""


class FilterError(ActmaxError):
    """A filter selection is malformed or out of range."""


class ObjectiveError(ActmaxError):
    """An objective expression could not be parsed or applied."""


class ImageError(ActmaxError):
    """An input image is missing or unreadable."""


class OutputError(ActmaxError):
    """An output folder or file cannot be written."""


class OutOfMemoryError(ActmaxError):
    """A run needs more host or device memory than there is, even at the smallest batch."""
