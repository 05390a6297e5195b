#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The DKMS recipe builds p2pmr.ko for the guest kernel from the layout
# scripts/dkms-install.sh makes, in a private DKMS tree:
#  - without a peer-memory API, a module that does not need one, whose
#    MODULE_VERSION is the project's (the DKMS tree has no CMakeLists.txt:
#    dkms.conf hands PACKAGE_VERSION to Kbuild);
#  - with an OFED-style kernel tree (the testbed's peer-memory host's
#    <rdma/peer_mem.h> and Module.symvers, laid out as OFED installs them
#    in /usr/src/ofa_kernel/default), a module whose client needs
#    ib_register_peer_memory_client() from that tree's module;
#  - with P2PMR_PEER_MEM_DIR naming a tree that is not one, a build that
#    fails and says why.
#
# usage: dkms_build.sh <build dir> <kernel version>
set -u

build=${1:?usage: dkms_build.sh <build dir> <kernel version>}
kver=${2:?usage: dkms_build.sh <build dir> <kernel version>}
root=$(cd "$(dirname "$0")/.." && pwd)
fail=0
n=0

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; fail=1; }

command -v dkms >/dev/null || {
	echo "SKIP: dkms is not installed (scripts/install-deps.sh installs it)"
	exit 77
}
host_symvers=$build/kmod-$kver/peer_mem_host/Module.symvers
[ -r "$host_symvers" ] || {
	echo "FAIL: no $host_symvers: build the tree first (./run.sh build)"
	exit 1
}

work=$(mktemp -d /dev/shm/p2pmr-dkms.XXXXXX)
trap 'rm -rf "$work"' EXIT

# dkms_build <name> [env...]: builds into $work/<name>, prints the .ko path
dkms_build() {
	local name=$1
	shift
	env "$@" "$root/scripts/dkms-install.sh" --kernel "$kver" \
		--build-only --tree "$work/$name" >"$work/$name.log" 2>&1 ||
		return 1
	find "$work/$name/dkms/p2pmr" -path "*/$kver/*" -name 'p2pmr.ko*' |
		head -n 1
}

ko_needs() {
	modinfo -F depends "$1" | tr ',' '\n' | grep -qx "$2"
}

version=$(sed -n 's/^project(p2pmr VERSION \([0-9.]*\).*/\1/p' \
	"$root/CMakeLists.txt")

echo "1..7"

if ko=$(dkms_build plain P2PMR_PEER_MEM_DIR=) && [ -n "$ko" ]; then
	ok "dkms builds p2pmr.ko without a peer-memory API"
	if [ "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$kver" ] &&
	   ! ko_needs "$ko" peer_mem_host; then
		ok "it is built for $kver and needs no peer-memory host"
	else
		not_ok "vermagic '$(modinfo -F vermagic "$ko")'," \
		       "depends '$(modinfo -F depends "$ko")'"
	fi
	if [ -n "$version" ] &&
	   [ "$(modinfo -F version "$ko")" = "$version" ]; then
		ok "its MODULE_VERSION is the project's, $version"
	else
		not_ok "MODULE_VERSION '$(modinfo -F version "$ko")'," \
		       "project version '$version'"
	fi
else
	not_ok "dkms build without a peer-memory API"
	sed 's/^/# /' "$work/plain.log"
	find "$work/plain" -name make.log -exec sed 's/^/# /' {} +
	not_ok "(no module to check)"
	not_ok "(no module to check)"
fi

ofed=$work/ofa_kernel/default
mkdir -p "$ofed"
cp -r "$root/tests/kmod/peer_mem_host/include" "$ofed/"
cp "$host_symvers" "$ofed/Module.symvers"
if ko=$(dkms_build ofed P2PMR_PEER_MEM_DIR="$ofed") && [ -n "$ko" ]; then
	ok "dkms builds p2pmr.ko against an OFED-style kernel tree"
	if ko_needs "$ko" peer_mem_host &&
	   modprobe --dump-modversions "$ko" 2>/dev/null |
		grep -qw ib_register_peer_memory_client; then
		ok "its peer-memory client links ib_register_peer_memory_client"
	else
		not_ok "no peer-memory client in the OFED build" \
		       "(depends '$(modinfo -F depends "$ko")')"
	fi
else
	not_ok "dkms build against an OFED-style kernel tree"
	find "$work/ofed" -name make.log -exec sed 's/^/# /' {} +
	not_ok "(no module to check)"
fi

if dkms_build bogus P2PMR_PEER_MEM_DIR="$work/not-ofed" >/dev/null; then
	not_ok "a P2PMR_PEER_MEM_DIR without OFED's tree was accepted"
	not_ok "(no message to check)"
else
	ok "a P2PMR_PEER_MEM_DIR without OFED's tree fails the build"
	if find "$work/bogus" -name make.log -exec cat {} + |
			grep -q "no $work/not-ofed/include/rdma/peer_mem.h"; then
		ok "and the build log says which file is missing"
	else
		not_ok "the build log does not name the missing header"
		find "$work/bogus" -name make.log -exec sed 's/^/# /' {} +
	fi
fi
exit $fail
