#!/usr/bin/env bash
# Runs every Go fuzz target of the module for a short while (FUZZTIME,
# default 5s each), on top of its committed seeds. For CI: a quick pass
# that catches regressions in the decoders of client input; run longer by
# hand with FUZZTIME=10m.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-5s}"

status=0
for pkg in $(go list ./...); do
	targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for target in $targets; do
		echo "--- $pkg $target ($FUZZTIME)"
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"; then
			status=1
		fi
	done
done
exit $status
