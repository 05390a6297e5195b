#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build (and by default install) p2pmr.ko with DKMS, so that it is rebuilt
# for every new kernel, and against OFED's kernel tree on MLNX_OFED /
# DOCA-OFED systems (the peer-memory client; see README.md).
#
# usage: scripts/dkms-install.sh [--kernel VER] [--build-only]
#                                [--tree DIR] [--remove]
#
#   --kernel VER   kernel to build for (default: the running one)
#   --build-only   dkms build, do not install into /lib/modules
#   --tree DIR     use DIR for DKMS's source, build and install trees
#                  instead of /usr/src, /var/lib/dkms and /lib/modules
#                  (tests; DKMS still keeps its module signing key in
#                  /var/lib/dkms)
#   --remove       remove this version of p2pmr from DKMS
#
# P2PMR_PEER_MEM_DIR=<OFED kernel tree> or P2PMR_PEER_MEM=n in the
# environment reach Kbuild through dkms (kernel/p2pmr/peer_mem.mk).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
kver=$(uname -r)
action=install
tree=

usage() {
	sed -n '/^# usage:/,/^$/s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kver=${2:?--kernel needs a kernel version}; shift 2 ;;
	--build-only) action=build; shift ;;
	--remove) action=remove; shift ;;
	--tree) tree=${2:?--tree needs a directory}; shift 2 ;;
	*) echo "dkms-install: unknown option '$1'" >&2; usage ;;
	esac
done

command -v dkms >/dev/null || {
	echo "dkms-install: dkms is not installed (apt-get install dkms)" >&2
	exit 1
}
version=$(sed -n 's/^project(p2pmr VERSION \([0-9.]*\).*/\1/p' \
	"$root/CMakeLists.txt")
[ -n "$version" ] || {
	echo "dkms-install: no project version in $root/CMakeLists.txt" >&2
	exit 1
}

dkms_args=()
src_tree=/usr/src
if [ -n "$tree" ]; then
	mkdir -p "$tree/source" "$tree/dkms" "$tree/modules/$kver"
	tree=$(cd "$tree" && pwd)
	src_tree=$tree/source
	dkms_args=(--sourcetree "$tree/source" --dkmstree "$tree/dkms"
		   --installtree "$tree/modules")
fi

if [ "$action" = remove ]; then
	exec dkms remove "${dkms_args[@]}" -m p2pmr -v "$version" --all
fi

[ -e "/lib/modules/$kver/build/Makefile" ] || {
	echo "dkms-install: no headers for kernel $kver" \
	     "(apt-get install linux-headers-$kver)" >&2
	exit 1
}

dest=$src_tree/p2pmr-$version
"$root/scripts/dkms-source.sh" "$dest"
sed "s/#MODULE_VERSION#/$version/" "$root/kernel/dkms.conf" >"$dest/dkms.conf"
# OFED's own modules are a DKMS package on most OFED systems: build after
# them, so a new kernel gets the peer-memory client too.
if dkms status "${dkms_args[@]}" mlnx-ofed-kernel 2>/dev/null |
		grep -q .; then
	echo 'BUILD_DEPENDS[0]="mlnx-ofed-kernel"' >>"$dest/dkms.conf"
fi

if dkms status "${dkms_args[@]}" -m p2pmr -v "$version" | grep -q .; then
	dkms remove "${dkms_args[@]}" -m p2pmr -v "$version" --all >/dev/null
fi
dkms add "${dkms_args[@]}" -m p2pmr -v "$version"
dkms "$action" "${dkms_args[@]}" -m p2pmr -v "$version" -k "$kver"
