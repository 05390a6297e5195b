#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# prepare.sh [--source <kernel-tree>] <kernel-version> <output-dir>
#
# Put the soft-RoCE driver (drivers/infiniband/sw/rxe) of the Debian
# kernel source matching <kernel-version>, with the dma-buf MR series of
# its kernel line (patches/<line>/, e.g. patches/6.1/) applied, into
# <output-dir>, ready for
#
#   make -C /lib/modules/<kernel-version>/build M=<output-dir> \
#        CONFIG_RDMA_RXE=m modules
#
# which builds <output-dir>/rdma_rxe.ko.  With --source, the driver comes
# from that kernel tree (a kernel built here from Debian's source, the
# testbed's debug kernel: scripts/debug-kernel.sh) instead of the
# linux-source package of an installed kernel.  <output-dir> is emptied and
# filled afresh on every run; a directory this script did not create is
# refused unless it is empty.
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "$0")" && pwd)
marker=.rxe-dmabuf-prepared

die() {
	echo "$prog: $*" >&2
	exit 1
}

usage="usage: $prog [--source <kernel-tree>] <kernel-version> <output-dir>"
tree=
if [ "${1:-}" = --source ]; then
	tree=${2:-}
	[ -n "$tree" ] || die "$usage"
	shift 2
fi
[ $# -eq 2 ] || die "$usage"
kver=$1
out=$2
if [ -z "$kver" ] || [ -z "$out" ]; then
	die "$usage"
fi

# The series is written against linux-source-X.Y of the same Debian
# package version as the kernel the module will be loaded into.
series=${kver%%-*}			# 6.1.0, 6.12.117+deb12
series=${series%%+*}			# 6.12.117
series=${series%.*}			# 6.1, 6.12
src_pkg=linux-source-$series
tarball=/usr/src/$src_pkg.tar.xz

# pkg_version <package>: its installed version, or nothing.
pkg_version() {
	{ dpkg-query -W -f='${Status} ${Version}\n' "$1" 2>/dev/null || :; } |
		sed -n 's/^install ok installed //p'
}

if [ -z "$tree" ]; then
	image_ver=$(pkg_version "linux-image-$kver")
	[ -n "$image_ver" ] || image_ver=$(pkg_version "linux-image-$kver-unsigned")
	[ -n "$image_ver" ] ||
		die "linux-image-$kver is not installed; install it (or pass the" \
		    "version of an installed kernel, see scripts/kernel-version.sh)"
	source_ver=$(pkg_version "$src_pkg")
	[ -n "$source_ver" ] ||
		die "$src_pkg is not installed; fix: apt-get install $src_pkg=$image_ver"
	if [ "$source_ver" != "$image_ver" ]; then
		die "$src_pkg is $source_ver but linux-image-$kver is $image_ver;" \
		    "the patched driver must be built from the source of the running" \
		    "kernel. Fix: apt-get update && apt-get install" \
		    "$src_pkg=$image_ver (or upgrade linux-image-amd64," \
		    "linux-headers-amd64 and $src_pkg together)"
	fi
	[ -r "$tarball" ] || die "$tarball is missing; reinstall $src_pkg"
	[ -e "/lib/modules/$kver/build/Makefile" ] ||
		die "/lib/modules/$kver/build is missing; fix: apt-get install" \
		    "linux-headers-$kver"
else
	[ -e "$tree/drivers/infiniband/sw/rxe/rxe_mr.c" ] ||
		die "$tree is not a kernel tree with soft-RoCE"
	src_pkg=$tree
	source_ver=$(make -s -C "$tree" kernelversion)
fi

shopt -s nullglob
patches=("$here/patches/$series"/*.patch)
shopt -u nullglob
[ ${#patches[@]} -gt 0 ] ||
	die "no series for the $series kernel line in $here/patches/$series"

# Start from a clean directory, but never empty one we did not make.
if [ -e "$out" ]; then
	[ -d "$out" ] || die "$out exists and is not a directory"
	if [ ! -e "$out/$marker" ] && [ -n "$(ls -A "$out")" ]; then
		die "$out is not empty and was not made by $prog; refusing to" \
		    "delete it"
	fi
	rm -rf "$out"
fi
mkdir -p "$out"
touch "$out/$marker"

rxe=linux-source-$series/drivers/infiniband/sw/rxe
if [ -n "$tree" ]; then
	cp -a "$tree/drivers/infiniband/sw/rxe/." "$out/"
	# Only the sources: objects of the tree's own build stay there.
	find "$out" \( -name '*.o' -o -name '*.ko' -o -name '.*.cmd' \
		-o -name '*.mod*' -o -name modules.order \) -delete
else
	tar -xJf "$tarball" -C "$out" --strip-components=5 "$rxe" ||
		die "cannot extract $rxe from $tarball"
fi
[ -e "$out/rxe_mr.c" ] || die "$src_pkg has no $rxe"

# The patches name files a/drivers/infiniband/sw/rxe/<file>.
for p in "${patches[@]}"; do
	echo "$prog: applying ${p##*/}"
	patch -d "$out" -p5 --batch --forward --fuzz=0 \
		--no-backup-if-mismatch --quiet <"$p" ||
		die "${p##*/} does not apply to $src_pkg $source_ver"
done

cat >"$out/Kbuild" <<'KBUILD'
# SPDX-License-Identifier: GPL-2.0
# Written by kernel/rxe-dmabuf/prepare.sh: build the patched soft-RoCE
# driver as rdma_rxe.ko; the driver's own Makefile lists its objects.
CONFIG_RDMA_RXE := m
include $(src)/Makefile
KBUILD

echo "$prog: $src_pkg $source_ver rxe with ${#patches[@]} patch(es) in $out"
