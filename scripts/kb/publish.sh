#!/usr/bin/env bash
# Publishes a store's knowledge as a starter knowledge base (docs/knowledge_base.md):
#
#   scripts/kb/publish.sh --store DSN -o DIR [--version V] [--note TEXT]
#
# Writes DIR/records.jsonl.gz (every record of the store: failed trials too, they are the cost
# model's data), DIR/costmodel.json (an XGBoost cost model trained on all of them with
# `opal costmodel train`) and DIR/MANIFEST.json (version, counts per target and op, the framework
# versions present, the opal version, the command lines). The repository's data/kb is made this
# way from the campaign's store; a team can publish its own pooled store the same way and point
# OPAL_KB_DIR at the result.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
store="" out="" version="" note=""
while (($#)); do
  case "$1" in
    --store) store="$2"; shift 2 ;;
    -o) out="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --note) note="$2"; shift 2 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) echo "publish.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$store" && -n "$out" ]] || { echo "usage: scripts/kb/publish.sh --store DSN -o DIR [--version V]" >&2; exit 2; }
"$root/scripts/ensure-built.sh" opal
opal="${OPAL_BUILD_DIR:-$root/build}/bin/opal"
mkdir -p "$out"
version="${version:-$(date -u +%Y%m%d)}"
"$opal" -q db export --store "$store" -o "$out/records.jsonl"
gzip -9nf "$out/records.jsonl"
"$opal" -q costmodel train --store "$store" -o "$out/costmodel.json"
"$opal" -q db stats --store "$store" --json > "$out/.stats.json"
/usr/bin/python3 - "$out" "$version" "$note" "$("$opal" --version 2>/dev/null || echo unknown)" <<'PY'
import gzip, json, sys, collections
out, version, note, opal_version = sys.argv[1:5]
n, ok, versions, workloads = 0, 0, collections.Counter(), set()
per = collections.Counter()
with gzip.open(f"{out}/records.jsonl.gz", "rt") as f:
    for line in f:
        r = json.loads(line)
        n += 1
        ok += r.get("status") == "ok"
        versions[f'{r["framework"]} {r["framework_version"]}'] += 1
        workloads.add(r["workload_key"])
        per[(r["target_key"], r["op"])] += 1
stats = json.load(open(f"{out}/.stats.json"))
manifest = {
    "format": "opal.kb/1", "version": version, "note": note, "opal_version": opal_version,
    "records": "records.jsonl.gz", "cost_model": "costmodel.json",
    "record_count": n, "ok_records": ok, "workloads": len(workloads),
    "framework_versions": dict(versions),
    "per_target_op": [{"target": t, "op": o, "records": c} for (t, o), c in sorted(per.items())],
}
json.dump(manifest, open(f"{out}/MANIFEST.json", "w"), indent=1)
print(f"published {n} records ({ok} ok) of {len(workloads)} workloads as starter set {version} in {out}")
PY
rm -f "$out/.stats.json"
