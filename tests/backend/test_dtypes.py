"""Keras' dtype promotion (`result_type`)."""

import itertools

import numpy as np
import pytest
import torch

from lamina.backend import config
from lamina.backend.dtypes import result_type

COMMON = ["bool", "uint8", "int8", "int16", "int32", "int64", "bfloat16", "float16",
          "float32", "float64", int, float, bool]


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("int32", "float16", "float16"), ("uint8", "int8", "int16"),
        ("int64", "float32", "float32"), ("bfloat16", "float16", "float32"),
        ("int8", int, "int8"), ("float16", float, "float16"), ("int32", float, "float32"),
        (int, float, "float32"), ("bool", bool, "bool"), ("bool", int, "int32"),
        ("uint64", "int8", "float32"), ("int64", "int64", "int32"),
    ],
)
def test_result_type_known_pairs(a, b, expected):
    assert result_type(a, b) == expected
    assert result_type(b, a) == expected


def test_result_type_without_arguments_is_floatx():
    assert result_type() == "float32"
    config.set_floatx("float16")
    try:
        assert result_type() == "float16"
        assert result_type(int) == "int16"  # weak types take floatx's width
    finally:
        config.set_floatx("float32")


def test_result_type_accepts_torch_numpy_and_python_types():
    assert result_type(torch.int8, np.dtype("uint8")) == "int16"
    assert result_type(torch.float16, int) == "float16"


def test_result_type_rejects_unknown_names_and_float8():
    with pytest.raises(ValueError, match="Invalid dtype"):
        result_type("float17", "int8")
    with pytest.raises(ValueError, match="float8"):
        result_type("float8_e4m3fn", "float32")


def test_result_type_matches_keras_on_all_pairs_and_triples():
    keras = pytest.importorskip("keras")
    for a, b in itertools.product(COMMON, COMMON):
        assert result_type(a, b) == keras.backend.result_type(a, b), (a, b)
        for c in (int, float, "int16"):
            assert result_type(a, b, c) == keras.backend.result_type(a, b, c), (a, b, c)
