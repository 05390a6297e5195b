#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Kernel coding style: scripts/checkpatch.pl from the guest kernel's own
# source (linux-source-6.1) reports no errors and no warnings on the
# project's kernel code.
#
# usage: checkpatch.sh <work-dir> <file>...
set -uo pipefail

work=$1
shift
tarball=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
[ -n "$tarball" ] || { echo "checkpatch: linux-source-6.1 is not installed" \
	"(scripts/install-deps.sh)" >&2; exit 1; }
cp_dir=$work/linux-source-6.1/scripts
if [ ! -x "$cp_dir/checkpatch.pl" ] || [ "$tarball" -nt "$cp_dir/checkpatch.pl" ]; then
	mkdir -p "$work"
	tar -xf "$tarball" -C "$work" linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch ||
		{ echo "checkpatch: cannot extract it from $tarball" >&2; exit 1; }
	touch "$cp_dir/checkpatch.pl"
fi

[ $# -gt 0 ] || { echo "checkpatch: no files given" >&2; exit 1; }
status=0
for f in "$@"; do
	case "$f" in
	*.patch) args=(--no-tree) ;;
	*) args=(--no-tree -f) ;;
	esac
	out=$("$cp_dir/checkpatch.pl" "${args[@]}" --terse --show-types \
		--ignore FILE_PATH_CHANGES "$f" 2>&1)
	if echo "$out" | grep -qE ': (ERROR|WARNING):'; then
		echo "$out"
		status=1
	else
		echo "ok $f"
	fi
done
exit $status
