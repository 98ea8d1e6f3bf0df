"""`Model`: a `Layer` that can be trained (`compile`/`fit`/...) and summarised.

`Model(inputs, outputs)` returns a functional model; subclass `Model` and write `call`
for anything else.
"""

import re
import warnings

import torch

from lamina import tree
from lamina.backend.symbolic import KerasTensor, compute_output_spec
from lamina.layers.layer import Layer
from lamina.layers.tracking import TrackedList
from lamina.models.functional_config import functional_from_config
from lamina.trainers.trainer import Trainer


class LayerList(TrackedList):
    """Keras' `model.layers`: a new list on each read (editing it leaves the model alone),
    and also a view of the model's tracked `layers` submodule.

    NOTE: a Keras property named `layers` shadows the submodule of that name, and torch
    finds submodules by `getattr` (`get_submodule`, `functional_call`, `torch.export`, the
    ONNX exporter). Sharing the submodule's `_modules` lets those lookups reach the modules
    that `state_dict` names `layers.<i>`, and `model.layers[i]` is that same module.
    Editing the list gives it modules of its own (a `TrackedList` resyncs).
    """

    def __init__(self, layers, container):
        list.__init__(self, layers)
        torch.nn.Module.__init__(self)
        self.__dict__["_modules"] = container._modules

    def __reduce_ex__(self, protocol):
        return (list, (list(self),))


class Model(Trainer, Layer):
    """A trainable graph of layers.

    >>> import lamina
    >>> inputs = lamina.Input(shape=(4,))
    >>> outputs = lamina.layers.Dense(2)(inputs)
    >>> model = lamina.Model(inputs, outputs)
    >>> type(model).__name__, model.output_shape
    ('Functional', (None, 2))
    """

    _auto_config = True  # a subclass's constructor arguments are its config (auto_config.py)

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs):
            functional = _functional()
            return functional.__new__(functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            # A subclass calling `super().__init__(inputs, outputs)`: become functional,
            # keeping the subclass's own methods (Keras supports this pattern too).
            functional = _functional()
            if isinstance(self, functional):
                raise TypeError("Functional.__init__ expects `inputs` and `outputs`.")
            self.__class__ = _functional_subclass(type(self))
            functional.__init__(self, *args, **kwargs)
            return
        Trainer.__init__(self)
        Layer.__init__(self, **kwargs)

    def forward(self, inputs, *args, **kwargs):
        # NOTE: one named first parameter (Keras' `inputs`), because torch's tools read
        # `forward`'s signature: `torch.export`'s `dynamic_shapes=({0: batch},)` and ONNX
        # input names would otherwise address a `*args` tuple.
        return Layer.forward(self, inputs, *args, **kwargs)

    def build(self, input_shape=None):
        """Create the weights of a subclassed model by running `call` once on symbolic
        inputs of `input_shape` (no compute)."""
        if self.built:
            return
        if input_shape is None:
            raise ValueError(
                f"Model '{self.name}' needs an input shape to build, e.g. "
                "`model.build((None, 784))`."
            )

        def is_shape(value):
            return isinstance(value, (list, tuple)) and all(
                d is None or isinstance(d, int) for d in value)

        if is_shape(input_shape):
            inputs = KerasTensor(tuple(input_shape), dtype=self.compute_dtype)
        else:
            inputs = tree.map_structure(
                lambda s: KerasTensor(tuple(s), dtype=self.compute_dtype), input_shape)
        self.built = True  # so the symbolic run below does not try to build again
        try:
            compute_output_spec(self._full_call_tuple, (inputs,), {})
        except Exception:
            self.built = False
            raise
        self._build_shapes = {"input_shape": input_shape}

    @property
    def layers(self):
        """The model's direct sublayers, in tracking order."""
        container = self._modules.get("layers")
        if container is None:
            return self._sublayers()
        return LayerList(self._sublayers(), container)

    def get_layer(self, name=None, index=None):
        """A sublayer by `name` or by `index` in `layers`."""
        if index is not None and name is not None:
            raise ValueError(
                "Provide only a layer name or a layer index. Received: "
                f"index={index}, name={name}."
            )
        layers = self.layers
        if index is not None:
            if len(layers) <= index:
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model only has "
                    f"{len(layers)} layers."
                )
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"No such layer: {name}. Existing layers are: {[l.name for l in layers]}."
            )
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print Keras' table of layers, output shapes and parameter counts."""
        # NOTE: imported here: models/summary.py imports Functional, a subclass of Model.
        from lamina.models import summary as summary_utils

        summary_utils.print_summary(self, line_length=line_length, positions=positions,
                                    print_fn=print_fn, expand_nested=expand_nested,
                                    show_trainable=show_trainable, layer_range=layer_range)

    def quantize(self, mode=None, config=None, filters=None, **kwargs):
        """Quantize every leaf layer that supports it (Dense, EinsumDense, Embedding) to
        `mode` (`"int8"`, `"int4"`, `"float8"`) or per `config`; `filters` (a regex on layer
        names, a list of them, or a predicate) selects layers. Others are warned about."""
        type_check = kwargs.pop("type_check", True)
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: "
                             f"{kwargs}")
        if filters is not None and not isinstance(filters, (str, list, tuple)) and not callable(
                filters):
            raise ValueError("The `filters` argument must be a regex string, a list of regex "
                             f"strings, or a callable. Received: {type(filters)}")
        for layer in self._flatten_layers():
            if filters is not None and not (
                    filters(layer) if callable(filters) else any(
                        re.search(p, layer.name) for p in
                        ([filters] if isinstance(filters, str) else filters))):
                continue
            if len(layer._flatten_layers()) == 1:
                try:
                    layer.quantize(mode, type_check=type_check, config=config)
                except NotImplementedError as error:
                    warnings.warn(str(error), stacklevel=2)

    # -- files ---------------------------------------------------------------------------
    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Save the model as a Keras 3 `.keras` archive (config, weights, optimizer)."""
        return _saving_api().save_model(self, filepath, overwrite=overwrite, zipped=zipped,
                                        **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Save the weights to a Keras 3 `.weights.h5` file, or with `max_shard_size` (GB)
        to a `.weights.json` map and shards of at most that size."""
        return _saving_api().save_weights(self, filepath, overwrite=overwrite,
                                          max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False, **kwargs):
        """Load weights from a `.weights.h5` file, a sharded `.weights.json` map, a `.keras`
        archive, or a legacy Keras 2 `.h5` file (by topological order, or `by_name=True`)."""
        if kwargs:
            raise TypeError(f"Unrecognized arguments for `load_weights`: {sorted(kwargs)}")
        return _saving_api().load_weights(self, filepath, skip_mismatch=skip_mismatch,
                                          by_name=by_name)

    def to_json(self, **kwargs):
        """The model's config as a JSON string (`lamina.models.model_from_json` reads it)."""
        return _saving_api().model_to_json(self, **kwargs)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               **kwargs):
        """Write the model's inference call as an artifact that runs without lamina:
        `format="onnx"` (onnxruntime), `"torch"` (a `torch.export` program, `.pt2`) or
        `"executorch"` (`.pte`). The batch axis stays dynamic. `input_signature` (a list of
        `InputSpec`s/`KerasTensor`s/tensors, one per positional input) defaults to the
        model's inputs. `kwargs`: `opset_version` (ONNX), `backend` (ExecuTorch), and
        `torch.export.export`'s options (`strict`, `dynamic_shapes`, ...)."""
        # NOTE: imported here: lamina.export traces models, so it sits above models.
        from lamina.export.formats import export_model

        return export_model(self, filepath, format=format, verbose=verbose,
                            input_signature=input_signature, **kwargs)

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        auto = self.__dict__.get("_constructor_arguments")
        if type(self).get_config is Model.get_config and auto:
            config.update({k: v for k, v in auto.items() if k not in config})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if cls in (Model, _functional()) or "layers" in config and "input_layers" in config:
            return functional_from_config(cls, config, custom_objects)
        return cls(**config)


_FUNCTIONAL_SUBCLASSES = {}


def _functional_subclass(cls):
    """`cls` with `Functional` mixed in right after it (cached per class)."""
    if cls not in _FUNCTIONAL_SUBCLASSES:
        _FUNCTIONAL_SUBCLASSES[cls] = type(cls.__name__, (cls, _functional()),
                                           {"__module__": cls.__module__})
    return _FUNCTIONAL_SUBCLASSES[cls]


def _functional():
    """The `Functional` class (imported here: models/functional.py subclasses Model)."""
    from lamina.models.functional import Functional

    return Functional


def _saving_api():
    """`lamina.saving.saving_api` (imported here: the file formats are built on models)."""
    from lamina.saving import saving_api

    return saving_api
