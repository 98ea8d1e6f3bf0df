"""`Function`: a graph of layers and ops from symbolic inputs to outputs, as `keras.Function`.

It is the graph a functional model runs, without the model around it (no weights
API, no training): calling it replays the same plan as `Functional`.
"""

from lamina import tree
from lamina.backend.symbolic import KerasTensor
from lamina.models.functional import Functional
from lamina.ops.operation import Operation


class Function(Operation):
    """Callable graph from `inputs` to `outputs` (nested structures of `KerasTensor`s).

    >>> import lamina
    >>> x = lamina.Input((3,))
    >>> double_relu = Function(x, lamina.ops.relu(x) * 2)
    >>> double_relu(lamina.ops.convert_to_tensor([[-1.0, 0.5, 2.0]])).tolist()
    [[0.0, 1.0, 4.0]]
    """

    def __init__(self, inputs, outputs, name=None):
        super().__init__(name=name or "function")
        self._graph_model = Functional(inputs, outputs, name=self.name)

    @property
    def operations(self):
        return self._graph_model.operations

    @property
    def inputs(self):
        return self._graph_model.inputs

    @property
    def outputs(self):
        return self._graph_model.outputs

    @property
    def input(self):
        return self._graph_model.input

    @property
    def output(self):
        return self._graph_model.output

    def call(self, inputs):
        return self._graph_model(inputs)

    def compute_output_spec(self, inputs):
        return self._graph_model.compute_output_spec(inputs)

    def compute_output_shape(self, input_shape):
        inputs = self._graph_model.input
        if isinstance(inputs, KerasTensor):
            specs = KerasTensor(tuple(input_shape), inputs.dtype)
        elif isinstance(inputs, dict):
            specs = {k: KerasTensor(tuple(input_shape[k]), t.dtype) for k, t in inputs.items()}
        else:
            specs = [KerasTensor(tuple(shape), t.dtype) for shape, t in zip(input_shape, inputs)]
        return tree.map_structure(lambda spec: spec.shape, self.compute_output_spec(specs))

    def get_config(self):
        return self._graph_model.get_config()

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = Functional.from_config(config, custom_objects=custom_objects)
        return cls(model.input, model.output, name=model.name)

