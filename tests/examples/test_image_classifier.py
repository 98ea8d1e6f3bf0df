"""The image classifier example reads its PNG folders back, learns and saves a .keras file."""

import pytest

from lamina.examples import image_classifier

pytest.importorskip("PIL")


def test_write_image_folders_writes_one_png_per_digit_in_class_folders(tmp_path):
    train_dir, test_dir = image_classifier.write_image_folders(tmp_path)
    counts = [len(list(train_dir.glob(f"{d}/*.png"))) + len(list(test_dir.glob(f"{d}/*.png")))
              for d in range(10)]
    assert sorted(p.name for p in train_dir.iterdir()) == [str(d) for d in range(10)]
    assert sum(counts) == 1797 and min(counts) > 150


def test_image_classifier_learns_and_saves_a_keras_file(tmp_path, capsys):
    output = tmp_path / "digits.keras"
    accuracy = image_classifier.main(["--epochs", "2", "--output", str(output),
                                      "--data-dir", str(tmp_path / "data"), "--verbose", "0"])
    assert accuracy > 0.7  # chance is 0.1
    assert output.is_file() and output.stat().st_size > 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "classes: ['0', '1'" in out
