"""`lamina.mixed_precision` re-exports the dtype-policy functions and the loss scaler."""

from lamina import dtype_policies, mixed_precision, optimizers


def test_aliases_are_the_dtype_policy_objects():
    assert mixed_precision.Policy is mixed_precision.DTypePolicy is dtype_policies.DTypePolicy
    assert mixed_precision.set_global_policy is dtype_policies.set_dtype_policy
    assert mixed_precision.global_policy is dtype_policies.dtype_policy
    assert mixed_precision.LossScaleOptimizer is optimizers.LossScaleOptimizer


def test_set_global_policy_changes_the_global_policy():
    try:
        mixed_precision.set_global_policy("mixed_float16")
        policy = dtype_policies.dtype_policy()
        assert (policy.compute_dtype, policy.variable_dtype) == ("float16", "float32")
    finally:
        mixed_precision.set_global_policy(None)
    assert mixed_precision.global_policy().name == "float32"
