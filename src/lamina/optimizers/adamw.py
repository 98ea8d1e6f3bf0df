"""`AdamW`: Adam with decoupled weight decay."""

from lamina.optimizers.adam import Adam
from lamina.optimizers.update_utils import base_arguments


class AdamW(Adam):
    """As `Adam`, but each step first does `variable -= variable * weight_decay * lr`.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        weight_decay: decay rate (default 0.004); required.
        beta_1, beta_2, epsilon, amsgrad: as in `Adam`.
        **kwargs: the base `Optimizer` arguments.

    >>> import torch, lamina
    >>> w = lamina.Variable([1.0], name="w")
    >>> lamina.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5).apply(
    ...     [torch.tensor([0.0])], [w])
    >>> round(float(w.numpy()[0]), 4)
    0.95
    """

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError(
                f"Argument `weight_decay` must be a float. Received: weight_decay={weight_decay}"
            )
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, **base_arguments(locals()))
