#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# md2man.sh PAGE.N.md OUTDIR: turn a markdown man page into roff.
#
# The page starts with pandoc-style YAML front matter (title, section,
# date, footer, header).  go-md2man (Debian's go-md2man, small) does the
# conversion; pandoc is used where go-md2man is missing.  Besides
# OUTDIR/PAGE.N it writes an alias page OUTDIR/NAME.N (".so manN/PAGE.N")
# for every other name the NAME section lists, so that "man NAME" finds
# each function a page documents.
set -euo pipefail

in=$1 outdir=$2
page=$(basename "$in" .md)
sect=${page##*.}
out=$outdir/$page
mkdir -p "$outdir"

meta() {
	awk -v k="$1" 'NR == 1 && $0 != "---" { exit }
		NR > 1 && $0 == "---" { exit }
		NR > 1 { i = index($0, ":"); if (substr($0, 1, i - 1) == k) {
			v = substr($0, i + 1); sub(/^ */, "", v);
			gsub(/^["'\'']|["'\'']$/, "", v); print v } }' "$in"
}

if command -v go-md2man >/dev/null; then
	tmp=$(mktemp)
	trap 'rm -f "$tmp"' EXIT
	{
		printf '%% %s %s %s "%s" "%s"\n\n' "$(meta title)" \
			"$(meta section)" "$(meta date)" "$(meta footer)" \
			"$(meta header)"
		# the body after the front matter
		awk 'NR == 1 && $0 == "---" { fm = 1; next }
		     fm && $0 == "---" { fm = 0; next }
		     !fm { print }' "$in"
	} >"$tmp"
	go-md2man -in "$tmp" -out "$out"
elif command -v pandoc >/dev/null; then
	pandoc -s -t man "$in" -o "$out"
else
	echo "md2man.sh: neither go-md2man nor pandoc is installed" >&2
	exit 1
fi

# NAME: "a, b, c - what they do", possibly over several lines
names=$(awk '/^# NAME/ { on = 1; next } on && /^# / { exit }
	     on { printf "%s ", $0 }' "$in" | sed 's/ - .*//; s/\\//g; s/,/ /g')
for n in $names; do
	[ "$n.$sect" = "$page" ] && continue
	echo ".so man$sect/$page" >"$outdir/$n.$sect"
done
