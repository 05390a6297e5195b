#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# scripts/debug-kernel.sh --prune on a cache of stand-in entries: a kernel
# of another key unused for longer than P2PMR_KDEBUG_KEEP_DAYS goes (by
# its .used mark, else by when it was built); one used recently, one whose
# key another build holds the lock of, and an unfinished one stay.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
dpkg-query -W linux-source-6.12 >/dev/null 2>&1 || {
	echo "SKIP: linux-source-6.12 is not installed (scripts/install-deps.sh)"
	exit 77
}

cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT
# entry <name> <.complete age in days> [<.used age in days>]
entry() {
	mkdir -p "$cache/$1/src"
	touch -d "$2 days ago" "$cache/$1/.complete"
	[ -z "${3:-}" ] || touch -d "$3 days ago" "$cache/$1/.used"
}
entry 6.12.1-1-aaaaaaaaaaaaaaaa 30 10
entry 6.12.1-1-bbbbbbbbbbbbbbbb 30 1
entry 6.12.1-1-cccccccccccccccc 10
entry 6.12.1-1-dddddddddddddddd 30 30
mkdir -p "$cache/6.12.1-1-eeeeeeeeeeeeeeee"
touch -d "30 days ago" "$cache/6.12.1-1-eeeeeeeeeeeeeeee"

# A build of key dddd... holds its lock meanwhile.
exec 9>"$cache/.lock-dddddddddddddddd"
flock 9
P2PMR_KDEBUG_CACHE=$cache P2PMR_KDEBUG_KEEP_DAYS=7 \
	"$root/scripts/debug-kernel.sh" --prune 2>"$cache/log"
exec 9>&-

gone() {
	[ ! -e "$cache/$1" ] || fail "$1 was kept ($2): $(cat "$cache/log")"
	echo "ok - removed: $2"
}
kept() {
	[ -e "$cache/$1" ] || fail "$1 was removed ($2): $(cat "$cache/log")"
	echo "ok - kept: $2"
}
gone 6.12.1-1-aaaaaaaaaaaaaaaa "last used 10 days ago"
kept 6.12.1-1-bbbbbbbbbbbbbbbb "last used a day ago"
gone 6.12.1-1-cccccccccccccccc "never used, built 10 days ago"
kept 6.12.1-1-dddddddddddddddd "its key's lock is held"
kept 6.12.1-1-eeeeeeeeeeeeeeee "never completed"
grep -q "removed $cache/6.12.1-1-aaaaaaaaaaaaaaaa, unused for 7 days" \
	"$cache/log" || fail "no line says what was removed: $(cat "$cache/log")"
echo "debug-kernel cache pruning ok"
