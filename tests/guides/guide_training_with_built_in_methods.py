"""keras.io guide "Training & evaluation with the built-in methods" (fchollet; Keras 3
edition), as an acceptance test.

The guide's code, run by `run(keras, workdir)` against either library. Changes: the
MNIST download becomes a small synthetic set of the same shapes (`guide_support`), so
reshapes use the sample count and the validation holdout is the last 100 samples
instead of 10,000; the `tf.data` sections are left out (they need TensorFlow, which a
PyTorch-backed Keras does not); `plot_model` is left out (pydot); EarlyStopping runs 3
epochs instead of 20 and the custom-metric fit 1 instead of 3; files go to `workdir`.
Lines marked `# fact` only record what the guide shows.
"""

import os

import numpy as np
import torch
from guide_support import mnist_load_data, numpy_of, shape_of


def run(keras, workdir):
    layers = keras.layers
    ops = keras.ops
    facts = {}

    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)

    model = keras.Model(inputs=inputs, outputs=outputs)

    (x_train, y_train), (x_test, y_test) = mnist_load_data(n_train=228)

    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255

    y_train = y_train.astype("float32")
    y_test = y_test.astype("float32")

    x_val = x_train[-100:]
    y_val = y_train[-100:]
    x_train = x_train[:-100]
    y_train = y_train[:-100]

    model.compile(
        optimizer=keras.optimizers.RMSprop(),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    )
    facts["first_scores_before"] = model.evaluate(x_test, y_test, verbose=0)  # fact

    print("Fit model on training data")
    history = model.fit(
        x_train,
        y_train,
        batch_size=64,
        epochs=2,
        validation_data=(x_val, y_val),
    )
    facts["first_history"] = history.history  # fact

    print("Evaluate on test data")
    results = model.evaluate(x_test, y_test, batch_size=128)
    print("test loss, test acc:", results)
    facts["first_results"] = results  # fact

    print("Generate predictions for 3 samples")
    predictions = model.predict(x_test[:3])
    print("predictions shape:", predictions.shape)
    facts["first_predictions"] = (type(predictions).__name__, predictions.shape,  # fact
                                  bool(np.allclose(predictions.sum(axis=1), 1, atol=1e-5)))
    facts["first_model"] = model  # fact
    facts["x_test"], facts["y_test"] = x_test, y_test  # fact

    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    )

    model.compile(
        optimizer="rmsprop",
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
    )

    def get_uncompiled_model():
        inputs = keras.Input(shape=(784,), name="digits")
        x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
        x = layers.Dense(64, activation="relu", name="dense_2")(x)
        outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
        model = keras.Model(inputs=inputs, outputs=outputs)
        return model

    def get_compiled_model():
        model = get_uncompiled_model()
        model.compile(
            optimizer="rmsprop",
            loss="sparse_categorical_crossentropy",
            metrics=["sparse_categorical_accuracy"],
        )
        return model

    def custom_mean_squared_error(y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)

    model = get_uncompiled_model()
    model.compile(optimizer=keras.optimizers.Adam(), loss=custom_mean_squared_error)

    y_train_one_hot = ops.one_hot(y_train, num_classes=10)
    history = model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1)
    facts["custom_fn_history"] = history.history  # fact
    facts["one_hot"] = (shape_of(y_train_one_hot), str(y_train_one_hot.dtype))  # fact

    class CustomMSE(keras.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
            reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
            return mse + reg * self.regularization_factor

    model = get_uncompiled_model()
    model.compile(optimizer=keras.optimizers.Adam(), loss=CustomMSE())

    y_train_one_hot = ops.one_hot(y_train, num_classes=10)
    history = model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1)
    facts["custom_class_history"] = history.history  # fact
    probe = np.random.default_rng(5).random((4, 10)).astype("float32")  # fact
    target = np.eye(10, dtype="float32")[[1, 2, 3, 4]]  # fact
    facts["custom_mse_value"] = float(numpy_of(CustomMSE()(target, probe)))  # fact

    class CategoricalTruePositives(keras.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(
                shape=(), name="ctp", initializer="zeros"
            )

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
            values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
            values = ops.cast(values, "float32")
            if sample_weight is not None:
                sample_weight = ops.cast(sample_weight, "float32")
                values = ops.multiply(values, sample_weight)
            self.true_positives.assign_add(ops.sum(values))

        def result(self):
            return self.true_positives

        def reset_state(self):
            self.true_positives.assign(0.0)

    model = get_uncompiled_model()
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[CategoricalTruePositives()],
    )
    history = model.fit(x_train, y_train, batch_size=64, epochs=1)
    facts["custom_metric_keys"] = sorted(history.history)  # fact
    metric = CategoricalTruePositives()  # fact
    metric.update_state(np.array([[1.0], [2.0]], "float32"),
                        np.eye(10, dtype="float32")[[1, 5]])
    facts["custom_metric_value"] = float(numpy_of(metric.result()))  # fact

    class ActivityRegularizationLayer(layers.Layer):
        def call(self, inputs):
            self.add_loss(ops.sum(inputs) * 0.1)
            return inputs

    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)

    x = ActivityRegularizationLayer()(x)

    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, name="predictions")(x)

    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )

    history = model.fit(x_train, y_train, batch_size=64, epochs=1)
    facts["activity_history"] = history.history  # fact
    facts["activity_model"] = model  # fact

    class LogisticEndpoint(keras.layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

        def call(self, targets, logits, sample_weights=None):
            loss = self.loss_fn(targets, logits, sample_weights)
            self.add_loss(loss)
            return ops.softmax(logits)

    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)

    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer="adam")

    data = {
        "inputs": np.random.random((3, 3)),
        "targets": np.random.random((3, 10)),
    }
    history = model.fit(data)
    facts["endpoint_history_keys"] = sorted(history.history)  # fact
    facts["endpoint_model"], facts["endpoint_data"] = model, data  # fact

    model = get_compiled_model()
    history = model.fit(x_train, y_train, batch_size=64, validation_split=0.2, epochs=1)
    facts["validation_split_keys"] = sorted(history.history)  # fact

    class ExamplePyDataset(keras.utils.PyDataset):
        def __init__(self, x, y, batch_size, **kwargs):
            super().__init__(**kwargs)
            self.x = x
            self.y = y
            self.batch_size = batch_size

        def __len__(self):
            return int(np.ceil(len(self.x) / float(self.batch_size)))

        def __getitem__(self, idx):
            batch_x = self.x[idx * self.batch_size : (idx + 1) * self.batch_size]
            batch_y = self.y[idx * self.batch_size : (idx + 1) * self.batch_size]
            return batch_x, batch_y

    train_py_dataset = ExamplePyDataset(x_train, y_train, batch_size=32)
    val_py_dataset = ExamplePyDataset(x_val, y_val, batch_size=32)

    model = get_compiled_model()
    history = model.fit(train_py_dataset, batch_size=64, validation_data=val_py_dataset,
                        epochs=1)
    facts["py_dataset_keys"] = sorted(history.history)  # fact

    facts["py_dataset_evaluate"] = model.evaluate(val_py_dataset)  # fact
    facts["py_dataset_matches_arrays"] = bool(np.allclose(  # fact
        facts["py_dataset_evaluate"], model.evaluate(x_val, y_val, verbose=0), rtol=1e-5))

    train_py_dataset = ExamplePyDataset(x_train, y_train, batch_size=32, workers=4)
    val_py_dataset = ExamplePyDataset(x_val, y_val, batch_size=32, workers=4)

    model = get_compiled_model()
    history = model.fit(train_py_dataset, batch_size=64, validation_data=val_py_dataset,
                        epochs=1)
    facts["py_dataset_workers_keys"] = sorted(history.history)  # fact

    class ExampleTorchDataset(torch.utils.data.Dataset):
        def __init__(self, x, y):
            self.x = x
            self.y = y

        def __len__(self):
            return len(self.x)

        def __getitem__(self, idx):
            return self.x[idx], self.y[idx]

    train_torch_dataset = ExampleTorchDataset(x_train, y_train)
    val_torch_dataset = ExampleTorchDataset(x_val, y_val)

    train_dataloader = torch.utils.data.DataLoader(
        train_torch_dataset, batch_size=32, shuffle=True
    )
    val_dataloader = torch.utils.data.DataLoader(
        val_torch_dataset, batch_size=32, shuffle=True
    )

    model = get_compiled_model()
    history = model.fit(train_dataloader, batch_size=64, validation_data=val_dataloader,
                        epochs=1)
    facts["dataloader_keys"] = sorted(history.history)  # fact
    facts["dataloader_evaluate"] = model.evaluate(val_dataloader)  # fact
    facts["dataloader_matches_arrays"] = bool(np.allclose(  # fact
        facts["dataloader_evaluate"], model.evaluate(x_val, y_val, verbose=0), rtol=1e-5))

    class_weight = {
        0: 1.0,
        1: 1.0,
        2: 1.0,
        3: 1.0,
        4: 1.0,
        5: 2.0,
        6: 1.0,
        7: 1.0,
        8: 1.0,
        9: 1.0,
    }

    print("Fit with class weight")
    model = get_compiled_model()
    history = model.fit(x_train, y_train, class_weight=class_weight, batch_size=64, epochs=1)
    facts["class_weight_keys"] = sorted(history.history)  # fact

    sample_weight = np.ones(shape=(len(y_train),))
    sample_weight[y_train == 5] = 2.0

    print("Fit with sample weight")
    model = get_compiled_model()
    history = model.fit(x_train, y_train, sample_weight=sample_weight, batch_size=64,
                        epochs=1)
    facts["sample_weight_keys"] = sorted(history.history)  # fact

    image_input = keras.Input(shape=(32, 32, 3), name="img_input")
    timeseries_input = keras.Input(shape=(None, 10), name="ts_input")

    x1 = layers.Conv2D(3, 3)(image_input)
    x1 = layers.GlobalMaxPooling2D()(x1)

    x2 = layers.Conv1D(3, 3)(timeseries_input)
    x2 = layers.GlobalMaxPooling1D()(x2)

    x = layers.concatenate([x1, x2])

    score_output = layers.Dense(1, name="score_output")(x)
    class_output = layers.Dense(5, name="class_output")(x)

    model = keras.Model(
        inputs=[image_input, timeseries_input], outputs=[score_output, class_output]
    )

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=[
            keras.losses.MeanSquaredError(),
            keras.losses.CategoricalCrossentropy(),
        ],
    )

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=[
            keras.losses.MeanSquaredError(),
            keras.losses.CategoricalCrossentropy(),
        ],
        metrics=[
            [
                keras.metrics.MeanAbsolutePercentageError(),
                keras.metrics.MeanAbsoluteError(),
            ],
            [keras.metrics.CategoricalAccuracy()],
        ],
    )

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss={
            "score_output": keras.losses.MeanSquaredError(),
            "class_output": keras.losses.CategoricalCrossentropy(),
        },
        metrics={
            "score_output": [
                keras.metrics.MeanAbsolutePercentageError(),
                keras.metrics.MeanAbsoluteError(),
            ],
            "class_output": [keras.metrics.CategoricalAccuracy()],
        },
    )

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss={
            "score_output": keras.losses.MeanSquaredError(),
            "class_output": keras.losses.CategoricalCrossentropy(),
        },
        metrics={
            "score_output": [
                keras.metrics.MeanAbsolutePercentageError(),
                keras.metrics.MeanAbsoluteError(),
            ],
            "class_output": [keras.metrics.CategoricalAccuracy()],
        },
        loss_weights={"score_output": 2.0, "class_output": 1.0},
    )

    img_data = np.random.random_sample(size=(100, 32, 32, 3))
    ts_data = np.random.random_sample(size=(100, 20, 10))
    score_targets = np.random.random_sample(size=(100, 1))
    class_targets = np.random.random_sample(size=(100, 5))
    history = model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=32,
                        epochs=1)
    facts["multi_io_weighted_metrics_keys"] = sorted(history.history)  # fact

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=[None, keras.losses.CategoricalCrossentropy()],
    )
    history = model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=32,
                        epochs=1)
    facts["multi_io_list_none_loss_keys"] = sorted(history.history)  # fact

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss={"class_output": keras.losses.CategoricalCrossentropy()},
    )

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=[
            keras.losses.MeanSquaredError(),
            keras.losses.CategoricalCrossentropy(),
        ],
    )

    history = model.fit([img_data, ts_data], [score_targets, class_targets],
                        batch_size=32, epochs=1)
    facts["multi_io_list_keys"] = sorted(history.history)  # fact

    history = model.fit(
        {"img_input": img_data, "ts_input": ts_data},
        {"score_output": score_targets, "class_output": class_targets},
        batch_size=32,
        epochs=1,
    )
    facts["multi_io_dict_keys"] = sorted(history.history)  # fact
    facts["multi_io_model"] = model  # fact
    facts["multi_io_data"] = ([img_data[:8], ts_data[:8]],  # fact
                              [score_targets[:8], class_targets[:8]])

    model = get_compiled_model()

    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss",
            min_delta=1e-2,
            patience=2,
            verbose=1,
        )
    ]
    history = model.fit(
        x_train,
        y_train,
        epochs=3,
        batch_size=64,
        callbacks=callbacks,
        validation_split=0.2,
    )
    facts["early_stopping_epochs"] = len(history.history["loss"])  # fact
    facts["early_stopping_val_loss"] = history.history["val_loss"]  # fact

    class LossHistory(keras.callbacks.Callback):
        def on_train_begin(self, logs):
            self.per_batch_losses = []

        def on_batch_end(self, batch, logs):
            self.per_batch_losses.append(logs.get("loss"))

    loss_history = LossHistory()  # fact
    model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0,
              callbacks=[loss_history])
    facts["loss_history_batches"] = len(loss_history.per_batch_losses)  # fact

    model = get_compiled_model()

    callbacks = [
        keras.callbacks.ModelCheckpoint(
            filepath=os.path.join(workdir, "mymodel_{epoch}.keras"),
            save_best_only=True,
            monitor="val_loss",
            verbose=1,
        )
    ]
    model.fit(
        x_train,
        y_train,
        epochs=2,
        batch_size=64,
        callbacks=callbacks,
        validation_split=0.2,
    )
    facts["checkpoint_files"] = sorted(  # fact
        name for name in os.listdir(workdir) if name.startswith("mymodel_"))
    reloaded = keras.models.load_model(os.path.join(workdir, "mymodel_2.keras"))  # fact
    facts["checkpoint_reload_equal"] = bool(np.allclose(  # fact
        numpy_of(reloaded.predict(x_test[:16], verbose=0)),
        numpy_of(model.predict(x_test[:16], verbose=0)), atol=1e-6))

    checkpoint_dir = os.path.join(workdir, "ckpt")
    if not os.path.exists(checkpoint_dir):
        os.makedirs(checkpoint_dir)

    def make_or_restore_model():
        checkpoints = [checkpoint_dir + "/" + name for name in os.listdir(checkpoint_dir)]
        if checkpoints:
            latest_checkpoint = max(checkpoints, key=os.path.getctime)
            print("Restoring from", latest_checkpoint)
            return keras.models.load_model(latest_checkpoint)
        print("Creating a new model")
        return get_compiled_model()

    model = make_or_restore_model()
    callbacks = [
        keras.callbacks.ModelCheckpoint(
            filepath=checkpoint_dir + "/model-loss={loss:.2f}.keras", save_freq=100
        )
    ]
    model.fit(x_train, y_train, epochs=1, callbacks=callbacks)
    # `save_freq=100` counts batches: one epoch of 4 batches saves nothing.
    facts["fault_tolerance_files"] = len(os.listdir(checkpoint_dir))  # fact
    model.save(checkpoint_dir + "/model-loss=0.00.keras")  # fact
    restored = make_or_restore_model()  # fact
    facts["fault_tolerance_restored"] = (type(restored).__name__,  # fact
                                         restored.count_params(), restored.compiled)

    initial_learning_rate = 0.1
    lr_schedule = keras.optimizers.schedules.ExponentialDecay(
        initial_learning_rate, decay_steps=100000, decay_rate=0.96, staircase=True
    )

    optimizer = keras.optimizers.RMSprop(learning_rate=lr_schedule)
    facts["schedule_lr"] = float(numpy_of(optimizer.learning_rate))  # fact
    facts["schedule_values"] = [float(numpy_of(lr_schedule(step)))  # fact
                                for step in (0, 99999, 100000, 250000)]

    try:  # fact (the last section: a missing callback must not hide the facts above)
        tensorboard = keras.callbacks.TensorBoard(
            log_dir=os.path.join(workdir, "full_path_to_your_logs"),
            histogram_freq=0,
            embeddings_freq=0,
            update_freq="epoch",
        )
        facts["tensorboard"] = type(tensorboard).__name__  # fact
    except AttributeError as error:  # fact
        facts["tensorboard"] = repr(error)  # fact
    return facts
