// The digits demo: onnxruntime-web runs model.onnx on 8x8 images with values 0..16,
// scaled to [0, 1] as the quickstart trains. `?check` runs every test digit once and POSTs
// the probabilities to /result, so `python -m lamina.examples.browser --check` can compare.
"use strict";

const SIZE = 8;
const MAX_INK = 16;
let ort, session, digits;
const pixels = new Float32Array(SIZE * SIZE);  // ink 0..16, as in the dataset

async function predict(images) {
  // images: arrays of 64 values 0..16. Returns one array of 10 probabilities per image.
  const data = new Float32Array(images.length * SIZE * SIZE);
  images.forEach((image, i) => image.forEach((v, j) => { data[i * SIZE * SIZE + j] = v / MAX_INK; }));
  const input = new ort.Tensor("float32", data, [images.length, SIZE, SIZE]);
  const output = (await session.run({ [session.inputNames[0]]: input }))[session.outputNames[0]];
  const classes = output.dims[1];
  return images.map((_, i) => Array.from(output.data.slice(i * classes, (i + 1) * classes)));
}

function paint(canvas, image) {
  const context = canvas.getContext("2d");
  const picture = context.createImageData(SIZE, SIZE);
  image.forEach((v, j) => {
    const shade = 255 - Math.round(255 * Math.min(v, MAX_INK) / MAX_INK);
    picture.data.set([shade, shade, shade, 255], 4 * j);
  });
  context.putImageData(picture, 0, 0);
}

async function show() {
  paint(document.getElementById("pad"), pixels);
  const [probabilities] = await predict([Array.from(pixels)]);
  const best = probabilities.indexOf(Math.max(...probabilities));
  document.getElementById("prediction").textContent = String(best);
  document.getElementById("bars").innerHTML = probabilities.map((p, k) =>
    `<div class="bar">${k} <span style="width:${Math.round(150 * p)}px"></span>` +
    `${p.toFixed(3)}</div>`).join("");
}

function setUpPad() {
  const pad = document.getElementById("pad");
  const ink = (event) => {
    if (!(event.buttons & 1)) return;
    const box = pad.getBoundingClientRect();
    const col = Math.floor((event.clientX - box.left) / box.width * SIZE);
    const row = Math.floor((event.clientY - box.top) / box.height * SIZE);
    if (row < 0 || row >= SIZE || col < 0 || col >= SIZE) return;
    const index = row * SIZE + col;
    pixels[index] = event.shiftKey ? 0 : Math.min(MAX_INK, pixels[index] + 8);
    show();
  };
  pad.addEventListener("pointerdown", ink);
  pad.addEventListener("pointermove", ink);
  document.getElementById("clear").addEventListener("click", () => { pixels.fill(0); show(); });
  const row = document.getElementById("digits");
  digits.images.forEach((image, i) => {
    const thumb = document.createElement("canvas");
    thumb.width = thumb.height = SIZE;
    thumb.title = `test digit ${i} (label ${digits.labels[i]})`;
    paint(thumb, image);
    thumb.addEventListener("click", () => { pixels.set(image); show(); });
    row.appendChild(thumb);
  });
}

async function post(body) {
  await fetch("/result", { method: "POST", body: JSON.stringify(body) });
}

async function main() {
  ort = await import("./ort/ort.wasm.min.mjs");
  ort.env.wasm.wasmPaths = new URL("./ort/", location.href).href;
  // One thread: multi-threaded wasm needs a cross-origin isolated page; the model is tiny.
  ort.env.wasm.numThreads = 1;
  session = await ort.InferenceSession.create("model.onnx", { executionProviders: ["wasm"] });
  digits = await (await fetch("digits.json")).json();
  if (new URLSearchParams(location.search).has("check")) {
    const probabilities = await predict(digits.images);
    await post({ probabilities: probabilities.flat(), dims: [probabilities.length, probabilities[0].length] });
    return;
  }
  setUpPad();
  pixels.set(digits.images[0]);
  await show();
  document.getElementById("status").textContent = "model loaded: onnxruntime-web " + ((ort.env.versions || {}).web || "");
}

main().catch((error) => {
  document.getElementById("status").textContent = "error: " + error;
  post({ error: String((error && error.stack) || error) });
});
