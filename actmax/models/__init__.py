"""Models: resolving a model by name or file (the embedded one among them), its input convention, layer paths through
nested models, feature models, precision, receptive fields (`models.receptive`).

The names below are the package's interface; the submodules each own one of those ideas.
"""

from .class_names import (check_named, class_index, class_label, class_names, is_class_head, read_names, unit_names,
                          units_by_name)
from .custom_code import custom_objects_of, objects_in
from .features import ACTIVATION_LAYERS, FeatureModel, judging_features, scoring_features, sliceable
from .graph import reads_raw_pixels
from .heads import Head, head, load_for
from .layers import (LOGITS, MIN_SIZES, check_fits, convolutions, filter_count, firing_floor, get_layer, is_classifier,
                     last_conv_layer, layer_table, logits_layer, min_size, resolve_layer, resolve_layers, shapes_upto,
                     unit_layers, unit_table, visual_layers)
from .embedded import hed_cache
from .loading import DEFAULT_MODEL, KERAS_APPS, ModelSpec, load_model, model_names
from .precision import PRECISIONS, in_float32, low_precision_policy, native_bfloat16, resolve_precision, with_precision
from .preprocess import CAFFE_MEAN_BGR, HED_MEAN_BGR, PREPROCESS_MODES, model_input, preprocess_fn

__all__ = [
    "ACTIVATION_LAYERS", "CAFFE_MEAN_BGR", "DEFAULT_MODEL", "FeatureModel", "HED_MEAN_BGR", "Head", "KERAS_APPS",
    "LOGITS", "MIN_SIZES", "ModelSpec", "PRECISIONS", "PREPROCESS_MODES", "check_fits", "check_named", "class_index",
    "class_label", "class_names", "convolutions", "custom_objects_of", "filter_count", "firing_floor", "get_layer",
    "head", "hed_cache", "in_float32", "is_class_head", "is_classifier", "judging_features", "last_conv_layer",
    "layer_table", "load_for", "load_model", "logits_layer", "low_precision_policy", "min_size", "model_input",
    "model_names", "native_bfloat16", "objects_in", "preprocess_fn", "read_names", "reads_raw_pixels", "resolve_layer",
    "resolve_layers", "resolve_precision", "scoring_features", "shapes_upto", "sliceable", "unit_layers", "unit_names",
    "unit_table", "units_by_name", "visual_layers", "with_precision",
]
