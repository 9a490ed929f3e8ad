"""Models: resolving a model by name or file, layer paths through nested models, feature models, precision."""

from .core import (ACTIVATION_LAYERS, CAFFE_MEAN_BGR, DEFAULT_MODEL, HED_MEAN_BGR, KERAS_APPS, LOGITS, MIN_SIZES,
                   PRECISIONS, PREPROCESS_MODES, FeatureModel, ModelSpec, convolutions, filter_count, get_layer,
                   hed_cache, in_float32, is_classifier, last_conv_layer, layer_table, load_model, logits_layer,
                   low_precision_policy, min_size, model_input, model_names, native_bfloat16, preprocess_fn,
                   resolve_layer, resolve_precision, scoring_features, shapes_upto, sliceable, visual_layers,
                   with_precision)
