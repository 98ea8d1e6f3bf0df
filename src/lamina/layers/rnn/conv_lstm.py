"""`ConvLSTMCell` and `ConvLSTM1D/2D/3D`: LSTMs whose gates are convolutions.

Keras' weight layout: `kernel (*k, in_channels, 4 * filters)`, `recurrent_kernel
(*k, filters, 4 * filters)`, `bias (4 * filters,)`, gate blocks i, f, c, o. The input
convolution uses the layer's strides, padding and dilation; the recurrent one always runs
with stride 1 and `same` padding, so the states keep the input convolution's output size.
"""

import torch
import torch.nn.functional as F

from lamina import activations, constraints, initializers, regularizers
from lamina.backend import config as backend_config
from lamina.backend.symbolic import is_fake
from lamina.layers.activations.activation import direct_activation
from lamina.layers.convolutional.base_conv import (
    conv_output_length,
    int_tuple,
    positive_int,
    same_padding_plan,
)
from lamina.layers.layer import Layer
from lamina.layers.rnn.cells import CellCallMixin, DropoutRNNCell, check_rate, identity
from lamina.layers.rnn.rnn import BuiltinRNN, cell_property

_SPATIAL_NAMES = {1: ("length",), 2: ("rows", "cols"), 3: ("depth", "rows", "cols")}


class ConvLSTMCell(CellCallMixin, DropoutRNNCell, Layer):
    """One ConvLSTM step over `rank` spatial dimensions. States are `[h, c]`, each shaped
    like the input convolution's output with `filters` channels; the output is `h`.

    Args:
        rank: number of spatial dimensions (1, 2 or 3).
        filters: positive int, the channels of `h` and `c`.
        kernel_size, strides, padding (`"valid"` or `"same"`), data_format,
            dilation_rate: of the input convolution, as in `Conv2D`.
        activation, recurrent_activation, use_bias, unit_forget_bias, initializers,
            regularizers, constraints, dropout, recurrent_dropout, seed: as `LSTMCell`.

    >>> import torch
    >>> cell = ConvLSTMCell(2, filters=4, kernel_size=3, padding="same")
    >>> x = torch.ones(2, 5, 5, 3)
    >>> h, (h2, c) = cell(x, cell.get_initial_state(x))
    >>> tuple(h.shape), tuple(c.shape)
    ((2, 5, 5, 4), (2, 5, 5, 4))
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, activation="tanh",
                 recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        where = f"{type(self).__name__} '{self.name}'"
        self.rank = int(rank)
        self.filters = positive_int(where, "filters", filters)
        self.kernel_size = int_tuple(where, "kernel_size", kernel_size, self.rank)
        self.strides = int_tuple(where, "strides", strides, self.rank)
        self.dilation_rate = int_tuple(where, "dilation_rate", dilation_rate, self.rank)
        if not (isinstance(padding, str) and padding.lower() in ("valid", "same")):
            raise ValueError(
                f"{where}: argument `padding` must be 'valid' or 'same'. "
                f"Received: padding={padding!r}"
            )
        self.padding = padding.lower()
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{where}: `strides > 1` cannot be combined with `dilation_rate > 1`. "
                f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}"
            )
        data_format = backend_config.image_data_format() if data_format is None else data_format
        if not (isinstance(data_format, str)
                and data_format.lower() in ("channels_last", "channels_first")):
            raise ValueError(
                f"{where}: argument `data_format` must be 'channels_last' or "
                f"'channels_first'. Received: data_format={data_format!r}"
            )
        self.data_format = data_format.lower()
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self._act = direct_activation(self.activation) or identity
        self._rec_act = direct_activation(self.recurrent_activation) or identity
        self.use_bias = bool(use_bias)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = check_rate(dropout, "dropout", where)
        self.recurrent_dropout = check_rate(recurrent_dropout, "recurrent_dropout", where)
        self.seed = seed
        self._create_seed_generator()
        self.bias = None
        # NOTE: as in Keras, the state size depends on the input's spatial size, so it
        # is not a number; `get_initial_state` takes an input to read it from.
        self.state_size = -1
        self._channels_last = self.data_format == "channels_last"
        rank = self.rank
        self._to_torch = (0, rank + 1, *range(1, rank + 1))
        self._from_torch = (0, *range(2, rank + 2), 1)
        self._kernel_perm = (rank + 1, rank, *range(rank))  # (*k, in, out) -> (out, in, *k)
        self._conv_fn = (F.conv1d, F.conv2d, F.conv3d)[rank - 1]
        self._spans = [(k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate)]
        if self.padding == "same":
            self._input_plan = None if max(self.strides) > 1 else same_padding_plan(
                [1] * rank, self._spans, self.strides)
        else:
            self._input_plan = ((0,) * rank, None)
        self._recurrent_plan = same_padding_plan([1] * rank, self.kernel_size, (1,) * rank)
        self.__dict__["_same_cache"] = {}

    # -- build -----------------------------------------------------------------------------
    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, filters = self.bias_initializer, self.filters

        def forget_bias_one(shape, dtype=None):
            return torch.cat([
                torch.as_tensor(base((filters,), dtype=dtype)),
                torch.as_tensor(initializers.get("ones")((filters,), dtype=dtype)),
                torch.as_tensor(base((2 * filters,), dtype=dtype)),
            ])

        return forget_bias_one

    def build(self, input_shape):
        """`input_shape` is one step's shape: `(batch, *spatial, channels)` (channels_last)
        or `(batch, channels, *spatial)`."""
        input_shape = tuple(input_shape)
        channels = input_shape[-1 if self._channels_last else 1]
        if channels is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' needs a known channel size to create "
                f"its kernel. Received: input_shape={input_shape}"
            )
        width = 4 * self.filters
        self.kernel = self.add_weight(
            name="kernel", shape=(*self.kernel_size, int(channels), width),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel", shape=(*self.kernel_size, self.filters, width),
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint)
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(width,), initializer=self._bias_initializer(),
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    # -- the pieces of a step, in torch layout `(N, C, *spatial)` ----------------------------
    def torch_weights(self, dtype):
        """`(kernel, recurrent_kernel, bias)` in torch's layout and `dtype` (views of the
        Variables, so gradients reach them)."""
        kernel = self.kernel.permute(self._kernel_perm)
        recurrent = self.recurrent_kernel.permute(self._kernel_perm)
        bias = self.bias
        if kernel.dtype != dtype:
            kernel, recurrent = kernel.to(dtype), recurrent.to(dtype)
            bias = None if bias is None else bias.to(dtype)
        return kernel, recurrent, bias

    def input_conv(self, x, kernel, bias):
        """The input convolution (bias included) of `x`, `(N, C, *spatial)`."""
        plan = self._input_plan
        if plan is None:  # strided `same`: the padding depends on the input size
            spatial = tuple(x.shape[2:])
            plan = self._same_cache.get(spatial)
            if plan is None:
                plan = self._same_cache[spatial] = same_padding_plan(spatial, self._spans,
                                                                     self.strides)
        padding, pad = plan
        if pad is not None:
            x = F.pad(x, pad)
        return self._conv_fn(x, kernel, bias, self.strides, padding, self.dilation_rate)

    def recurrent_conv(self, h, recurrent_kernel):
        """The recurrent convolution of `h` (stride 1, `same` padding, no bias)."""
        padding, pad = self._recurrent_plan
        if pad is not None:
            h = F.pad(h, pad)
        return self._conv_fn(h, recurrent_kernel, None, 1, padding)

    def gates(self, z, c_previous):
        """The new `(h, c)` from the summed pre-activations `z` (channel axis 1)."""
        i, f, g, o = z.chunk(4, dim=1)
        rec_act, act = self._rec_act, self._act
        c = rec_act(f) * c_previous + rec_act(i) * act(g)
        return rec_act(o) * act(c), c

    def state_spatial(self, spatial):
        """The spatial size of the states for inputs of spatial size `spatial`."""
        return tuple(conv_output_length(n, k, s, d, self.padding) for n, k, s, d in zip(
            spatial, self.kernel_size, self.strides, self.dilation_rate))

    # -- the cell contract (one step, Keras layout) ------------------------------------------
    def get_initial_state(self, inputs):
        """Zero `[h, c]` for one step `inputs` (or their shape), in the data format."""
        shape = tuple(inputs.shape) if hasattr(inputs, "shape") else tuple(inputs)
        spatial = shape[1:-1] if self._channels_last else shape[2:]
        out = self.state_spatial(spatial)
        state = (shape[0], *out, self.filters) if self._channels_last else (
            shape[0], self.filters, *out)
        dtype = getattr(inputs, "dtype", None)
        if not isinstance(dtype, torch.dtype):
            dtype = self.dtype_policy.compute_torch_dtype
        device = getattr(inputs, "device", None) or backend_config.get_device()
        return [torch.zeros(state, dtype=dtype, device=device) for _ in range(2)]

    def call(self, inputs, states, training=False):
        h, c = states[0], states[1]
        if training:
            if self.dropout:
                inputs = inputs * self.get_dropout_mask(inputs)
            if self.recurrent_dropout:
                h = h * self.get_recurrent_dropout_mask(h)
        if self._channels_last:
            inputs, h, c = (t.permute(self._to_torch) for t in (inputs, h, c))
        kernel, recurrent, bias = self.torch_weights(inputs.dtype)
        z = self.input_conv(inputs, kernel, bias) + self.recurrent_conv(h, recurrent)
        h, c = self.gates(z, c)
        if self._channels_last:
            h, c = h.permute(self._from_torch), c.permute(self._from_torch)
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config.update(
            rank=self.rank,
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
            activation=activations.serialize(self.activation),
            recurrent_activation=activations.serialize(self.recurrent_activation),
            use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            recurrent_initializer=initializers.serialize(self.recurrent_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            unit_forget_bias=self.unit_forget_bias,
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            recurrent_regularizer=regularizers.serialize(self.recurrent_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            kernel_constraint=constraints.serialize(self.kernel_constraint),
            recurrent_constraint=constraints.serialize(self.recurrent_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            seed=self.seed,
        )
        return config


class ConvLSTM(BuiltinRNN):
    """Base of `ConvLSTM1D/2D/3D`: a `ConvLSTMCell` run over the time axis.

    Inputs are `(batch, time, *spatial, channels)` (channels_last) or `(batch, time,
    channels, *spatial)`. The input convolution runs once for all time steps (time folded
    into the batch); only the recurrent convolution runs per step.
    """

    rank = None
    _cell_class = ConvLSTMCell

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, name=None, **kwargs):
        cell_kwargs = dict(
            rank=self.rank, filters=filters, kernel_size=kernel_size, strides=strides,
            padding=padding, data_format=data_format, dilation_rate=dilation_rate,
            activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed)
        super().__init__(cell_kwargs, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, activity_regularizer=activity_regularizer,
                         name=name, **kwargs)

    filters = cell_property("filters")
    kernel_size = cell_property("kernel_size")
    strides = cell_property("strides")
    padding = cell_property("padding")
    data_format = cell_property("data_format")
    dilation_rate = cell_property("dilation_rate")
    recurrent_activation = cell_property("recurrent_activation")
    unit_forget_bias = cell_property("unit_forget_bias")

    # -- shapes ----------------------------------------------------------------------------
    def _expected_shape(self):
        names = ("batch", "time", *_SPATIAL_NAMES[self.rank])
        if self.cell.data_format == "channels_last":
            names = (*names, "channels")
        else:
            names = (*names[:2], "channels", *names[2:])
        return f"({', '.join(names)})"

    def _check_rank(self, shape):
        if len(shape) != self.rank + 3:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects inputs of shape "
                f"{self._expected_shape()} for data_format='{self.cell.data_format}', i.e. "
                f"rank {self.rank + 3}, but received an input of shape {tuple(shape)} "
                f"(rank {len(shape)})."
            )

    def _state_shape(self, sequences_shape):
        """The Keras-layout shape of each state for inputs of `sequences_shape`."""
        cell = self.cell
        batch, step = sequences_shape[0], tuple(sequences_shape[2:])
        spatial = step[:-1] if cell._channels_last else step[1:]
        out = cell.state_spatial(spatial)
        if cell._channels_last:
            return (batch, *out, cell.filters)
        return (batch, cell.filters, *out)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        sequences_shape = tuple(sequences_shape)
        self._check_rank(sequences_shape)
        state = self._state_shape(sequences_shape)
        output = (state[0], sequences_shape[1], *state[1:]) if self.return_sequences else state
        return (output, state, state) if self.return_state else output

    # -- build -----------------------------------------------------------------------------
    def build(self, sequences_shape):
        sequences_shape = tuple(sequences_shape)
        self._check_rank(sequences_shape)
        self.cell.build((sequences_shape[0], *sequences_shape[2:]))
        self.cell.__dict__["_build_shapes"] = {
            "input_shape": (sequences_shape[0], *sequences_shape[2:])}
        self.__dict__["_built_shape"] = sequences_shape
        if self.stateful:
            if sequences_shape[0] is None or None in sequences_shape[2:]:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) is stateful, so it needs a "
                    "static batch size and spatial size to hold its states. Received: "
                    f"sequences shape {sequences_shape}. Pass `batch_size` to `Input(...)`."
                )
            self.__dict__["_states"] = self.get_initial_state(sequences_shape[0])
        self.built = True

    def get_initial_state(self, batch_size):
        """Zero `[h, c]` for `batch_size` sequences of the size the layer was built for."""
        shape = self._state_shape((batch_size, *self.__dict__["_built_shape"][1:]))
        dtype = self.dtype_policy.compute_torch_dtype
        return [torch.zeros(shape, dtype=dtype, device=backend_config.get_device())
                for _ in range(2)]

    # -- call ------------------------------------------------------------------------------
    def _initial_states(self, initial_state, sequences, expected):
        """`[h, c]` in Keras layout, checked against `expected`."""
        if initial_state is None:
            carried = self.__dict__["_states"]
            if carried is not None:
                if tuple(carried[0].shape) != expected:
                    raise ValueError(
                        f"Layer '{self.name}' ({type(self).__name__}) is stateful with "
                        f"states of shape {tuple(carried[0].shape)}, but this input needs "
                        f"states of shape {expected}. Stateful layers need the same batch "
                        "and spatial size on every call."
                    )
                return list(carried)
            zeros = sequences.new_zeros(expected)
            return [zeros, zeros]
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [
            initial_state]
        if len(states) != 2:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects 2 initial state "
                f"tensors [h, c], but `initial_state` holds {len(states)}."
            )
        for index, state in enumerate(states):
            if not isinstance(state, torch.Tensor):
                state = torch.as_tensor(state, device=sequences.device)
            states[index] = state.to(sequences.dtype)
            if tuple(state.shape) != expected:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}): initial_state[{index}] "
                    f"should have shape {expected}, but received shape "
                    f"{tuple(state.shape)}."
                )
        return states

    def call(self, sequences, initial_state=None, mask=None, training=False):
        self._check_rank(sequences.shape)
        cell = self.cell
        batch, steps = sequences.shape[0], sequences.shape[1]
        if steps == 0:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) received a sequence with 0 "
                f"timesteps (input shape {tuple(sequences.shape)}); it needs at least one."
            )
        if mask is not None:
            mask = self._standardize_mask(mask, sequences)
        cell.reset_dropout_mask()
        cell.reset_recurrent_dropout_mask()
        states = self._initial_states(
            initial_state, sequences, self._state_shape(tuple(sequences.shape)))
        x = sequences
        if training and cell.dropout:
            x = x * cell.get_dropout_mask(x[:, 0]).unsqueeze(1)
        kernel, recurrent, bias = cell.torch_weights(x.dtype)

        # All steps' input convolutions at once: time folded into the batch.
        folded = x.reshape(batch * steps, *x.shape[2:])
        if cell._channels_last:
            folded = folded.permute(cell._to_torch)
        zx = cell.input_conv(folded, kernel, bias)
        zx = zx.reshape(batch, steps, *zx.shape[1:])

        if cell._channels_last:
            h, c = (s.permute(cell._to_torch) for s in states)
        else:
            h, c = states
        drop_h = cell.get_recurrent_dropout_mask(h) if training and cell.recurrent_dropout \
            else None
        masks = None
        if mask is not None:
            masks = mask.view(batch, steps, *([1] * (h.ndim - 1))).unbind(1)
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        outputs = []
        output = None
        for t in order:
            h_in = h if drop_h is None else h * drop_h
            new_h, new_c = cell.gates(zx[:, t] + cell.recurrent_conv(h_in, recurrent), c)
            if masks is not None:
                keep = masks[t]
                previous = output if output is not None else torch.zeros_like(new_h)
                output = torch.where(keep, new_h, previous)
                h, c = torch.where(keep, new_h, h), torch.where(keep, new_c, c)
            else:
                output, h, c = new_h, new_h, new_c
            if self.return_sequences:
                outputs.append(output)

        if self.return_sequences:
            output = torch.stack(outputs, 1)
            if self.zero_output_for_mask and mask is not None:
                step_mask = mask.flip(1) if self.go_backwards else mask
                output = output * step_mask.view(
                    batch, steps, *([1] * (output.ndim - 2))).to(output.dtype)
        if cell._channels_last:
            output = output.permute(0, 1, *[p + 1 for p in cell._from_torch[1:]]) \
                if self.return_sequences else output.permute(cell._from_torch)
            h, c = h.permute(cell._from_torch), c.permute(cell._from_torch)
        if self.stateful and not is_fake(sequences):
            self.__dict__["_states"] = [h.detach(), c.detach()]
        if self.return_state:
            return output, h, c
        return output

    def get_config(self):
        config = super().get_config()
        config.pop("rank", None)
        return config


class ConvLSTM1D(ConvLSTM):
    """As `ConvLSTM2D` with one spatial dimension: inputs `(batch, time, length,
    channels)`.

    >>> import torch
    >>> layer = ConvLSTM1D(4, 3, padding="same", return_sequences=True)
    >>> tuple(layer(torch.ones(2, 5, 8, 3)).shape)
    (2, 5, 8, 4)
    """

    rank = 1


class ConvLSTM2D(ConvLSTM):
    """Convolutional LSTM over images: an LSTM whose input and recurrent transforms are
    2D convolutions (Keras' `ConvLSTM2D`).

    Args:
        filters: channels of the output and states.
        kernel_size, strides, padding (`"valid"`/`"same"`), data_format, dilation_rate:
            of the input convolution (the recurrent one is stride 1, `same`).
        activation, recurrent_activation, use_bias, unit_forget_bias, initializers,
            regularizers, constraints, dropout, recurrent_dropout, seed: as `LSTM`.
        return_sequences, return_state, go_backwards, stateful: as `RNN`.

    Inputs are `(batch, time, rows, cols, channels)` (channels_last) or `(batch, time,
    channels, rows, cols)`; the output is `(batch, [time,] new_rows, new_cols, filters)`.

    >>> import torch
    >>> layer = ConvLSTM2D(4, 3, return_state=True)
    >>> out, h, c = layer(torch.ones(2, 5, 8, 8, 3))
    >>> tuple(out.shape), tuple(c.shape)
    ((2, 6, 6, 4), (2, 6, 6, 4))
    """

    rank = 2


class ConvLSTM3D(ConvLSTM):
    """As `ConvLSTM2D` with three spatial dimensions: inputs `(batch, time, depth, rows,
    cols, channels)`.

    >>> import torch
    >>> layer = ConvLSTM3D(2, 3, padding="same")
    >>> tuple(layer(torch.ones(1, 3, 4, 4, 4, 2)).shape)
    (1, 4, 4, 4, 2)
    """

    rank = 3


__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "ConvLSTMCell"]
