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
#   scripts/third-party.sh workspace COPY DIR
#                                          DIR: a git repository of upstream with
#                                          one commit per patch of COPY, to edit,
#                                          rebase or add patches in; run again
#                                          on DIR, it applies the patches DIR lacks
#   scripts/third-party.sh export COPY DIR
#                                          write DIR's commits back as COPY's
#                                          patch files, then regenerate
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

# module_of COPY: the upstream module of a copy.
module_of() {
	local entry copy mod
	for entry in "${copies[@]}"; do
		read -r copy mod <<<"$entry"
		[[ "$copy" == "$1" ]] && { echo "$mod"; return; }
	done
	die "no copy named $1 (one of: socket.io socket.io-engine socket.io-server)"
}

# upstream_dir MODULE: the module cache directory of MODULE at the version
# go.mod requires.
upstream_dir() {
	local version dir
	version=$(required_version "$1" go.mod)
	[[ -n "$version" ]] || die "go.mod does not require $1"
	dir=$("$GO" mod download -json "$1@$version" | sed -n 's/^\t"Dir": "\(.*\)",\{0,1\}$/\1/p')
	[[ -d "$dir" ]] || die "go mod download $1@$version gave no directory"
	echo "$dir"
}

git_in() { git -C "$1" -c user.name=third-party -c user.email=third-party@localhost "${@:2}"; }

case "${1:-}" in
workspace)
	[[ $# -eq 3 ]] || die "usage: $0 workspace COPY DIR"
	copy=$2 ws=$3
	mod=$(module_of "$copy")
	if [[ ! -e "$ws" ]]; then
		cp -R "$(upstream_dir "$mod")" "$ws"
		chmod -R u+w "$ws"
		git init -q "$ws"
		git_in "$ws" add -A
		git_in "$ws" commit -q -m "upstream $mod@$(required_version "$mod" go.mod)"
	fi
	[[ -z "$(git_in "$ws" status --porcelain)" ]] || die "$ws has uncommitted changes"
	# Run again on an existing workspace, it applies the patches it lacks.
	have=$(git_in "$ws" log --format=%s)
	for patch in third_party/patches/"$copy"/*.patch; do
		[[ -e "$patch" ]] || continue
		name=$(basename "$patch")
		grep -qxF "$name" <<<"$have" && continue
		# Message: the patch's file name, a blank line, its header.
		{ echo "$name"; echo; sed '/^diff --git /,$d' "$patch"; } >"$ws/.git/THIRD_PARTY_MSG"
		if ! git_in "$ws" apply --whitespace=nowarn "$root/$patch" 2>/dev/null; then
			git_in "$ws" apply --whitespace=nowarn --reject "$root/$patch" || true
			echo "$patch does not apply: what fits is applied, the rest is in $ws/**/*.rej." >&2
			echo "Resolve it, delete the .rej files, then" >&2
			echo "  git -C $ws add -A && git -C $ws commit --cleanup=verbatim -F .git/THIRD_PARTY_MSG" >&2
			echo "and run this command again for the patches after it." >&2
			exit 1
		fi
		git_in "$ws" add -A
		git_in "$ws" commit -q --cleanup=verbatim -F .git/THIRD_PARTY_MSG
	done
	echo "$ws: upstream plus one commit per patch. Edit (git rebase -i, new commits"
	echo "whose first message line is the patch's file name), then:"
	echo "  $0 export $copy $ws"
	exit 0
	;;
export)
	[[ $# -eq 3 ]] || die "usage: $0 export COPY DIR"
	copy=$2 ws=$3
	module_of "$copy" >/dev/null
	commits=$(git_in "$ws" rev-list --reverse HEAD | tail -n +2)
	rm -f third_party/patches/"$copy"/*.patch
	mkdir -p third_party/patches/"$copy"
	for c in $commits; do
		name=$(git_in "$ws" log -1 --format=%s "$c")
		[[ "$name" == *.patch && "$name" != */* ]] || die "commit $c: first message line must be a file name ending in .patch"
		header=$(git_in "$ws" log -1 --format=%B "$c" | tail -n +3)
		{ printf '%s\n\n' "$header"; git_in "$ws" diff --no-color --no-ext-diff --no-renames "$c^" "$c"; } \
			>third_party/patches/"$copy"/"$name"
		echo "third_party/patches/$copy/$name"
	done
	;;
"") ;;
*) die "unknown command $1" ;;
esac

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
	src=$(upstream_dir "$mod")
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
