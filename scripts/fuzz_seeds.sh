#!/usr/bin/env bash
# Writes the seed inputs of one fuzz target into DIR (created), for scripts/fuzz.sh and the fast
# tier's replay of the targets (fuzz/replay_test.sh).
#   scripts/fuzz_seeds.sh onnx|record|plan DIR
#     onnx    the ONNX backend node-test models (Debian's libonnx-testdata), shared models < 2 MB
#     record  valid and damaged opal.record/1 lines
#     plan    the files of data/catalog and shared profiles and Sailor plans, one byte first that
#             picks the reader
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:?usage: scripts/fuzz_seeds.sh onnx|record|plan DIR}"
seeds="${2:?usage: scripts/fuzz_seeds.sh onnx|record|plan DIR}"
mkdir -p "$seeds"
case "$target" in
  onnx)
    for f in /usr/share/libonnx-testdata/data/node/*/model.onnx; do
      cp "$f" "$seeds/$(basename "$(dirname "$f")").onnx"
    done
    find "$root/../shared/models" -name model.onnx -size -2M \
      -exec sh -c 'cp "$1" "$2/shared_$(basename "$(dirname "$1")").onnx"' _ {} "$seeds" \;
    ;;
  record)
    # Valid lines (uid = SHA-256 of the canonical content), then damaged copies of them.
    /usr/bin/python3 - "$seeds" <<'EOF'
import hashlib, json, sys
def line(i, status="ok"):
  r = {"workload_key": "dense-%016x" % i, "workload": '{"op":"dense","m":%d}' % i, "op": "dense",
       "target_key": "cpu-x86_64-avx512-k", "target_coarse_key": "cpu-x86_64-avx512", "target": "cpu",
       "framework": "halide", "framework_version": "2", "config": '{"knobs":{"t":%d}}' % i,
       "status": status, "error": "" if status == "ok" else "boom", "times_s": [0.001 * i, 0.0012],
       "median_s": 0.0011, "gflops": 1.5, "timestamp_us": 1700000000000000 + i,
       "provenance": {"opal_version": "0.1", "compiler": "gcc", "halide_version": "14",
                      "llvm_version": "14", "host": "h", "worker_id": "w"}}
  text = json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
  r["uid"] = hashlib.sha256(text.encode()).hexdigest()
  r["format"] = "opal.record/1"
  return json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
d = sys.argv[1]
open(d + "/valid.jsonl", "w").write("\n".join(line(i) for i in range(1, 4)) + "\n")
open(d + "/failed.jsonl", "w").write(line(7, "crash") + "\n")
open(d + "/edited.jsonl", "w").write(line(9).replace('"gflops":1.5', '"gflops":2.5') + "\n")
open(d + "/truncated.jsonl", "w").write(line(11)[:200] + "\n")
EOF
    ;;
  plan)
    i=0
    add() { printf "\\x$(printf %02x "$1")" >"$seeds/seed$i"; cat "$2" >>"$seeds/seed$i"; i=$((i + 1)); }
    add 0 "$root/data/catalog/gpus.json"
    for f in "$root"/data/catalog/clusters/*.json; do add 1 "$f"; done
    for f in $(find "$root/../shared" -name profile.json -size -512k 2>/dev/null | head -4); do add 2 "$f"; done
    for f in $(find "$root/../shared" -path '*sailor*' -name '*.json' -size -64k 2>/dev/null | head -4); do add 3 "$f"; done
    for f in "$root"/data/catalog/models/*.json; do add 4 "$f"; done
    ;;
  *) echo "scripts/fuzz_seeds.sh: unknown target $target (onnx, record or plan)" >&2; exit 2 ;;
esac
