"""Every public Keras 3 name exists in lamina, in the same namespace (`tools/api_coverage.py`).

`STILL_BUILDING` lists the names that are being built this session; each entry says by
whom. Delete an entry when its name lands (the second test fails on stale entries).
"""

import importlib.util
import pathlib

import pytest

pytest.importorskip("keras")

TOOL = pathlib.Path(__file__).resolve().parents[1] / "tools" / "api_coverage.py"

STILL_BUILDING = set()


@pytest.fixture(scope="module")
def missing():
    spec = importlib.util.spec_from_file_location("api_coverage", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return set(module.missing_names())


def test_every_public_keras_name_exists_in_lamina(missing):
    unexpected = sorted(missing - STILL_BUILDING)
    assert unexpected == [], f"{len(unexpected)} public Keras names missing: {unexpected}"


def test_still_building_lists_only_missing_names(missing):
    landed = sorted(STILL_BUILDING - missing)
    assert landed == [], f"these exist now: delete them from STILL_BUILDING: {landed}"
