#!/usr/bin/env bash
# End to end through the CLI: records move from a laptop's SQLite file to a team's PostgreSQL and
# back, bit-exactly; imports are idempotent; stats/best/prune answer; bad input fails cleanly.
#   db_cli_test.sh OPAL MAKE_TEST_RECORDS PG_DSN_FILE
set -euo pipefail
opal="$1"; gen="$2"; pg="$(cat "$3")"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
pgdb="${pg%/*}/opal_cli_$$"
psql -q "$pg" -c "CREATE DATABASE opal_cli_$$" >/dev/null

"$gen" 500 7 >"$tmp/in.jsonl"
lite="sqlite:$tmp/laptop.db"
out=$("$opal" db import --store "$lite" "$tmp/in.jsonl")
[[ "$out" == *"500 new, 0 already present"* ]] || fail "first import: $out"
out=$("$opal" db import --store "$lite" "$tmp/in.jsonl")
[[ "$out" == *"0 new, 500 already present"* ]] || fail "second import: $out"
"$opal" db export --store "$lite" -o "$tmp/lite.jsonl" 2>/dev/null
cmp -s "$tmp/in.jsonl" "$tmp/lite.jsonl" || fail "sqlite export differs from what was imported"

"$opal" db import --store "$pgdb" "$tmp/lite.jsonl" >/dev/null
"$opal" db export --store "$pgdb" -o "$tmp/pg.jsonl" 2>/dev/null
cmp -s "$tmp/in.jsonl" "$tmp/pg.jsonl" || fail "postgresql export differs from the sqlite one"

# gzip: export --gzip, import reads it back (detected from the content), a cut file is refused.
"$opal" db export --store "$pgdb" --gzip -o "$tmp/pg.jsonl.gz" 2>/dev/null
[[ "$(head -c 2 "$tmp/pg.jsonl.gz" | od -An -tx1 | tr -d ' ')" == 1f8b ]] || fail "export --gzip wrote no gzip"
gzip -dc "$tmp/pg.jsonl.gz" | cmp -s "$tmp/in.jsonl" - || fail "the gzip export differs from the plain one"
"$opal" db export --store "$pgdb" --gzip 2>/dev/null | gzip -dc | cmp -s "$tmp/in.jsonl" - || fail "gzip to stdout"
out=$("$opal" db import --store "sqlite:$tmp/gz.db" "$tmp/pg.jsonl.gz")
[[ "$out" == *"500 new, 0 already present"* ]] || fail "gzip import: $out"
head -c 3000 "$tmp/pg.jsonl.gz" >"$tmp/cut.gz"
set +e
err=$("$opal" db import --store "sqlite:$tmp/cut.db" "$tmp/cut.gz" 2>&1); rc=$?
set -e
[[ $rc != 0 && "$err" == *"truncated"* ]] || fail "a truncated gzip file: rc=$rc $err"

# compact: version 0.9 to a gzip archive (then gone from the store), which imports back.
cp "$tmp/laptop.db" "$tmp/compact.db"
n09=$("$opal" db export --store "sqlite:$tmp/compact.db" --framework-version 0.9 2>/dev/null | wc -l)
out=$("$opal" db compact --store "sqlite:$tmp/compact.db" --framework halide --archive-version 0.9 \
      --archive "$tmp/old.jsonl.gz" --merge-duplicates)
[[ "$out" == *"$n09 archived"* ]] || fail "compact: $out (expected $n09 archived)"
n=$("$opal" db export --store "sqlite:$tmp/compact.db" --framework-version 0.9 2>/dev/null | wc -l)
[[ "$n" == 0 ]] || fail "compact left $n records of 0.9"
out=$("$opal" db import --store "sqlite:$tmp/compact.db" "$tmp/old.jsonl.gz")
[[ "$out" == *"$n09 new"* ]] || fail "archive import: $out"
set +e
err=$("$opal" db compact --store "sqlite:$tmp/compact.db" 2>&1); rc=$?
set -e
[[ $rc == 2 && "$err" == *"--merge-duplicates"* ]] || fail "compact without an action: rc=$rc $err"

"$opal" db stats --store "$pgdb" | grep -q "500 records" || fail "stats total"
"$opal" db stats --store "$pgdb" --json | /usr/bin/python3 -c \
  'import json,sys; d=json.load(sys.stdin); assert sum(r["records"] for r in d["rows"]) == 500' || fail "stats json"
target=$(head -1 "$tmp/in.jsonl" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["target_key"])')
n=$("$opal" db best conv2d-w3 --store "$pgdb" --target "$target" -k 3 --json | /usr/bin/python3 -c \
  'import json,sys; r=json.load(sys.stdin); assert r[0]["median_s"] <= r[1]["median_s"] <= r[2]["median_s"]; print(len(r))') \
  || fail "best --json"
[[ "$n" == 3 ]] || fail "best returned $n records"

v09_before=$("$opal" db export --store "$lite" --framework-version 0.9 2>/dev/null | wc -l)
out=$("$opal" db prune --store "$lite" --framework halide --framework-version 1.0 --keep 2)
[[ "$out" == *"pruned"* ]] || fail "prune: $out"
v10_after=$("$opal" db export --store "$lite" --framework-version 1.0 2>/dev/null | wc -l)
v09_after=$("$opal" db export --store "$lite" --framework-version 0.9 2>/dev/null | wc -l)
[[ "$v10_after" == 26 ]] || fail "prune kept $v10_after records of 1.0, expected 2 x 13 workloads"
[[ "$v09_before" == "$v09_after" ]] || fail "prune touched version 0.9 ($v09_before -> $v09_after)"

# The starter knowledge base: imported once per version, its cost model registered by name.
out=$("$opal" db import --starter --store "sqlite:$tmp/kb.db")
[[ "$out" == *"imported the starter knowledge base"*"@starter-"* ]] || fail "import --starter: $out"
out=$("$opal" db import --starter --store "sqlite:$tmp/kb.db")
[[ "$out" == *"already holds the starter knowledge base"* ]] || fail "second import --starter: $out"
"$opal" costmodel list --store "sqlite:$tmp/kb.db" | grep -q "^starter-" || fail "no starter cost model registered"

# Bad input: a corrupted line imports nothing and names the line; bad DSN; unreachable server.
sed '3s/"median_s":[0-9.e-]*/"median_s":1e-9/' "$tmp/in.jsonl" >"$tmp/bad.jsonl"
set +e
err=$("$opal" db import --store "sqlite:$tmp/fresh.db" "$tmp/bad.jsonl" 2>&1); rc=$?
[[ $rc == 2 && "$err" == *"bad.jsonl:3"*"uid does not match"* ]] || fail "tampered import: rc=$rc $err"
n=$("$opal" db export --store "sqlite:$tmp/fresh.db" 2>/dev/null | wc -l)
[[ "$n" == 0 ]] || fail "a bad file imported $n records"
mkdir -p "$tmp/badkb" && echo '{"version": 1}' >"$tmp/badkb/MANIFEST.json"
err=$(OPAL_KB_DIR="$tmp/badkb" "$opal" db import --starter --store "sqlite:$tmp/kb2.db" 2>&1); rc=$?
[[ $rc == 2 && "$err" == *"MANIFEST.json"*"OPAL_KB_DIR=off"* ]] || fail "bad knowledge base: rc=$rc $err"
err=$("$opal" db stats --store "mysql://x" 2>&1); rc=$?
[[ $rc == 2 && "$err" == *"unknown scheme"* ]] || fail "bad dsn: rc=$rc $err"
err=$("$opal" db stats --store "postgresql://u:topsecret@127.0.0.1:1/x" 2>&1); rc=$?
[[ $rc == 6 && "$err" != *topsecret* ]] || fail "unreachable: rc=$rc $err"
set -e
psql -q "$pg" -c "DROP DATABASE opal_cli_$$" >/dev/null
echo "db CLI: ok"
