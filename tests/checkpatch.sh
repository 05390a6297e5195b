#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Kernel coding style: scripts/checkpatch.pl from the guest kernel's own
# source reports no errors and no warnings on the project's kernel code:
# linux-source-6.1's for everything but a kernel patch series of another
# line (kernel/rxe-dmabuf/patches/<line>/), checked with that line's
# linux-source-<line>, the base it is posted against.
#
# usage: checkpatch.sh <work-dir> <file>...
set -uo pipefail

work=$1
shift

# checkpatch_of <line>: path of that line's checkpatch.pl, extracted once.
checkpatch_of() {
	local line=$1 tarball cp_dir

	tarball=$(ls /usr/src/linux-source-"$line".tar.* 2>/dev/null | head -n 1)
	[ -n "$tarball" ] || { echo "checkpatch: linux-source-$line is not" \
		"installed (scripts/install-deps.sh)" >&2; return 1; }
	cp_dir=$work/linux-source-$line/scripts
	if [ ! -x "$cp_dir/checkpatch.pl" ] ||
	   [ "$tarball" -nt "$cp_dir/checkpatch.pl" ]; then
		mkdir -p "$work"
		tar -xf "$tarball" -C "$work" \
			"linux-source-$line/scripts/checkpatch.pl" \
			"linux-source-$line/scripts/spelling.txt" \
			"linux-source-$line/scripts/const_structs.checkpatch" ||
			{ echo "checkpatch: cannot extract it from $tarball" >&2
			  return 1; }
		touch "$cp_dir/checkpatch.pl"
	fi
	echo "$cp_dir/checkpatch.pl"
}

[ $# -gt 0 ] || { echo "checkpatch: no files given" >&2; exit 1; }
status=0
for f in "$@"; do
	line=6.1
	if [[ "$f" =~ /patches/([0-9]+\.[0-9]+)/[^/]+\.patch$ ]]; then
		line=${BASH_REMATCH[1]}
	fi
	checkpatch=$(checkpatch_of "$line") || exit 1
	case "$f" in
	*.patch) args=(--no-tree) ;;
	*) args=(--no-tree -f) ;;
	esac
	out=$("$checkpatch" "${args[@]}" --terse --show-types \
		--ignore FILE_PATH_CHANGES "$f" 2>&1)
	if echo "$out" | grep -qE ': (ERROR|WARNING):'; then
		echo "$out"
		status=1
	else
		echo "ok $f"
	fi
done
exit $status
