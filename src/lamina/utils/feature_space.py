"""`keras.utils.FeatureSpace`: one object that preprocesses and encodes a dict of
structured-data columns (numbers, integer and string categories, hashed crosses).

Strings stay on the host as numpy arrays, as the preprocessing layers take them; the
encoded output is a torch tensor (or a dict of them).
"""

import numpy as np
import torch

from lamina import ops
from lamina.backend import naming
from lamina.layers.core.identity import Identity
from lamina.layers.input_layer import Input
from lamina.layers.layer import Layer
from lamina.layers.preprocessing.category_encoding import CategoryEncoding
from lamina.layers.preprocessing.discretization import Discretization
from lamina.layers.preprocessing.hashed_crossing import HashedCrossing
from lamina.layers.preprocessing.hashing import Hashing
from lamina.layers.preprocessing.index_lookup import IndexLookup
from lamina.layers.preprocessing.integer_lookup import IntegerLookup
from lamina.layers.preprocessing.normalization import Normalization
from lamina.layers.preprocessing.rescaling import Rescaling
from lamina.layers.preprocessing.string_lookup import StringLookup
from lamina.saving.saving_api import save_model
from lamina.serialization.serialization import deserialize_keras_object, serialize_keras_object


def _check_mode(output_mode, allowed):
    if output_mode not in allowed:
        raise ValueError(
            "Invalid value for argument `output_mode`. Expected one of "
            f"{sorted(allowed)}. Received: output_mode={output_mode!r}")


# Keras writes `Feature` and `Cross` configs under this (private) module.
_KERAS_MODULE = "keras.src.layers.preprocessing.feature_space"


class Cross:
    """A hashed cross of two or more features (see `FeatureSpace.cross`)."""

    _keras_module = _KERAS_MODULE

    def __init__(self, feature_names, crossing_dim, output_mode="one_hot"):
        _check_mode(output_mode, {"int", "one_hot"})
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self):
        return "_X_".join(self.feature_names)

    def get_config(self):
        return {"feature_names": self.feature_names, "crossing_dim": self.crossing_dim,
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)



class Feature:
    """One input column: its dtype, the layer that preprocesses it, and how the result is
    encoded (`"float"`, `"int"` or `"one_hot"`)."""

    _keras_module = _KERAS_MODULE

    def __init__(self, dtype, preprocessor, output_mode):
        _check_mode(output_mode, {"int", "one_hot", "float"})
        self.dtype = dtype
        if isinstance(preprocessor, dict) and preprocessor.get("class_name") == "TFDIdentity":
            # Keras' "float" features pass through its tf.data-only identity layer.
            preprocessor = Identity(name=preprocessor["config"].get("name"))
        elif isinstance(preprocessor, dict):
            preprocessor = deserialize_keras_object(preprocessor)
        self.preprocessor = preprocessor
        self.output_mode = output_mode

    def get_config(self):
        return {"dtype": self.dtype, "preprocessor": serialize_keras_object(self.preprocessor),
                "output_mode": self.output_mode}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _from_saved(config, cls):
    """A `Feature`/`Cross` from its serialized dict (lamina's or Keras' module name)."""
    if config.get("class_name") != cls.__name__:
        raise ValueError(f"Expected a serialized {cls.__name__}, received: {config!r}")
    return cls.from_config(config["config"])


_SHORTCUTS = ("float", "float_rescaled", "float_normalized", "float_discretized",
              "integer_categorical", "string_categorical", "integer_hashed", "string_hashed")


class FeatureSpace(Layer):
    """Preprocess and encode a dict of structured-data features into one vector per sample.

    Args:
        features: dict mapping each feature name to a `Feature` (from the constructors
            below, e.g. `FeatureSpace.string_categorical(max_tokens=10)`) or to a shortcut
            string: `"float"`, `"float_rescaled"`, `"float_normalized"`,
            `"float_discretized"`, `"integer_categorical"`, `"string_categorical"`,
            `"integer_hashed"`, `"string_hashed"`.
        output_mode: `"concat"` (one float32 tensor, features in sorted name order, then
            crosses) or `"dict"` (one tensor per feature and cross).
        crosses: feature-name tuples (or `FeatureSpace.cross(...)`) to hash-cross.
        crossing_dim: number of bins of a cross given as names.
        hashing_dim: number of bins of the `"*_hashed"` shortcuts.
        num_discretization_bins: number of bins of the `"float_discretized"` shortcut.
        name: the layer name.

    `adapt(dataset)` learns the statistics and vocabularies. Keras takes a `tf.data`
    dataset of dicts; lamina takes a dict of arrays, an iterable of dict batches (a list,
    a generator, a `torch.utils.data.DataLoader`, a lamina dataset) or a `PyDataset`;
    `(x, y)` batches use `x`.

    >>> import numpy as np
    >>> fs = FeatureSpace({"age": "float_normalized", "color": "string_categorical"})
    >>> fs.adapt({"age": np.array([20.0, 40.0]), "color": np.array(["red", "blue"])})
    >>> fs({"age": np.array([30.0]), "color": np.array(["red"])}).tolist()
    [[0.0, 0.0, 1.0, 0.0]]
    """

    # NOTE: string columns reach `__call__` as numpy arrays; torch holds no strings.
    _takes_strings = True

    @classmethod
    def cross(cls, feature_names, crossing_dim, output_mode="one_hot"):
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype, preprocessor, output_mode):
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name=None):
        name = name or naming.unique_name("float")
        return Feature("float32", Identity(name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_rescaled(cls, scale=1.0, offset=0.0, name=None):
        name = name or naming.unique_name("float_rescaled")
        return Feature("float32", Rescaling(scale=scale, offset=offset,
                                            name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_normalized(cls, name=None):
        name = name or naming.unique_name("float_normalized")
        return Feature("float32", Normalization(axis=-1, name=f"{name}_preprocessor"), "float")

    @classmethod
    def float_discretized(cls, num_bins, bin_boundaries=None, output_mode="one_hot", name=None):
        name = name or naming.unique_name("float_discretized")
        layer = Discretization(num_bins=num_bins, bin_boundaries=bin_boundaries,
                               name=f"{name}_preprocessor")
        return Feature("float32", layer, output_mode)

    @classmethod
    def integer_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot",
                            name=None):
        name = name or naming.unique_name("integer_categorical")
        layer = IntegerLookup(name=f"{name}_preprocessor", max_tokens=max_tokens,
                              num_oov_indices=num_oov_indices)
        return Feature("int32", layer, output_mode)

    @classmethod
    def string_categorical(cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot",
                           name=None):
        name = name or naming.unique_name("string_categorical")
        layer = StringLookup(name=f"{name}_preprocessor", max_tokens=max_tokens,
                             num_oov_indices=num_oov_indices)
        return Feature("string", layer, output_mode)

    @classmethod
    def string_hashed(cls, num_bins, output_mode="one_hot", name=None):
        name = name or naming.unique_name("string_hashed")
        return Feature("string", Hashing(name=f"{name}_preprocessor", num_bins=num_bins),
                       output_mode)

    @classmethod
    def integer_hashed(cls, num_bins, output_mode="one_hot", name=None):
        name = name or naming.unique_name("integer_hashed")
        return Feature("int32", Hashing(name=f"{name}_preprocessor", num_bins=num_bins),
                       output_mode)

    def __init__(self, features, output_mode="concat", crosses=None, crossing_dim=32,
                 hashing_dim=32, num_discretization_bins=32, name=None):
        super().__init__(name=name)
        if not features:
            raise ValueError("The `features` argument cannot be None or empty.")
        _check_mode(output_mode, {"dict", "concat"})
        self.output_mode = output_mode
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {key: self._standardize_feature(key, value)
                         for key, value in features.items()}
        self.crosses = [self._standardize_cross(cross) for cross in crosses or ()]
        self.crosses_by_name = {cross.name: cross for cross in self.crosses}
        self.inputs = {key: Input(shape=(1,), dtype=feature.dtype, name=key)
                       for key, feature in self.features.items()}
        self.preprocessors = {key: f.preprocessor for key, f in self.features.items()}
        self.crossers = {cross.name: HashedCrossing(cross.crossing_dim, name=cross.name)
                         for cross in self.crosses}
        self.one_hot_encoders = {}
        self.encoded_features = None
        self._is_adapted = False
        self._sublayers_built = False

    def _standardize_feature(self, name, feature):
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return _from_saved(feature, Feature)
        if feature in ("float_discretized",):
            return self.float_discretized(num_bins=self.num_discretization_bins, name=name)
        if feature in ("integer_hashed", "string_hashed"):
            return getattr(self, feature)(self.hashing_dim, name=name)
        if feature in _SHORTCUTS:
            return getattr(self, feature)(name=name)
        raise ValueError(
            f"Invalid feature type for feature '{name}': {feature!r}. Expected a "
            f"`FeatureSpace.feature(...)` or one of {list(_SHORTCUTS)}.")

    def _standardize_cross(self, cross):
        if isinstance(cross, dict):
            cross = _from_saved(cross, Cross)
        if isinstance(cross, Cross):
            return cross
        if not self.crossing_dim:
            raise ValueError("When specifying `crosses`, the argument `crossing_dim` "
                             "(dimensionality of the crossing space) should be specified.")
        unknown = [key for key in cross if key not in self.features]
        if unknown:
            raise ValueError(
                "All features referenced in the `crosses` argument should be present in "
                f"the `features` dict. Received unknown features: {unknown} in cross "
                f"{tuple(cross)}")
        return Cross(cross, crossing_dim=self.crossing_dim)

    def _adaptable(self):
        names = []
        for key, layer in self.preprocessors.items():
            if isinstance(layer, Normalization) and layer.input_mean is not None:
                continue
            if isinstance(layer, Discretization) and layer.num_bins is None:
                continue  # given `bin_boundaries`: nothing to learn
            if isinstance(layer, IndexLookup) and getattr(layer, "_has_input_vocabulary", False):
                continue
            if hasattr(layer, "adapt"):
                names.append(key)
        return names

    def adapt(self, dataset):
        """Learn every adaptable preprocessor's state from `dataset` (see the class doc)."""
        columns = _collect_columns(dataset, self._adaptable())
        for key, column in columns.items():
            if self.features[key].dtype != "string":
                column = torch.as_tensor(np.asarray(column, dtype=self.features[key].dtype))
            self.preprocessors[key].adapt(column)
        self._is_adapted = True
        self._build_encoders()

    def get_inputs(self):
        """The dict of `Input`s (shape `(None, 1)`) a functional model over the encoded
        features takes."""
        self._check_if_built()
        return self.inputs

    def get_encoded_features(self):
        """The encoded features of `get_inputs()`, symbolically: a model's inputs to build on."""
        self._check_if_built()
        if self.encoded_features is None:
            self.encoded_features = self._encode(self.inputs)
        return self.encoded_features

    def _check_if_adapted(self):
        if not self._is_adapted:
            if self._adaptable():
                raise ValueError("You need to call `.adapt(dataset)` on the FeatureSpace "
                                 "before you can start using it.")
            self._is_adapted = True

    def _check_if_built(self):
        if not self._sublayers_built:
            self._check_if_adapted()
            self._build_encoders()

    def _build_encoders(self):
        """One-hot encoders sized by each preprocessor's output space; refuses what concat
        cannot join. Depends on adapted state only, so it runs once."""
        specs = [(key, self.features[key], self.preprocessors[key])
                 for key in sorted(self.features)]
        specs += [(key, self.crosses_by_name[key], self.crossers[key])
                  for key in sorted(self.crossers)]
        encoders = {}
        for key, spec, layer in specs:
            if spec.output_mode == "one_hot":
                encoders[key] = CategoryEncoding(num_tokens=_cardinality(key, layer),
                                                 output_mode="multi_hot")
            elif spec.output_mode == "int" and self.output_mode == "concat":
                raise ValueError(
                    f"Cannot concatenate features because feature '{key}' has not been "
                    "encoded (its output_mode is 'int'). Consider using "
                    "`output_mode='dict'`.")
        self.one_hot_encoders = encoders
        self._merge_order = [key for key, _, _ in specs]
        self._sublayers_built = True
        self.built = True

    def _encode(self, columns):
        outputs = {key: self.preprocessors[key](columns[key]) for key in self.features}
        for cross in self.crosses:
            outputs[cross.name] = self.crossers[cross.name](
                [outputs[key] for key in cross.feature_names])
        for key, encoder in self.one_hot_encoders.items():
            outputs[key] = encoder(outputs[key])
        if self.output_mode == "dict":
            return {key: outputs[key] for key in self._merge_order}
        return ops.concatenate([ops.cast(outputs[key], "float32") for key in self._merge_order],
                               axis=-1)

    def __call__(self, data):
        self._check_if_built()
        if not isinstance(data, dict):
            raise ValueError("A FeatureSpace can only be called with a dict. "
                             f"Received: data={data!r} (of type {type(data).__name__})")
        missing = [key for key in self.features if key not in data]
        if missing:
            raise ValueError(f"FeatureSpace '{self.name}': the input dict lacks features "
                             f"{missing}. Expected keys: {list(self.features)}")
        unknown = [key for key in data if key not in self.features]
        if unknown:
            raise ValueError(f"FeatureSpace '{self.name}': unknown features {unknown} in "
                             f"the input dict. Expected keys: {list(self.features)}")
        columns, rebatched = {}, False
        for key, feature in self.features.items():
            column = _as_column(data[key], feature.dtype, key)
            rebatched = rebatched or column.ndim == 0
            columns[key] = column.reshape(1, 1) if column.ndim == 0 else (
                column[:, None] if column.ndim == 1 else column)
        outputs = self._encode(columns)
        if rebatched:  # a single sample in, a single sample out, as Keras
            if self.output_mode == "concat":
                return outputs[0]
            return {key: value[0] if value.ndim == 2 and value.shape[0] == 1 else value
                    for key, value in outputs.items()}
        return outputs

    def get_config(self):
        return {
            "features": serialize_keras_object(self.features),
            "output_mode": self.output_mode,
            "crosses": serialize_keras_object(self.crosses),
            "crossing_dim": self.crossing_dim,
            "hashing_dim": self.hashing_dim,
            "num_discretization_bins": self.num_discretization_bins,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_build_config(self):
        return {key: f.preprocessor.get_build_config() for key, f in self.features.items()}

    def build_from_config(self, config):
        for key, build_config in config.items():
            layer = self.features[key].preprocessor
            if not layer.built and build_config:
                layer.build_from_config(build_config)
        self._is_adapted = True

    def save(self, filepath):
        """Save to a `.keras` file; reload with `lamina.saving.load_model`."""
        save_model(self, filepath)

    def save_own_variables(self, store):
        return

    def load_own_variables(self, store):
        return


def _cardinality(key, layer):
    if isinstance(layer, IndexLookup):
        return layer.vocabulary_size()
    if isinstance(layer, CategoryEncoding):
        return layer.num_tokens
    if isinstance(layer, Discretization) and layer.num_bins is None:
        # NOTE: Keras leaves such a feature unencoded (and refuses to concat it).
        return len(layer.bin_boundaries) + 1
    if isinstance(layer, (Discretization, Hashing, HashedCrossing)):
        return layer.num_bins
    raise ValueError(
        f"Feature '{key}' has `output_mode='one_hot'`. However it isn't a standard feature "
        "and the dimensionality of its output space is not known, thus it cannot be "
        "one-hot encoded. Try using `output_mode='int'`.")


def _to_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _as_column(value, dtype, key):
    """One feature's batch: a numpy string array, or a torch tensor of `dtype`."""
    if dtype == "string":
        array = _to_numpy(value)
        if array.dtype.kind not in "USO":
            raise ValueError(f"Feature '{key}' is a string feature; received values of "
                             f"dtype {array.dtype}.")
        return array
    if isinstance(value, torch.Tensor):
        return value.to(torch.float32 if dtype == "float32" else torch.int64)
    array = _to_numpy(value)
    if array.dtype.kind in "USO":
        raise ValueError(f"Feature '{key}' is a {dtype} feature; received string values.")
    return torch.as_tensor(array.astype(np.float32 if dtype == "float32" else np.int64))


def _batches(dataset):
    if isinstance(dataset, dict):
        return [dataset]
    if hasattr(dataset, "num_batches") and hasattr(dataset, "__getitem__"):
        if dataset.num_batches is None:
            raise ValueError("FeatureSpace.adapt() cannot read an endless PyDataset.")
        return (dataset[i] for i in range(dataset.num_batches))
    if hasattr(dataset, "__iter__") and not isinstance(dataset, (str, bytes)):
        return dataset
    raise ValueError(
        "`adapt()` takes a dict of arrays/lists or an iterable of dict batches (a list, a "
        "generator, a DataLoader, a PyDataset). "
        f"Received instead: {dataset!r} (of type {type(dataset).__name__})")


def _collect_columns(dataset, names):
    """Each named feature's whole column (rank 2, one sample per row) from `dataset`."""
    parts = {key: [] for key in names}
    for batch in _batches(dataset):
        if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], dict):
            batch = batch[0]
        if not isinstance(batch, dict):
            raise ValueError("`adapt()` expects the dataset to yield dicts of features. "
                             f"Received a batch of type {type(batch).__name__}.")
        missing = [key for key in names if key not in batch]
        if missing:
            raise ValueError(f"`adapt()`: the dataset lacks features {missing}.")
        for key in names:
            parts[key].append(np.atleast_1d(_to_numpy(batch[key])))
    columns = {}
    for key, arrays in parts.items():
        if not arrays or sum(len(a) for a in arrays) == 0:
            raise ValueError(f"`adapt()` received no data for feature '{key}'.")
        column = np.concatenate(arrays, axis=0)
        columns[key] = column[:, None] if column.ndim == 1 else column
    return columns
