#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The debug-kernel lane's setup (ctest fixture "kdebug"): the testbed's
# debug kernel (scripts/debug-kernel.sh, cached outside the tree) and
# every kernel module of this tree built against it, in a build tree of
# its own (<build>/kdebug, configured for that kernel only, building only
# the target kernel_modules).  Leaves for vm-run --kernel debug:
#
#   <build>/kdebug.env    P2PMR_KDEBUG_DIR (the kernel) and
#                         P2PMR_KDEBUG_KVER (its release)
#   <build>/kmod-<release>, <build>/kmod-debug -> kdebug/kmod-<release>,
#                         its modules
#
# usage: kdebug-build.sh <build dir> [<kernel line>]
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
src_root=$(cd "$here/.." && pwd)
build=${1:?usage: $prog <build dir> [<kernel line>]}
line=${2:-6.12}

start=$SECONDS
kdir=$("$src_root/scripts/debug-kernel.sh" --line "$line")
kver=$(cat "$kdir/release")
echo "$prog: debug kernel $kver in $kdir ($((SECONDS - start)) s)"

werror=OFF
[ -z "${CI:-}" ] || werror=ON
sub=$build/kdebug
cmake -S "$src_root" -B "$sub" -DP2PMR_WERROR="$werror" \
	-DP2PMR_KERNELS="$kver" -DP2PMR_KDIR_"$kver"="$kdir/src" \
	-DP2PMR_KDEBUG=OFF >/dev/null
cmake --build "$sub" --target kernel_modules -j "$(nproc)"
ln -sfn "kdebug/kmod-$kver" "$build/kmod-$kver"
ln -sfn "kdebug/kmod-$kver" "$build/kmod-debug"

printf 'P2PMR_KDEBUG_DIR=%q\nP2PMR_KDEBUG_KVER=%q\n' "$kdir" "$kver" \
	>"$build/kdebug.env.tmp"
mv "$build/kdebug.env.tmp" "$build/kdebug.env"
echo "$prog: modules for $kver in $build/kmod-debug ($((SECONDS - start)) s)"
