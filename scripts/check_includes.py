#!/usr/bin/env python3
"""Checks that no file includes a header it has no right to (the rooms of docs/architecture.md).

    scripts/check_includes.py MODULES_JSON [--root DIR] [--stamp FILE]

MODULES_JSON is build/opal_modules.json, written by CMake (cmake/OpalHelpers.cmake): every
library with its folder under src/, the opal libraries it depends on and the headers it lets its
dependents include (INTERNAL). The rules, for every quoted #include of a .cc/.h file:

  - "opal/..." (include/opal, the public API) may be included by anyone;
  - a header of the file's own module (its folder under src/) by the module's files;
  - an INTERNAL header of a module by the files of the modules that depend on it (directly or
    through others);
  - a test-support header (src/testing/, *_test_util.h, testdata/) by test files (*_test.cc,
    *_test_util.h, testdata/, testing/) and benchmarks;
  - a header beside the file (its own folder, e.g. tools/opal/commands.h) by that file;
  - nothing else under src/ -- in particular tools/, bench/, tests/ and fuzz/ see only include/opal.

Exits 1 listing every violation (file:line, the header, whose it is and why it is refused), 0
when there is none (and then touches --stamp, for the build).
"""
import argparse
import json
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
CHECKED_DIRS = ("src", "tools", "bench", "tests", "fuzz")


def load_modules(path):
    with open(path) as f:
        mods = json.load(f)["modules"]
    by_name = {m["name"]: m for m in mods}
    for m in mods:
        m["folder"] = m["folder"].rstrip("/")
    return mods, by_name


def closure(name, by_name):
    """Every module `name` depends on, directly or not."""
    seen, todo = set(), list(by_name[name]["deps"])
    while todo:
        d = todo.pop()
        if d in seen or d not in by_name:
            continue
        seen.add(d)
        todo.extend(by_name[d]["deps"])
    return seen


def owner_folder(rel, folders):
    """The longest module folder containing rel (a path relative to the root), or None."""
    best = None
    for f in folders:
        if rel == f or rel.startswith(f + "/"):
            if best is None or len(f) > len(best):
                best = f
    return best


def is_test_support(rel):
    base = os.path.basename(rel)
    return rel.startswith("src/testing/") or base.endswith("_test_util.h") or "/testdata/" in rel


def is_test_file(rel):
    base = os.path.basename(rel)
    return (base.endswith("_test.cc") or base.endswith("_test_util.h") or "/testdata/" in rel
            or rel.startswith("src/testing/") or rel.startswith("tests/") or rel.startswith("bench/"))


def source_files(root):
    for top in CHECKED_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for fn in sorted(filenames):
                if fn.endswith((".cc", ".h", ".cpp")):
                    yield os.path.relpath(os.path.join(dirpath, fn), root)


def check(root, mods, by_name):
    folders = {m["folder"]: m for m in mods}  # several libraries may share a folder: any of them
    modules_of_folder = {}
    for m in mods:
        modules_of_folder.setdefault(m["folder"], []).append(m["name"])
    violations = []
    for rel in source_files(root):
        here = owner_folder(rel, folders)
        allowed_internal = set()  # (folder, header path relative to it)
        if here:
            for name in modules_of_folder[here]:
                for dep in closure(name, by_name):
                    d = by_name[dep]
                    for h in d["internal"]:
                        allowed_internal.add((d["folder"], h))
        with open(os.path.join(root, rel), errors="replace") as f:
            lines = f.readlines()
        for lineno, line in enumerate(lines, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            inc = m.group(1)
            if inc.startswith("opal/"):
                continue  # public
            beside = os.path.normpath(os.path.join(os.path.dirname(rel), inc))
            if os.path.exists(os.path.join(root, beside)) and os.path.dirname(beside) == os.path.dirname(rel):
                continue  # a header beside the file
            target = "src/" + inc
            if not os.path.exists(os.path.join(root, target)):
                continue  # not one of opal's headers (generated or third-party)
            owner = owner_folder(target, folders)
            if owner is not None and owner == here:
                continue
            if is_test_support(target) and is_test_file(rel) and (rel.startswith("src/") or rel.startswith("bench/")):
                continue
            if owner is not None and (owner, os.path.relpath(target, owner)) in allowed_internal:
                continue
            whose = ", ".join(modules_of_folder.get(owner, [])) if owner else "no module"
            if here is None:
                why = "only include/opal headers are visible outside src/"
            elif owner and (owner, os.path.relpath(target, owner)) in {
                    (by_name[n]["folder"], h) for n in by_name for h in by_name[n]["internal"]}:
                why = "it is internal to {} and {} does not depend on it".format(whose, here)
            else:
                why = "it is private to {} (not in its INTERNAL list)".format(whose)
            violations.append("{}:{}: includes \"{}\": {}".format(rel, lineno, inc, why))
    return violations


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("modules")
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--stamp")
    a = ap.parse_args()
    mods, by_name = load_modules(a.modules)
    violations = check(os.path.abspath(a.root), mods, by_name)
    if violations:
        print("opal: include check failed: {} include(s) cross a module's boundary".format(len(violations)),
              file=sys.stderr)
        for v in violations:
            print("  " + v, file=sys.stderr)
        print("  (a header other modules need goes to include/opal with its contract, or to the module's "
              "INTERNAL list in its CMakeLists.txt when it must carry Halide types; see docs/architecture.md)",
              file=sys.stderr)
        return 1
    if a.stamp:
        with open(a.stamp, "w") as f:
            f.write("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
