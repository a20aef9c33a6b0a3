#!/usr/bin/env bash
# opal from a checkout: installs the Debian packages it needs and builds on first use, then runs
# build/bin/opal with the given arguments. `./opal --help` lists the commands.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$root/scripts/ensure-built.sh" opal
exec "${OPAL_BUILD_DIR:-$root/build}/bin/opal" "$@"
