"""The text classifier example learns its generated corpus from raw strings, and saves a
`.keras` file that loads back with the same predictions and has Keras 3's layout."""

import json
import pathlib
import warnings
import zipfile

import keras
import numpy as np
import pytest

import lamina
from lamina.examples import text_classifier

# Written by tools/gen_text_classifier_reference.py with Keras 3 and TensorFlow (Keras'
# TextVectorization needs TensorFlow).
KERAS_LAYOUT = json.loads(
    (pathlib.Path(__file__).parent / "data/keras_text_classifier_layout.json").read_text())
SENTENCES = np.array(["The striker scored a late goal!", "Simmer the garlic in butter.",
                      "words the model never saw", "", "GOAL!!! Oven?"])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("text_classifier") / "topics.keras"
    accuracy = text_classifier.main(["--samples", "600", "--epochs", "3", "--output",
                                     str(path), "--verbose", "0"])
    return accuracy, path


def load(path):
    with warnings.catch_warnings():
        # The file holds Adam's slots, but a model fed strings is built by its first
        # batch, so at load the optimizer has none to fill yet; Keras warns the same.
        warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
        return lamina.saving.load_model(path)


def test_make_corpus_is_seeded_balanced_and_noisy():
    text, labels = text_classifier.make_corpus(400, seed=3)
    again, _ = text_classifier.make_corpus(400, seed=3)
    other, _ = text_classifier.make_corpus(400, seed=4)
    np.testing.assert_array_equal(text, again)
    assert (text != other).any()
    assert text.shape == labels.shape == (400,) and 150 < labels.sum() < 250
    sports, cooking = (set(words) for words in text_classifier.TOPICS.values())
    words = [set(s.lower().strip(".!?").split()) for s in text]
    # Some sentences carry words of the other topic, so no single word decides.
    mixed = sum(bool(w & sports) and bool(w & cooking) for w in words)
    assert 0.1 * len(text) < mixed < 0.6 * len(text)


def test_text_classifier_learns_and_saves_a_keras_file(trained):
    accuracy, path = trained
    assert accuracy > 0.85  # chance is 0.5
    assert path.is_file() and zipfile.is_zipfile(path)


def test_the_saved_model_reads_raw_strings_with_equal_predictions(trained):
    _, path = trained
    text, _ = text_classifier.make_corpus(64, seed=9)
    text = np.concatenate([text, SENTENCES])
    model = load(path)
    again = load(path)
    assert isinstance(model.layers[0], lamina.layers.TextVectorization)
    vocabulary = model.layers[0].get_vocabulary()
    assert vocabulary[:2] == ["", "[UNK]"] and "goal" in vocabulary and "garlic" in vocabulary
    assert len(vocabulary) <= text_classifier.MAX_TOKENS
    predictions = model.predict(text, verbose=0)
    np.testing.assert_array_equal(again.predict(text, verbose=0), predictions)
    assert predictions.shape == (len(text), 1)
    assert predictions[-5, 0] < 0.5 < predictions[-4, 0]  # sports, then cooking


def _archive(path):
    with zipfile.ZipFile(path) as archive:
        return sorted(archive.namelist()), json.loads(archive.read("config.json"))


def _structure(value):
    """`value` with numbers and ids turned into their type: what must equal Keras' file."""
    if isinstance(value, dict):
        # shared_object_id is Keras' bookkeeping for one policy object serialized twice.
        return {k: _structure(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [_structure(v) for v in value]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "number"
    return value


def test_the_archive_holds_the_files_keras_writes(trained):
    files, _ = _archive(trained[1])
    assert files == KERAS_LAYOUT["files"]


def test_layer_configs_have_the_structure_keras_writes(trained):
    _, config = _archive(trained[1])
    ours = [layer for layer in config["config"]["layers"] if layer["class_name"] != "InputLayer"]
    theirs = [layer for layer in KERAS_LAYOUT["config"]["config"]["layers"]
              if layer["class_name"] != "InputLayer"]
    assert [layer["class_name"] for layer in ours] == [
        "TextVectorization", "Embedding", "GlobalAveragePooling1D", "Dense", "Dense"]
    assert len(ours) == len(theirs)
    for layer, reference in zip(ours, theirs):
        assert _structure(layer["config"]) == _structure(reference["config"])
        assert layer["module"] == reference["module"] and layer["registered_name"] is None
        if layer["class_name"] != "TextVectorization":
            assert _structure(layer.get("build_config")) == _structure(
                reference.get("build_config"))
    # The generator mirrors the example's settings; only the vocabulary size differs.
    vectorize = dict(ours[0]["config"], vocabulary_size=None)
    assert vectorize == dict(theirs[0]["config"], vocabulary_size=None)
    assert ours[1]["config"]["input_dim"] == theirs[1]["config"]["input_dim"]


def test_compile_config_has_the_structure_keras_writes(trained):
    _, config = _archive(trained[1])
    ours, theirs = config["compile_config"], KERAS_LAYOUT["config"]["compile_config"]
    assert sorted(ours) == sorted(theirs)
    for key in ("loss", "metrics", "loss_weights", "weighted_metrics"):
        assert ours[key] == theirs[key]
    assert _structure(ours["optimizer"]) == _structure(theirs["optimizer"])


def test_model_entry_has_the_structure_keras_writes(trained):
    _, config = _archive(trained[1])
    reference = KERAS_LAYOUT["config"]
    assert config["module"] == reference["module"]
    assert _structure(config.get("build_config")) == _structure(reference["build_config"])
    assert sorted(config["config"]) == sorted(reference["config"])
    first = config["config"]["layers"][0]
    assert first["class_name"] == "InputLayer" and first["config"]["dtype"] == "string"
    assert _structure(config["config"]["layers"][1]["build_config"]) == _structure(
        reference["config"]["layers"][1]["build_config"])


def test_keras_loads_the_saved_model_with_equal_predictions(trained):
    text, _ = text_classifier.make_corpus(16, seed=11)
    text = np.concatenate([text, SENTENCES])
    model = keras.saving.load_model(trained[1])
    assert model.inputs[0].dtype == "string"
    # Keras' torch backend cannot pass numpy strings through a model call, but its
    # TextVectorization (on TensorFlow) reads them; the rest of the stack runs on torch.
    x = model.layers[0](text)
    for layer in model.layers[1:]:
        x = layer(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(x),
                               load(trained[1]).predict(text, verbose=0), rtol=1e-5, atol=1e-6)
