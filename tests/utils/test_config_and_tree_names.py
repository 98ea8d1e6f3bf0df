"""`utils.Config` and the path/traversal names of `keras.tree`, against Keras' (oracle)."""

import collections

import pytest

import lamina
from lamina import tree

STRUCTURE = {"b": [1, (2, 3)], "a": {"x": None}}


def test_tree_path_and_traversal_names_equal_keras():
    import keras

    T = keras.tree
    assert tree.flatten_with_path(STRUCTURE) == T.flatten_with_path(STRUCTURE)
    assert tree.lists_to_tuples([1, [2, {"a": [3]}]]) == T.lists_to_tuples([1, [2, {"a": [3]}]])
    shapes = {"a": (None, 3), "b": [(2,), [4, 5]]}
    assert tree.map_shape_structure(len, shapes) == T.map_shape_structure(len, shapes)
    args = ([1, 2], lambda a, b: (a, b), [[1, 2], 3], [[4, 5], 6])
    assert tree.map_structure_up_to(*args) == T.map_structure_up_to(*args)
    for top_down in (True, False):
        def double(x):
            return None if isinstance(x, list) else x * 2  # noqa: B023

        assert tree.traverse(double, [1, [2, 3]], top_down=top_down) == \
            T.traverse(double, [1, [2, 3]], top_down=top_down)
    assert tree.traverse(lambda x: tree.MAP_TO_NONE if x == 2 else None, [1, [2, 3]]) == \
        [1, [None, 3]]
    point = collections.namedtuple("Point", "x y")(1, [2])
    assert tree.flatten_with_path(point) == T.flatten_with_path(point)


def test_tree_errors_match_keras():
    with pytest.raises(ValueError, match="don't have the same paths"):
        tree.assert_same_paths({"a": 1}, {"b": 1})
    tree.assert_same_paths({"a": 1, "b": [1]}, {"b": (2,), "a": 3})
    with pytest.raises(ValueError, match="Node arity mismatch; expected 2, but got 1"):
        tree.map_structure_up_to([1, 2], lambda a: a, [1])


def test_config_behaves_like_keras():
    import keras

    for cls in (keras.utils.Config, lamina.utils.Config):
        config = cls(a=1, b=2)
        config.c = 3
        assert (config.a, config["c"], len(config), list(config)) == (1, 3, 3, ["a", "b", "c"])
        assert config.pop("b") == 2 and config.to_json() == '{"a": 1, "c": 3}'
        config.freeze()
        with pytest.raises(ValueError, match="config is frozen"):
            config.d = 1
        with pytest.raises(AttributeError, match="Unknown attribute: 'zz'"):
            _ = config.zz
        config.unfreeze()
        config.update({"x": 1}, y=2)
        assert config.as_dict() == {"a": 1, "c": 3, "x": 1, "y": 2}
