"""TextVectorization on 10,000 generated sentences: `adapt`, then calls in batches.

Run: OMP_NUM_THREADS=1 python benchmarks/text_vectorization.py [--sentences 10000]
     [--batch 256] [--repeats 3] [--keras-only]
Times lamina's layer and, when Keras 3 and TensorFlow import in the same interpreter,
Keras' (which runs TextVectorization on TensorFlow whatever its backend). lamina needs
torch; to time Keras from a TensorFlow-only environment pass `--keras-only` (the sentences
are the same: a seeded Zipf draw over a fixed word list). The hand-written reference is
plain Python doing the same work (lowercase, strip punctuation, split, dict lookup, pad).
Then the same for StringLookup on the sentences' words (rows of 32 tokens): `adapt`, then
lookups in batches. Prints medians and ratios; never asserts.
"""

import argparse
import os
import re
import statistics
import sys
import time

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

WORDS = [f"word{i}" for i in range(5000)]
_PUNCTUATION = re.compile(r"""[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~']""")


def sentences(count, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(5, 40, size=count)
    ranks = np.minimum(rng.zipf(1.3, size=int(lengths.sum())), len(WORDS)) - 1
    words, out, start = np.array(WORDS), [], 0
    for n in lengths:
        out.append("The " + " ".join(words[ranks[start:start + n]]) + ", Done!")
        start += n
    return np.array(out)


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def workload(make_layer, texts, batch):
    layer = make_layer()

    def adapt():
        layer.adapt(texts)

    def call():
        for i in range(0, len(texts), batch):
            layer(texts[i:i + batch])

    return adapt, call


def python_reference(texts, batch, length=64):
    table = {}

    def adapt():
        counts = {}
        for text in texts.tolist():
            for token in _PUNCTUATION.sub("", text.lower()).split():
                counts[token] = counts.get(token, 0) + 1
        ranked = sorted(counts, key=lambda t: (counts[t], t), reverse=True)[:19998]
        table.clear()
        table.update((t, i + 2) for i, t in enumerate(ranked))

    def call():
        for i in range(0, len(texts), batch):
            rows = []
            for text in texts[i:i + batch].tolist():
                ids = [table.get(t, 1) for t in _PUNCTUATION.sub("", text.lower()).split()]
                rows.append((ids + [0] * length)[:length])
            np.asarray(rows, dtype="int64")

    adapt()
    return adapt, call


def python_lookup_reference(tokens, batch):
    table = {}

    def adapt():
        counts = {}
        for token in tokens.reshape(-1).tolist():
            counts[token] = counts.get(token, 0) + 1
        ranked = sorted(counts, key=lambda t: (counts[t], t), reverse=True)[:19999]
        table.clear()
        table.update((t, i + 1) for i, t in enumerate(ranked))

    def call():
        for i in range(0, len(tokens), batch):
            rows = tokens[i:i + batch]
            ids = [table.get(t, 0) for t in rows.reshape(-1).tolist()]
            np.asarray(ids, dtype="int64").reshape(rows.shape)

    adapt()
    return adapt, call


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keras-only", action="store_true")
    args = parser.parse_args()
    texts = sentences(args.sentences)
    config = {"max_tokens": 20_000, "output_sequence_length": 64}
    candidates = {"python reference": python_reference(texts, args.batch)}
    if not args.keras_only:
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
        import lamina

        candidates["lamina"] = workload(
            lambda: lamina.layers.TextVectorization(**config), texts, args.batch)
    try:
        import keras
        import tensorflow  # Keras' TextVectorization needs it
        from _common import limit_tensorflow_threads  # here: it defaults KERAS_BACKEND

        limit_tensorflow_threads(tensorflow)

        candidates[f"keras {keras.__version__}"] = workload(
            lambda: keras.layers.TextVectorization(**config), texts, args.batch)
    except ImportError:
        keras = None
        print("(Keras 3 with TensorFlow not importable here: Keras not timed)")
    print(f"TextVectorization, {args.sentences} sentences, batch {args.batch}, "
          f"median of {args.repeats}")
    report(candidates, args.repeats)
    # StringLookup on the same words, already split: (batch, 32) string arrays.
    tokens = np.array(" ".join(texts.tolist()).split())
    tokens = tokens[:len(tokens) // 32 * 32].reshape(-1, 32)
    lookups = {"python reference": python_lookup_reference(tokens, args.batch)}
    if not args.keras_only:
        lookups["lamina"] = workload(
            lambda: lamina.layers.StringLookup(max_tokens=20_000), tokens, args.batch)
    if keras is not None:
        lookups[f"keras {keras.__version__}"] = workload(
            lambda: keras.layers.StringLookup(max_tokens=20_000), tokens, args.batch)
    print(f"StringLookup, {tokens.size} tokens in rows of 32, batch {args.batch}")
    report(lookups, args.repeats)


def report(candidates, repeats):
    base = None
    for name, (adapt, call) in candidates.items():
        adapt_s, call_s = timed(adapt, repeats), timed(call, repeats)
        base = base or (adapt_s, call_s)
        print(f"  {name:<20} adapt {adapt_s * 1e3:8.1f} ms ({adapt_s / base[0]:4.2f}x)   "
              f"call {call_s * 1e3:8.1f} ms ({call_s / base[1]:4.2f}x)   vs python reference")


if __name__ == "__main__":
    main()
