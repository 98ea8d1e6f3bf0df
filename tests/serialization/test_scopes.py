"""Serialization scopes are per thread; process-wide settings reach every thread."""

import threading

from lamina.serialization import registry, serialization


def _in_other_thread(fn):
    result = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join()
    return result[0]


def test_safe_mode_scope_does_not_leak_to_another_thread():
    with serialization.SafeModeScope(False):
        assert serialization.in_safe_mode() is False
        assert _in_other_thread(serialization.in_safe_mode) is True
    assert serialization.in_safe_mode() is True


def test_enable_unsafe_deserialization_reaches_every_thread(monkeypatch):
    monkeypatch.setattr(serialization, "_UNSAFE_EVERYWHERE", False)
    serialization.enable_unsafe_deserialization()
    assert _in_other_thread(serialization.in_safe_mode) is False
    with serialization.SafeModeScope(True):  # a scope still wins inside its block
        assert serialization.in_safe_mode() is True
    assert serialization.in_safe_mode() is False


def test_custom_object_scope_does_not_leak_to_another_thread():
    def lookup():
        return registry.get_registered_object("MyThing")

    with registry.CustomObjectScope({"MyThing": abs}):
        assert lookup() is abs
        assert _in_other_thread(lookup) is None
    assert lookup() is None


def test_custom_object_scope_can_be_reentered_and_nests():
    outer, inner = registry.CustomObjectScope({"a": abs}), registry.CustomObjectScope({"a": len})
    with outer:
        with inner:
            assert registry.get_registered_object("a") is len
            with outer:
                assert registry.get_registered_object("a") is abs
            assert registry.get_registered_object("a") is len
        assert registry.active_custom_objects() == {"a": abs}
    assert registry.active_custom_objects() == {}


def test_load_budget_does_not_leak_to_another_thread():
    with serialization.LoadBudget(limit=1024) as budget:
        assert serialization.LoadBudget.active() is budget
        assert _in_other_thread(serialization.LoadBudget.active) is None
    assert serialization.LoadBudget.active() is None
