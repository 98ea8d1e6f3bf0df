"""keras.io guide "Writing a training loop from scratch in PyTorch" (fchollet, 2023), as
an acceptance test.

The guide's code, run by `run(keras, workdir)` against either library. Changes: the
MNIST download becomes a small synthetic set of the same shapes (`guide_support`), so
the validation holdout is the last 64 samples instead of 10,000; 2 epochs instead of 3;
the per-100-steps prints are kept. Lines marked `# fact` only record what the guide
shows (per-epoch mean losses are gathered next to the guide's own prints).
"""

import numpy as np
import torch
from guide_support import mnist_load_data, numpy_of


def run(keras, workdir):
    facts = {}

    def get_model():
        inputs = keras.Input(shape=(784,), name="digits")
        x1 = keras.layers.Dense(64, activation="relu")(inputs)
        x2 = keras.layers.Dense(64, activation="relu")(x1)
        outputs = keras.layers.Dense(10, name="predictions")(x2)
        model = keras.Model(inputs=inputs, outputs=outputs)
        return model

    batch_size = 32
    (x_train, y_train), (x_test, y_test) = mnist_load_data(n_train=192)
    x_train = np.reshape(x_train, (-1, 784)).astype("float32")
    x_test = np.reshape(x_test, (-1, 784)).astype("float32")
    y_train = keras.utils.to_categorical(y_train)
    y_test = keras.utils.to_categorical(y_test)

    x_val = x_train[-64:]
    y_val = y_train[-64:]
    x_train = x_train[:-64]
    y_train = y_train[:-64]

    train_dataset = torch.utils.data.TensorDataset(
        torch.from_numpy(x_train), torch.from_numpy(y_train)
    )
    val_dataset = torch.utils.data.TensorDataset(
        torch.from_numpy(x_val), torch.from_numpy(y_val)
    )

    train_dataloader = torch.utils.data.DataLoader(
        train_dataset, batch_size=batch_size, shuffle=True
    )
    val_dataloader = torch.utils.data.DataLoader(
        val_dataset, batch_size=batch_size, shuffle=False
    )
    facts["labels"] = (y_train.shape, str(y_train.dtype))  # fact

    model = get_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    loss_fn = torch.nn.CrossEntropyLoss()
    facts["torch_parameter_count"] = len(list(model.parameters()))  # fact

    epochs = 2
    epoch_losses = []  # fact
    for epoch in range(epochs):  # noqa: B007 (as the guide writes it)
        epoch_losses.append([])  # fact
        for step, (inputs, targets) in enumerate(train_dataloader):
            logits = model(inputs)
            loss = loss_fn(logits, targets)

            model.zero_grad()
            loss.backward()

            optimizer.step()
            epoch_losses[-1].append(float(loss.detach().numpy()))  # fact

            if step % 100 == 0:
                print(
                    f"Training loss (for 1 batch) at step {step}: {loss.detach().numpy():.4f}"
                )
                print(f"Seen so far: {(step + 1) * batch_size} samples")
    facts["torch_optimizer_losses"] = [np.mean(e) for e in epoch_losses]  # fact

    model = get_model()
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)

    epoch_losses = []  # fact
    for epoch in range(epochs):
        print(f"\nStart of epoch {epoch}")
        epoch_losses.append([])  # fact
        for step, (inputs, targets) in enumerate(train_dataloader):
            logits = model(inputs)
            loss = loss_fn(targets, logits)

            model.zero_grad()
            trainable_weights = [v for v in model.trainable_weights]

            loss.backward()
            gradients = [v.value.grad for v in trainable_weights]

            with torch.no_grad():
                optimizer.apply(gradients, trainable_weights)
            epoch_losses[-1].append(float(loss.detach().numpy()))  # fact

            if step % 100 == 0:
                print(
                    f"Training loss (for 1 batch) at step {step}: {loss.detach().numpy():.4f}"
                )
                print(f"Seen so far: {(step + 1) * batch_size} samples")
    facts["keras_optimizer_losses"] = [np.mean(e) for e in epoch_losses]  # fact
    facts["keras_optimizer_iterations"] = int(numpy_of(optimizer.iterations))  # fact

    model = get_model()

    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)

    train_acc_metric = keras.metrics.CategoricalAccuracy()
    val_acc_metric = keras.metrics.CategoricalAccuracy()

    accuracies = []  # fact
    for epoch in range(epochs):
        print(f"\nStart of epoch {epoch}")
        for step, (inputs, targets) in enumerate(train_dataloader):
            logits = model(inputs)
            loss = loss_fn(targets, logits)

            model.zero_grad()
            trainable_weights = [v for v in model.trainable_weights]

            loss.backward()
            gradients = [v.value.grad for v in trainable_weights]

            with torch.no_grad():
                optimizer.apply(gradients, trainable_weights)

            train_acc_metric.update_state(targets, logits)

            if step % 100 == 0:
                print(
                    f"Training loss (for 1 batch) at step {step}: {loss.detach().numpy():.4f}"
                )
                print(f"Seen so far: {(step + 1) * batch_size} samples")

        train_acc = train_acc_metric.result()
        print(f"Training acc over epoch: {float(train_acc):.4f}")

        train_acc_metric.reset_state()

        for x_batch_val, y_batch_val in val_dataloader:
            val_logits = model(x_batch_val, training=False)
            val_acc_metric.update_state(y_batch_val, val_logits)
        val_acc = val_acc_metric.result()
        val_acc_metric.reset_state()
        print(f"Validation acc: {float(val_acc):.4f}")
        accuracies.append((float(train_acc), float(val_acc)))  # fact
    facts["metric_loop_accuracies"] = accuracies  # fact
    facts["metric_after_reset"] = float(numpy_of(val_acc_metric.result()))  # fact
    logits = model(torch.from_numpy(x_val), training=False)  # fact
    facts["val_accuracy_by_hand"] = float(np.mean(  # fact
        numpy_of(logits).argmax(-1) == y_val.argmax(-1)))

    class ActivityRegularizationLayer(keras.layers.Layer):
        def call(self, inputs):
            self.add_loss(1e-2 * torch.sum(inputs))
            return inputs

    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu")(inputs)
    x = ActivityRegularizationLayer()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)

    model = keras.Model(inputs=inputs, outputs=outputs)
    _ = model(torch.from_numpy(x_val[:4]))  # fact
    facts["activity_losses"] = len(model.losses)  # fact

    model = get_model()

    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)

    train_acc_metric = keras.metrics.CategoricalAccuracy()
    val_acc_metric = keras.metrics.CategoricalAccuracy()

    accuracies = []  # fact
    for epoch in range(epochs):
        print(f"\nStart of epoch {epoch}")
        for step, (inputs, targets) in enumerate(train_dataloader):
            logits = model(inputs)
            loss = loss_fn(targets, logits)
            if model.losses:
                loss = loss + torch.sum(*model.losses)

            model.zero_grad()
            trainable_weights = [v for v in model.trainable_weights]

            loss.backward()
            gradients = [v.value.grad for v in trainable_weights]

            with torch.no_grad():
                optimizer.apply(gradients, trainable_weights)

            train_acc_metric.update_state(targets, logits)

            if step % 100 == 0:
                print(
                    f"Training loss (for 1 batch) at step {step}: {loss.detach().numpy():.4f}"
                )
                print(f"Seen so far: {(step + 1) * batch_size} samples")

        train_acc = train_acc_metric.result()
        print(f"Training acc over epoch: {float(train_acc):.4f}")

        train_acc_metric.reset_state()

        for x_batch_val, y_batch_val in val_dataloader:
            val_logits = model(x_batch_val, training=False)
            val_acc_metric.update_state(y_batch_val, val_logits)
        val_acc = val_acc_metric.result()
        val_acc_metric.reset_state()
        print(f"Validation acc: {float(val_acc):.4f}")
        accuracies.append((float(train_acc), float(val_acc)))  # fact
    facts["final_loop_accuracies"] = accuracies  # fact
    facts["final_model_losses"] = len(model.losses)  # fact
    facts["final_model"], facts["val_data"] = model, (x_val, y_val)  # fact
    return facts
