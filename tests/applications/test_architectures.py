"""Every application has Keras' layers, in Keras' order, with Keras' weight shapes.

`keras_reference.json` holds, per Keras 3.15 application built with `weights=None`, its
parameter counts, layer count and a digest of its ordered (layer name, class name, weight
shapes) list; `tools/gen_applications_reference.py` writes it (and compares with
`--check`). Equal digests mean Keras' published weight files load layer for layer.

Building a model costs about 10-20 ms per layer (its symbolic shape inference), and all
40 hold 16,303 layers, so CI builds one model of each family here (every block type and
code path; test_architectures_match_keras.py compares the ResNet, MobileNetV3, EfficientNet and
ConvNeXt families with Keras' own models). `LAMINA_APPLICATIONS_ALL=1` builds all 40.
"""

import importlib.util
import json
import os
import pathlib

import pytest

import lamina
from lamina.backend import naming

ROOT = pathlib.Path(__file__).resolve().parents[2]
REFERENCE = json.loads((pathlib.Path(__file__).parent / "keras_reference.json").read_text())
_spec = importlib.util.spec_from_file_location(
    "gen_applications_reference", ROOT / "tools" / "gen_applications_reference.py")
reference_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference_tool)

# The smallest model of each family; the others differ from it only in their tables of
# depths, widths and input sizes.
FAMILIES = ("DenseNet121", "EfficientNetV2B0", "InceptionResNetV2", "InceptionV3",
            "MobileNet", "MobileNetV2", "NASNetMobile", "ResNet50V2", "VGG16", "Xception")
CHECKED = tuple(REFERENCE) if os.environ.get("LAMINA_APPLICATIONS_ALL") else FAMILIES


def test_reference_lists_every_keras_application():
    assert sorted(REFERENCE) == sorted(reference_tool.NAMES)
    assert set(FAMILIES) <= set(REFERENCE)
    architectures = [n for n in lamina.applications.__all__ if n[0].isupper()]
    assert sorted(architectures) == sorted(REFERENCE)


@pytest.mark.parametrize("name", CHECKED)
def test_application_matches_keras_layers_and_weights(name):
    naming.reset_uids()
    model = getattr(lamina.applications, name)(weights=None)
    ours = reference_tool.summarize(model)
    assert ours == REFERENCE[name]
