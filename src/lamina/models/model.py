"""`Model`: a `Layer` that can be trained (`compile`/`fit`/...) and summarised.

`Model(inputs, outputs)` returns a functional model; subclass `Model` and write `call`
for anything else.
"""

from lamina.layers.layer import Layer
from lamina.trainers.trainer import Trainer


class Model(Trainer, Layer):
    """A trainable graph of layers.

    >>> import lamina
    >>> inputs = lamina.Input(shape=(4,))
    >>> outputs = lamina.layers.Dense(2)(inputs)
    >>> model = lamina.Model(inputs, outputs)
    >>> type(model).__name__, model.output_shape
    ('Functional', (None, 2))
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs):
            from lamina.models.functional import Functional

            return Functional.__new__(Functional, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            # A subclass calling `super().__init__(inputs, outputs)`: become functional,
            # keeping the subclass's own methods (Keras supports this pattern too).
            from lamina.models.functional import Functional

            if isinstance(self, Functional):
                raise TypeError("Functional.__init__ expects `inputs` and `outputs`.")
            self.__class__ = _functional_subclass(type(self))
            Functional.__init__(self, *args, **kwargs)
            return
        Trainer.__init__(self)
        Layer.__init__(self, **kwargs)

    @property
    def layers(self):
        """The model's direct sublayers, in tracking order."""
        return self._sublayers()

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
        from lamina.utils import summary_utils

        summary_utils.print_summary(self, line_length=line_length, positions=positions,
                                    print_fn=print_fn, expand_nested=expand_nested,
                                    show_trainable=show_trainable, layer_range=layer_range)

    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        auto = self.__dict__.get("_auto_config")
        if type(self).get_config is Model.get_config and auto:
            config.update({k: v for k, v in auto.items() if k not in config})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from lamina.models.functional import Functional, functional_from_config

        if cls in (Model, Functional) or "layers" in config and "input_layers" in config:
            return functional_from_config(cls, config, custom_objects)
        return cls(**config)


_FUNCTIONAL_SUBCLASSES = {}


def _functional_subclass(cls):
    """`cls` with `Functional` mixed in right after it (cached per class)."""
    from lamina.models.functional import Functional

    if cls not in _FUNCTIONAL_SUBCLASSES:
        _FUNCTIONAL_SUBCLASSES[cls] = type(cls.__name__, (cls, Functional),
                                           {"__module__": cls.__module__})
    return _FUNCTIONAL_SUBCLASSES[cls]
