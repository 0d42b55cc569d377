#!/usr/bin/env bash
# Regenerates the patched copies of the Socket.IO library under third_party/
# from the pinned upstream modules (Go module cache) plus the patch files in
# third_party/patches/<copy>/, in name order. The same inputs always give the
# same tree; `make check-third-party` relies on that. See third_party/README.md.
#
#   scripts/third-party.sh                 regenerate at the versions go.mod pins
#   SOCKETIO_VERSION=v3.0.7 scripts/third-party.sh
#                                          move every zishang520/socket.io module
#                                          of go.mod to that release, then
#                                          regenerate (and go mod tidy)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
GO=${GO:-go}
export GOWORK=off GOFLAGS=

# copy under third_party/ | upstream module. Listed in dependency order: each
# copy's go.mod points the copies above it that it requires at them.
copies=(
	"socket.io         github.com/zishang520/socket.io/v3"
	"socket.io-engine  github.com/zishang520/socket.io/servers/engine/v3"
	"socket.io-server  github.com/zishang520/socket.io/servers/socket/v3"
)

die() { echo "third-party: $*" >&2; exit 1; }

# required_version MODULE GOMOD: the version GOMOD's require line gives MODULE.
required_version() {
	awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$2"
}

# replaced_paths GOMOD: the module paths of GOMOD's replace directives.
replaced_paths() {
	awk '/^replace \($/ { b = 1; next } b && /^\)/ { b = 0; next }
	     b && /=>/ { print $1; next } /^replace [^(].*=>/ { print $2 }' "$1"
}

if [[ -n "${SOCKETIO_VERSION:-}" ]]; then
	for mod in $(awk '$1 ~ /^github\.com\/zishang520\/socket\.io\// && $2 ~ /^v/ { print $1 }' go.mod | sort -u); do
		[[ "$(required_version "$mod" go.mod)" == "$SOCKETIO_VERSION" ]] && continue
		echo "go.mod: $mod $SOCKETIO_VERSION"
		"$GO" mod edit -require="$mod@$SOCKETIO_VERSION"
	done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/third_party"

done_copies=()
for entry in "${copies[@]}"; do
	read -r copy mod <<<"$entry"
	version=$(required_version "$mod" go.mod)
	[[ -n "$version" ]] || die "go.mod does not require $mod"
	src=$("$GO" mod download -json "$mod@$version" | sed -n 's/^\t"Dir": "\(.*\)",\{0,1\}$/\1/p')
	[[ -d "$src" ]] || die "go mod download $mod@$version gave no directory"
	dst="$work/third_party/$copy"
	echo "$copy: $mod@$version"

	# Everything the module ships but VCS and CI metadata (.git*, .github,
	# linter settings), with plain permissions (the cache's are read-only).
	cp -R "$src" "$dst"
	find "$dst" -name '.*' -prune -exec rm -rf {} +
	find "$dst" -type d -exec chmod 0755 {} +
	find "$dst" -type f -exec chmod 0644 {} +

	# go.mod: upstream's replace lines point into its monorepo; the copies
	# this module requires are pointed at the patched copies instead, so
	# upstream's tests run against what chatgw runs.
	for old in $(replaced_paths "$dst/go.mod"); do
		(cd "$dst" && "$GO" mod edit -dropreplace="$old")
	done
	for other in "${done_copies[@]}"; do
		read -r ocopy omod <<<"$other"
		if [[ -n "$(required_version "$omod" "$dst/go.mod")" ]]; then
			(cd "$dst" && "$GO" mod edit -replace="$omod=../$ocopy")
		fi
	done

	shopt -s nullglob
	for patch in "$root/third_party/patches/$copy"/*.patch; do
		# Outside any repository, git apply patches the directory it runs
		# in, strictly (no fuzz): a patch that no longer fits fails here.
		(cd "$dst" && GIT_CEILING_DIRECTORIES="$work" git apply --whitespace=nowarn "$patch") ||
			die "${patch#"$root"/} does not apply to $mod@$version: refresh it (third_party/README.md)"
	done
	shopt -u nullglob
	done_copies+=("$entry")
done

# go.sum of each copy: what its tests need, now that its requirements come
# from the proxy instead of upstream's monorepo.
for entry in "${copies[@]}"; do
	read -r copy _ <<<"$entry"
	(cd "$work/third_party/$copy" && "$GO" mod tidy) || die "go mod tidy failed in $copy"
done

for entry in "${copies[@]}"; do
	read -r copy _ <<<"$entry"
	rm -rf "third_party/$copy"
	mv "$work/third_party/$copy" "third_party/$copy"
done

if [[ -n "${SOCKETIO_VERSION:-}" ]]; then
	"$GO" mod tidy
fi
echo "third_party/ regenerated; now run make test"
