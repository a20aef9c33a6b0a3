#!/usr/bin/env bash
# The cost model from the command line, end to end on a real SQLite store: tune a small model,
# train and register the model in the store, list it, use it by name for zero-shot tuning and
# for eval, and the errors a user meets (name taken, unknown name, bad name). Usage: SCRIPT OPAL
set -euo pipefail
opal="$1"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
py=/usr/bin/python3
"$py" "$(dirname "$0")/../distributed/make_two_matmuls.py" "$tmp/m.onnx"
export OPAL_DEVICE_LOCK="$tmp/device.lock"
store="sqlite:$tmp/s.db"
records() { "$opal" db export --store "$store" 2>/dev/null | wc -l; }
expect_rc() {  # expect_rc RC TEXT CMD...: exit status RC and TEXT in stderr
  local want="$1" text="$2"; shift 2
  set +e; "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?; set -e
  [[ $rc == "$want" ]] || { cat "$tmp/out" "$tmp/err"; fail "'$*' exited $rc, expected $want"; }
  grep -q -- "$text" "$tmp/err" || { cat "$tmp/err"; fail "'$*' did not say '$text'"; }
}

echo "--- tune, train, register"
"$opal" -q tune "$tmp/m.onnx" --trials 40 --store "$store" >/dev/null 2>&1 || fail "tuning"
"$opal" costmodel train --store "$store" --no-search -o "$tmp/cm.json" --register cm1 >"$tmp/train" \
  || { cat "$tmp/train"; fail "train --register"; }
grep -q "registered cost model 'cm1'" "$tmp/train" || fail "train did not register"
"$opal" costmodel list --store "$store" | grep -q "^cm1 " || fail "list does not show cm1"
[[ "$("$opal" costmodel list --store "$store" --json | "$py" -c 'import json,sys; print(json.load(sys.stdin)[0]["meta"]["rows"])')" -ge 20 ]] \
  || fail "list --json lacks the training size"

echo "--- held-out workloads: listed by key, left out of training"
"$opal" tasks --json "$tmp/m.onnx" | "$py" -c '
import json, sys
for t in json.load(sys.stdin)["tasks"]: print(json.dumps(t["workload"]))' >"$tmp/all.jsonl"
head -n 1 "$tmp/all.jsonl" >"$tmp/one.jsonl"
held="sqlite:$tmp/held.db"  # the model's two workloads and a third one, so two are left to train on
"$opal" -q tune "$tmp/m.onnx" --trials 30 --store "$held" >/dev/null 2>&1 || fail "tuning (held)"
"$opal" -q tune --workload '{"dtype":"float32","k":48,"m":16,"n":32,"op":"dense","trans_a":false,"trans_b":false}' \
  --trials 12 --store "$held" >/dev/null 2>&1 || fail "tuning a third workload"
"$opal" costmodel train --store "$held" --no-search -o "$tmp/cm_all.json" >/dev/null 2>&1 || fail "train (held)"
[[ "$("$opal" tasks --json --workloads "$tmp/all.jsonl" | "$py" -c 'import json,sys; print(sorted(t["key"] for t in json.load(sys.stdin)["tasks"]))')" == \
   "$("$opal" tasks --json "$tmp/m.onnx" | "$py" -c 'import json,sys; print(sorted(t["key"] for t in json.load(sys.stdin)["tasks"]))')" ]] \
  || fail "tasks --workloads does not give the model's keys"
rows() { "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"])' "$1"; }
"$opal" costmodel train --store "$held" --no-search -o "$tmp/cm_ex.json" --exclude-workloads "$tmp/one.jsonl" \
  >/dev/null 2>"$tmp/err" || { cat "$tmp/err"; fail "train --exclude-workloads"; }
left=$(sed -n 's/.*left out \([0-9]*\) trials of 1 excluded workloads.*/\1/p' "$tmp/err")
[[ -n "$left" && "$left" -gt 0 ]] || { cat "$tmp/err"; fail "train did not leave the listed workload out"; }
[[ $(( $(rows "$tmp/cm_ex.json") + left )) == "$(rows "$tmp/cm_all.json")" ]] || fail "excluded rows do not add up"
expect_rc 2 "not valid JSON" "$opal" costmodel train --store "$store" -o "$tmp/x.json" --exclude-workloads "$tmp/m.onnx"

echo "--- a name is not overwritten silently"
expect_rc 2 "--replace" "$opal" costmodel register "$tmp/cm.json" --name cm1 --store "$store"
"$opal" costmodel register "$tmp/cm.json" --name cm1 --replace --store "$store" >/dev/null || fail "register --replace"
expect_rc 2 "not valid" "$opal" costmodel register "$tmp/cm.json" --name "bad name" --store "$store"

echo "--- zero-shot and eval with the registered model"
wl="$("$opal" tasks --json "$tmp/m.onnx" | "$py" -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["tasks"][0]["workload"]))')"
zs="sqlite:$tmp/zs.db"
"$opal" costmodel register "$tmp/cm.json" --name cm1 --store "$zs" >/dev/null
before=$("$opal" db export --store "$zs" 2>/dev/null | wc -l)
"$opal" -q tune --workload "$wl" --zero-shot --cost-model @cm1 --measure 3 --samples 64 --store "$zs" --json \
  >"$tmp/zs.json" 2>"$tmp/log" || { cat "$tmp/log"; fail "zero-shot with @cm1"; }
after=$("$opal" db export --store "$zs" 2>/dev/null | wc -l)
read -r measured side < <("$py" -c 'import json,sys; t=json.load(open(sys.argv[1]))["tasks"][0]; print(t["measured"], t["side_by_side"])' "$tmp/zs.json")
[[ $measured -ge 1 && $measured -le 3 ]] || fail "zero-shot measured $measured configs, expected 1..3"
[[ $side -ge 2 ]] || fail "zero-shot measured $side configs side by side, expected them all"
[[ $((after - before)) == "$measured" ]] || fail "zero-shot stored $((after - before)) records for $measured measured"
"$opal" -q tune --workload "$wl" --zero-shot --cost-model @ --measure 1 --samples 16 --store "$zs" >"$tmp/log" 2>&1 \
  || { cat "$tmp/log"; fail "zero-shot with the newest registered model (@)"; }
"$opal" costmodel eval @cm1 --store "$store" --json | grep -q pairwise_accuracy || fail "eval @cm1"

echo "--- re-timing the winners side by side (opal measure, read-only)"
n_before=$(records)
cfg=$("$py" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["sources"][0]["config"]))' \
  <("$opal" measure --workload "$wl" --store "$store" --rounds 1 --json))
"$opal" measure --workload "$wl" --store "$store" --store "$zs" --default --config "$cfg" --rounds 2 --json \
  >"$tmp/m.json" || fail "measure"
"$py" - "$tmp/m.json" <<'PY' || fail "measure output"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "opal.measure/1" and len(d["sources"]) == 4, d
assert [s["source"] for s in d["sources"]][2:] == ["default", "config 1"]
assert d["sources"][3]["config"] == d["sources"][0]["config"]
for s in d["sources"]:
    assert len(s["gflops"]) == 2 and all(g > 0 for g in s["gflops"]), s
assert d["sources"][0]["ratio_to_first"] == 1.0
PY
[[ "$(records)" == "$n_before" ]] || fail "measure wrote records"
expect_rc 3 "no record store" "$opal" measure --workload "$wl" --store "sqlite:$tmp/absent.db"
[[ ! -e "$tmp/absent.db" ]] || fail "measure created a store"
expect_rc 2 "--config" "$opal" measure --workload "$wl" --store "$store" --config '{"knobs":{"rx":99}}'

echo "--- unknown names and removal"
expect_rc 3 "no cost model named 'nope'" "$opal" -q tune --workload "$wl" --zero-shot --cost-model @nope --store "$store"
"$opal" costmodel remove cm1 --store "$store" | grep -q "removed" || fail "remove"
expect_rc 3 "no cost model named 'cm1'" "$opal" costmodel remove cm1 --store "$store"
"$opal" costmodel list --store "$store" | grep -q "no cost models" || fail "list after remove"
echo "PASS"
