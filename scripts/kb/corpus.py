#!/usr/bin/python3
"""The workload corpus of opal's starter knowledge base (docs/knowledge_base.md).

  scripts/kb/corpus.py OUT.jsonl [--opal BUILD/bin/opal] [--models DIR]... [--no-sweep]

Writes one workload per line (the JSON `opal tasks --json` prints under "workload"), in priority
order, so that a campaign cut short has covered the most useful part:
  1. every tunable task of every model.onnx under each --models DIR (default: ../shared/models,
     then the architectures models/export_zoo.py exports into build/zoo when that folder exists);
  2. a sweep of transformer products: dense layers of encoder/decoder widths (hidden 256-1024 with
     4x feed-forward, fused QKV, LM heads left out) at sequence lengths 1-512, and the attention
     batch_matmuls (heads x seq x seq x head_dim) of those shapes;
  3. a sweep of CNN convolutions: the stage widths of common families at their usual resolutions
     (stride-1 3x3 and 1x1 blocks, stride-2 transitions, grouped 3x3 of ResNeXt-style blocks).
Depthwise convolutions are left out: the builder computes them with their own direct kernel.
Each workload appears once (first occurrence wins). Nothing here depends on the machine.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def conv(c, k, hw, kh, stride, pad, groups=1):
    oh = (hw + 2 * pad - kh) // stride + 1
    if oh < 1:
        return None
    return {"op": "conv2d", "dtype": "float32", "layout": "NCHW", "n": 1, "c": c, "h": hw, "w": hw,
            "k": k, "kh": kh, "kw": kh, "stride_h": stride, "stride_w": stride, "pad_top": pad,
            "pad_left": pad, "pad_bottom": pad, "pad_right": pad, "dilation_h": 1, "dilation_w": 1,
            "groups": groups}


def dense(m, n, k):
    return {"op": "dense", "dtype": "float32", "m": m, "n": n, "k": k, "trans_a": False, "trans_b": False}


def bmm(batch, m, n, k):
    return {"op": "batch_matmul", "dtype": "float32", "batch": batch, "m": m, "n": n, "k": k, "broadcast": "none"}


def model_workloads(opal, path):
    r = subprocess.run([opal, "-q", "tasks", path, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"corpus.py: skipping {path}: {r.stderr.strip()[:200]}", file=sys.stderr)
        return []
    return [t["workload"] for t in json.loads(r.stdout)["tasks"]]


def transformer_sweep():
    out = []
    for hidden, heads in ((256, 4), (384, 6), (512, 8), (768, 12), (1024, 16)):
        ffn = 4 * hidden
        for seq in (128, 64, 256, 32, 384, 512, 16, 8, 1):
            out += [dense(seq, hidden, hidden), dense(seq, 3 * hidden, hidden), dense(seq, ffn, hidden),
                    dense(seq, hidden, ffn)]
            if seq >= 8:
                d = hidden // heads
                out += [bmm(heads, seq, seq, d), bmm(heads, seq, d, seq)]
    return out


def cnn_sweep():
    out = []
    # (channels, resolution) of the stages of ResNet/VGG/DenseNet/RegNet-like networks at 224.
    stages = [(64, 56), (128, 28), (256, 14), (512, 7), (96, 56), (192, 28), (384, 14), (768, 7),
              (32, 112), (48, 56), (80, 28), (160, 14), (320, 7), (1024, 14), (2048, 7)]
    for c, hw in stages:
        out.append(conv(c, c, hw, 3, 1, 1))          # basic block 3x3
        out.append(conv(c, c // 4, hw, 1, 1, 0))     # bottleneck reduce
        out.append(conv(c // 4, c, hw, 1, 1, 0))     # bottleneck expand
        out.append(conv(c, 2 * c, hw, 3, 2, 1))      # stage transition
        out.append(conv(c, 2 * c, hw, 1, 2, 0))      # shortcut projection
        if c >= 64 and c % 32 == 0:
            out.append(conv(c, c, hw, 3, 1, 1, 32))  # ResNeXt-style grouped 3x3
    # Inverted-residual expansions and projections (MobileNet/EfficientNet widths).
    for c, hw in ((16, 112), (24, 56), (40, 28), (80, 14), (112, 14), (192, 7), (32, 28), (64, 14), (96, 14), (160, 7)):
        for t in (4, 6):
            out.append(conv(c, t * c, hw, 1, 1, 0))
            out.append(conv(t * c, c, hw, 1, 1, 0))
    # Stems.
    out += [conv(3, 64, 224, 7, 2, 3), conv(3, 32, 224, 3, 2, 1), conv(3, 16, 224, 3, 2, 1), conv(3, 24, 224, 3, 2, 1)]
    return [w for w in out if w is not None]


def key(w):
    return json.dumps(w, sort_keys=True, separators=(",", ":"))


def depthwise(w):
    return w["op"] == "conv2d" and w["groups"] > 1 and w["groups"] == w["c"] == w["k"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out")
    p.add_argument("--opal", default=os.path.join(ROOT, "build", "bin", "opal"))
    p.add_argument("--models", action="append", default=None)
    p.add_argument("--no-sweep", action="store_true")
    a = p.parse_args()
    dirs = a.models or [os.path.join(ROOT, "..", "shared", "models"), os.path.join(ROOT, "build", "zoo")]
    seen, rows, sources = set(), [], {}
    def add(w, source):
        k = key(w)
        if k in seen or depthwise(w):
            return
        seen.add(k)
        rows.append(w)
        sources[source] = sources.get(source, 0) + 1
    for d in dirs:
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name, "model.onnx")
            if os.path.exists(path):
                for w in model_workloads(a.opal, path):
                    add(w, "models")
    if not a.no_sweep:
        for w in transformer_sweep():
            add(w, "transformer sweep")
        for w in cnn_sweep():
            add(w, "conv sweep")
    with open(a.out, "w") as f:
        for w in rows:
            f.write(json.dumps(w, sort_keys=True) + "\n")
    print(f"{len(rows)} workloads: " + ", ".join(f"{v} from {k}" for k, v in sources.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
