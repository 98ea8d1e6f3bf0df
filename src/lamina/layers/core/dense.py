"""`Dense`: the densely connected layer, `activation(inputs @ kernel + bias)`."""

import numbers

import torch

from lamina import activations, constraints, initializers, regularizers
from lamina.layers.activations.activation import direct_activation
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


class Dense(Layer):
    """Densely connected layer: `activation(inputs @ kernel + bias)` on the last axis.

    The kernel has Keras' layout `(input_dim, units)`, so weights copy 1:1 with Keras.
    Inputs of rank > 2 are multiplied on their last axis (`(batch, steps, d)` ->
    `(batch, steps, units)`).

    Args:
        units: positive int, the output size.
        activation: activation name or function (None: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers (names, configs or objects).
        kernel_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        kernel_constraint, bias_constraint: optional constraints applied after updates.
        lora_rank: if set, the kernel is frozen and a trainable low-rank update
            `lora_kernel_a @ lora_kernel_b` (scaled by `lora_alpha / lora_rank`) is added.
        lora_alpha: LoRA scale numerator (default: `lora_rank`).
        quantization_config: only None is supported.

    >>> import torch, lamina
    >>> layer = Dense(3, activation="relu")
    >>> layer(torch.ones(2, 4)).shape
    torch.Size([2, 3])
    >>> [tuple(w.shape) for w in layer.weights]
    [(4, 3), (3,)]
    """

    _casts_integer_inputs = True  # int/bool inputs compute in float, as in Keras

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units <= 0:
            raise ValueError(
                "Received an invalid value for `units`, expected a positive integer. "
                f"Received: units={units!r}"
            )
        _check_unsupported(self, quantization_config)
        self.units = int(units)
        self.activation = activations.get(activation)
        self._activation_fn = direct_activation(self.activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        self.quantization_config = None
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True
        self.bias = None

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"Layer '{self.name}' (Dense) needs a known size for the last axis of its "
                f"input to create its kernel. Received: input_shape={tuple(input_shape)}"
            )
        self.kernel = self.add_weight(
            name="kernel", shape=(input_dim, self.units), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.units,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)
        self._plan_weights()

    def _plan_weights(self):
        # NOTE: decided once, so the common case (float32 weights, no LoRA) runs the bare
        # kernel: no casts, no extra product, per call.
        self._plain_weights = not self.lora_enabled and (
            self.dtype_policy.compute_dtype == self.dtype_policy.variable_dtype) and (
            "kernel" in self._parameters) and (("bias" in self._parameters) == self.use_bias)

    def call(self, inputs):
        if self._plain_weights:
            # NOTE: read the weights from `_parameters` (what `nn.Module.__getattr__` does)
            # to skip the attribute-miss path; `functional_call` swaps them there too.
            params = self._parameters
            kernel, bias = params["kernel"], params.get("bias")
        else:
            kernel, bias = self._effective_weights(inputs.dtype)
        if bias is not None and inputs.ndim == 2:
            out = torch.addmm(bias, inputs, kernel)
        else:
            out = torch.matmul(inputs, kernel)
            if bias is not None:
                out = out + bias
        fn = self._activation_fn
        return out if fn is None else fn(out)

    def _effective_weights(self, dtype):
        kernel, bias = self.kernel, self.bias
        if self.lora_enabled:
            scale = self.lora_alpha / self.lora_rank
            kernel = kernel + scale * torch.matmul(self.lora_kernel_a, self.lora_kernel_b)
        if kernel.dtype != dtype and kernel.is_floating_point():
            kernel = kernel.to(dtype)
            bias = bias.to(dtype) if bias is not None else None
        return kernel, bias

    def save_own_variables(self, store):
        """Keras' layout: the kernel (with any LoRA update merged in) as `"0"`, then the
        bias. Other variables (a subclass's own, the LoRA factors) are not written."""
        if self.built:
            with torch.no_grad():
                kernel, _ = self._effective_weights(self.kernel.dtype)
            save_serialized_weights(store, [kernel, self.bias])

    def load_own_variables(self, store):
        """Read the kernel and bias written by `save_own_variables`; LoRA factors restart
        at zero, since the saved kernel holds their update (as in Keras)."""
        load_serialized_weights(self, store, ("kernel", "bias"),
                                lora=("lora_kernel_a", "lora_kernel_b"))

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform",
                    b_initializer="zeros"):
        """Freeze the kernel and learn a rank-`rank` update of it instead (LoRA)."""
        _enable_lora(self, rank, lora_alpha, a_initializer, b_initializer,
                     a_shape=(self.kernel.shape[0], rank), b_shape=(rank, self.kernel.shape[1]))
        self._plan_weights()

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            kernel_constraint=constraints.serialize(self.kernel_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
            quantization_config=None,
        )
        if self.lora_rank:
            config.update(lora_rank=self.lora_rank, lora_alpha=self.lora_alpha)
        return config


def _check_unsupported(layer, quantization_config):
    if quantization_config is not None:
        raise NotImplementedError(
            f"{type(layer).__name__} '{layer.name}': quantization is not supported by lamina. "
            f"Pass quantization_config=None. Received: {quantization_config!r}"
        )


def save_serialized_weights(store, values):
    """Write `values` (None skipped) as `"0"`, `"1"`, ...: Keras' fixed weight list of
    Dense, EinsumDense and Embedding."""
    for i, value in enumerate(v for v in values if v is not None):
        store[str(i)] = value


def load_serialized_weights(layer, store, names, lora):
    """Assign the weights `names` (those the layer has) from `save_serialized_weights`'
    entries; zero the LoRA factors named in `lora` when LoRA is enabled (the saved weights
    include their update)."""
    variables = [getattr(layer, name, None) for name in names] if layer.built else []
    layer._assign_from_store(store, [v for v in variables if v is not None])
    if layer.lora_enabled:
        with torch.no_grad():
            for name in lora:
                getattr(layer, name).zero_()


def _enable_lora(layer, rank, lora_alpha, a_initializer, b_initializer, a_shape, b_shape):
    """Shared by Dense and EinsumDense: freeze `kernel`, add the two LoRA factors."""
    if not layer.built:
        raise ValueError(
            f"Cannot enable LoRA on layer '{layer.name}' ({type(layer).__name__}) before it "
            "is built. Call it on data or `build(input_shape)` first."
        )
    if layer.lora_enabled:
        raise ValueError(
            f"LoRA is already enabled on layer '{layer.name}' ({type(layer).__name__}). This "
            "can only be done once per layer."
        )
    if isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0:
        raise ValueError(f"`rank` must be a positive integer. Received: rank={rank!r}")
    layer.lora_kernel_a = layer.add_weight(name="lora_kernel_a", shape=a_shape,
                                           initializer=initializers.get(a_initializer),
                                           regularizer=layer.kernel_regularizer)
    layer.lora_kernel_b = layer.add_weight(name="lora_kernel_b", shape=b_shape,
                                           initializer=initializers.get(b_initializer),
                                           regularizer=layer.kernel_regularizer)
    layer.kernel.trainable = False
    layer.lora_enabled = True
    layer.lora_rank = rank
    layer.lora_alpha = lora_alpha if lora_alpha is not None else rank
