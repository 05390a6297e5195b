#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# man_pages.sh MAP MAN3_DIR [PAGE...]: every symbol of the version script
# MAP has a man page in MAN3_DIR (its own or an alias page pointing at one
# whose NAME section lists it), and man -l renders each page, and every
# further PAGE, without a single warning.
set -uo pipefail

map=$1 dir=$2
shift 2
status=0

if ! command -v man >/dev/null; then
	echo "SKIP: man is not installed"
	exit 77
fi
if ! ls "$dir"/*.3 >/dev/null 2>&1; then
	echo "SKIP: no man pages in $dir (go-md2man and pandoc missing at build time)"
	exit 77
fi

render() {
	local out

	out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 \
		man --warnings -E UTF-8 -l -Tutf8 -Z "$1" 2>&1 >/dev/null)
	if [ -n "$out" ]; then
		echo "FAIL: $1 renders with warnings:"
		echo "$out" | sed 's/^/  /'
		return 1
	fi
	return 0
}

declare -A rendered
for sym in $(sed -n 's/^[[:space:]]*\(p2pmr_[a-z0-9_]*\);.*/\1/p' "$map"); do
	page=$dir/$sym.3
	if [ ! -e "$page" ]; then
		echo "FAIL: $sym has no man page ($page)"
		status=1
		continue
	fi
	target=$(sed -n '1s/^\.so man3\///p' "$page")
	if [ -n "$target" ]; then
		page=$dir/$target
		[ -e "$page" ] || { echo "FAIL: $sym.3 points at missing $target"; status=1; continue; }
	fi
	if ! LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$page" 2>/dev/null |
		sed -n '/^NAME/,/^SYNOPSIS/p' | grep -qw "$sym"; then
		echo "FAIL: $(basename "$page") does not name $sym in NAME"
		status=1
	fi
	if [ -z "${rendered[$page]:-}" ]; then
		render "$page" || status=1
		rendered[$page]=1
	fi
	echo "ok $sym -> $(basename "$page")"
done
for page in "$@"; do
	if render "$page"; then
		echo "ok $(basename "$page") renders"
	else
		status=1
	fi
done
[ $status -eq 0 ] && echo "every public function has a man page that renders cleanly"
exit $status
