// onnxruntime CPU peer of opal's end-to-end benchmark (onnxruntime-node, the real onnxruntime
// shared library with its Node binding).
//
//   node ort_peer.js DIR --threads T --repeats N [--warmup W] [--outputs FILE]
//
// DIR is a bench/e2e/prepare.py folder (model.onnx, inputs.json, input_k.bin). Default session
// options (graph optimisation level all), intraOpNumThreads = T, interOpNumThreads = 1. Prints one
// JSON line: {"p50_ms", "p90_ms", "min_ms", "mean_ms", "runs", "threads", "version"}; with
// --outputs, the first output's values as raw little-endian float32 go to FILE (for the numeric
// comparison with opal). Percentiles are nearest-rank, as opal's runtime computes them.
'use strict';
const fs = require('fs');
const path = require('path');

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
}

const TYPED = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array,
  uint8: Uint8Array, int8: Int8Array, bool: Uint8Array,
};

function rank(sorted, pct) {
  const k = Math.max(1, Math.ceil((pct * sorted.length) / 100));
  return sorted[Math.min(sorted.length, k) - 1];
}

async function main() {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: node ort_peer.js DIR --threads T --repeats N');
  const ort = require(process.env.OPAL_ORT_MODULE || 'onnxruntime-node');
  const threads = parseInt(arg('--threads', '2'), 10);
  const repeats = parseInt(arg('--repeats', '30'), 10);
  const warmup = parseInt(arg('--warmup', '5'), 10);
  const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
  });
  const desc = JSON.parse(fs.readFileSync(path.join(dir, 'inputs.json'), 'utf8'));
  const feeds = {};
  for (const d of desc) {
    const buf = fs.readFileSync(path.join(dir, d.bin));
    const T = TYPED[d.dtype];
    if (!T) throw new Error(`input '${d.name}': dtype ${d.dtype} not handled by the peer`);
    const data = new T(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    feeds[d.name] = new ort.Tensor(d.dtype, data, d.shape);
  }
  let out;
  for (let i = 0; i < warmup; ++i) out = await session.run(feeds);
  const ms = [];
  for (let i = 0; i < repeats; ++i) {
    const t0 = process.hrtime.bigint();
    out = await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const outFile = arg('--outputs', '');
  if (outFile) {
    const first = out[session.outputNames[0]];
    const f32 = Float32Array.from(first.data, Number);
    fs.writeFileSync(outFile, Buffer.from(f32.buffer));
  }
  const sorted = [...ms].sort((a, b) => a - b);
  const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
  console.log(JSON.stringify({
    p50_ms: rank(sorted, 50), p90_ms: rank(sorted, 90), min_ms: sorted[0], mean_ms: mean,
    runs: ms.length, threads, version: ort.env.versions ? ort.env.versions.common : '1.30.0',
  }));
}

main().catch((e) => {
  console.error(`ort_peer: ${e.message || e}`);
  process.exit(1);
});
