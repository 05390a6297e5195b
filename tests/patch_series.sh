#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Checks a patch series we carry against an upstream project
# (perftest-patches/, providers/rdma-core-patches/): every patch is a
# well-formed `git format-patch` mail (From line, From:, Date:, a numbered
# Subject:, a commit message body, a Signed-off-by before the "---"
# separator, a diff), the series is numbered 1..N in file order, each patch
# touches exactly the files its diffstat says and only paths of the
# project's tree, its hunks have the line counts their headers promise, and
# the README names every patch and the release it applies to.  With the
# release tarball, the series must also apply to it in order with no fuzz
# (patch --fuzz=0, as git am does); without it the test skips (77) after
# the mail checks, naming the tarball.
#
# usage: patch_series.sh <series directory> <project> [release tarball]
set -u

dir=${1:?usage: patch_series.sh <series directory> <project> [tarball]}
project=${2:?usage: patch_series.sh <series directory> <project> [tarball]}
tarball=${3:-}
fail=0
err() {
	echo "FAIL: $*"
	fail=1
}

shopt -s nullglob
patches=("$dir"/[0-9][0-9][0-9][0-9]-*.patch)
[ ${#patches[@]} -gt 0 ] || { echo "FAIL: no patches in $dir"; exit 1; }
total=${#patches[@]}

# check_mail <patch>: prints "files:" lines of the diffstat and of the diff
# headers, and "error:" lines for what is malformed.
check_mail() {
	awk '
	function fail(msg) { print "error: " msg; bad = 1 }
	NR == 1 {
		if ($0 !~ /^From [0-9a-f]+ Mon Sep 17 00:00:00 2001$/ || length($2) != 40)
			fail("line 1 is not a format-patch From line")
		state = "hdr"; next
	}
	state == "hdr" && /^[ \t]/ {
		# a folded header line continues the one before
		if (last == "subject") { sub(/^[ \t]+/, " "); subject = subject $0 }
		next
	}
	state == "hdr" { last = "" }
	state == "hdr" && /^From: .+ <.+@.+>$/ { from = 1; next }
	state == "hdr" && /^Date: / { date = 1; next }
	state == "hdr" && /^Subject: \[PATCH( [0-9]+\/[0-9]+)?\] .+/ {
		subject = $0; sub(/^Subject: /, "", subject); last = "subject"; next
	}
	state == "hdr" && /^$/ { state = "body"; next }
	state == "hdr" { next }
	state == "body" && /^---$/ { state = "stat"; next }
	state == "body" {
		if ($0 ~ /^Signed-off-by: .+ <.+@.+>$/) signed = 1
		else if ($0 != "") body++
		next
	}
	state == "stat" && /^ [^ ].* \| +([0-9]+|Bin)/ {
		f = $1; stat[f] = 1; nstat++; next
	}
	state == "stat" && /^diff --git / { state = "diff" }
	state == "stat" { next }
	state == "diff" && /^diff --git a\/[^ ]+ b\/[^ ]+$/ {
		if (old > 0 || new > 0) fail("hunk before " $3 " is short")
		a = $3; b = $4; sub(/^a\//, "", a); sub(/^b\//, "", b)
		if (a != b) fail("renames or copies are not expected: " a " -> " b)
		if (b ~ /^\// || b ~ /(^|\/)\.\.(\/|$)/) fail("path outside the tree: " b)
		diff[b] = 1; ndiff++; hunks = 0; next
	}
	state == "diff" && /^GIT binary patch$/ { fail("binary patch"); next }
	state == "diff" && /^@@ -[0-9]+(,[0-9]+)? \+[0-9]+(,[0-9]+)? @@/ {
		if (old > 0 || new > 0) fail("hunk before line " NR " is short")
		# -l[,s] +l[,s]: a missing count means 1
		split(substr($0, 4, index(substr($0, 4), " @@") - 1), r, " ")
		split(r[1], o, ","); split(r[2], w, ",")
		old = (2 in o) ? o[2] + 0 : 1; new = (2 in w) ? w[2] + 0 : 1
		hunks++; nhunks++; next
	}
	state == "diff" && (old > 0 || new > 0) {
		c = substr($0, 1, 1)
		if (c == " ") { old--; new-- }
		else if (c == "-") old--
		else if (c == "+") new--
		else if (c == "\\") { }
		else if ($0 == "") { old--; new-- }
		else fail("line " NR " inside a hunk: " $0)
		if (old < 0 || new < 0) fail("hunk ending at line " NR " is too long")
		next
	}
	state == "diff" && /^-- $/ { sig = 1; next }
	END {
		if (!from) fail("no From: header")
		if (!date) fail("no Date: header")
		if (subject == "") fail("no [PATCH] Subject: header")
		if (!body) fail("no commit message body")
		if (!signed) fail("no Signed-off-by: in the commit message")
		if (!nstat) fail("no diffstat")
		if (!ndiff) fail("no diff")
		if (!nhunks) fail("no hunks")
		if (old > 0 || new > 0) fail("last hunk is short")
		if (!sig) fail("no format-patch signature (-- ) after the diff")
		for (f in stat) if (!(f in diff))
			fail("diffstat names " f " but the diff does not touch it")
		for (f in diff) if (!(f in stat))
			fail("the diff touches " f " but the diffstat does not name it")
		print "subject: " subject
		for (f in diff) print "file: " f
	}' "$1"
}

n=0
for p in "${patches[@]}"; do
	n=$((n + 1))
	name=$(basename "$p")
	out=$(check_mail "$p")
	ok=ok
	while IFS= read -r line; do
		case $line in
		error:*) err "$name: ${line#error: }"; ok="not ok" ;;
		esac
	done <<<"$out"
	subject=$(sed -n 's/^subject: //p' <<<"$out")
	num=${name%%-*}
	if [ "$total" -gt 1 ]; then
		case $subject in
		"[PATCH $n/$total] "*) ;;
		*) err "$name: subject is not numbered $n/$total: $subject" ;;
		esac
	fi
	[ "$((10#$num))" -eq "$n" ] || err "$name: file number $num is not $n"
	files=$(sed -n 's/^file: //p' <<<"$out" | sort | tr '\n' ' ')
	grep -q "$name" "$dir/README.md" 2>/dev/null ||
		err "$name: not named in $dir/README.md"
	subject=${subject#\[PATCH\] }
	echo "$ok $n $name: ${subject#\[PATCH * } [files: $files]"
done

if [ -f "$dir/README.md" ]; then
	grep -qE "$project.*(release|tag).*[0-9]+\\.[0-9]+" "$dir/README.md" ||
		err "README.md does not name the $project release the series applies to"
	grep -q 'git am' "$dir/README.md" || err "README.md does not say how to apply (git am)"
else
	err "no README.md in $dir"
fi

# Nothing but the series and its README lives there: no upstream source,
# no binaries, no scripts that fetch or build the project.
for f in "$dir"/* "$dir"/.[!.]*; do
	[ -e "$f" ] || continue
	case $(basename "$f") in
	README.md | [0-9][0-9][0-9][0-9]-*.patch) ;;
	*) err "unexpected file in $dir: $(basename "$f")" ;;
	esac
done

[ $fail -eq 0 ] || exit 1
echo "$project patches are well-formed: $total patches"

[ -n "$tarball" ] || exit 0
[ -r "$tarball" ] ||
	{ echo "SKIP: $tarball is absent: cannot check that the series applies"; exit 77; }
tree=$(mktemp -d) || exit 1
trap 'rm -rf "$tree"' EXIT
tar -xf "$tarball" -C "$tree" --strip-components=1 ||
	{ echo "FAIL: cannot extract $tarball"; exit 1; }
for p in "${patches[@]}"; do
	if ! out=$(patch -d "$tree" -p1 --fuzz=0 --no-backup-if-mismatch \
			<"$p" 2>&1) || grep -qiE 'offset|fuzz' <<<"$out"; then
		printf '    %s\n' "${out//$'\n'/$'\n'    }"
		err "$(basename "$p") does not apply cleanly to $(basename "$tarball")"
	fi
done
[ $fail -eq 0 ] &&
	echo "$project patches apply to $(basename "$tarball") with no fuzz or offset"
exit $fail
