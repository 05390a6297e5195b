#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The Debian packages (tests/deb_build.sh) installed, used and purged in
# the guest (tests/vm/cases/deb_packages.sh boots it and checks the host
# file behind the BAR afterwards).  Everything p2pmr comes from the
# installed files: p2pmr.ko as DKMS built it from p2pmr-dkms for this
# kernel, the shim, library, headers and tool from their packages.  The
# testbed's NIC is soft-RoCE with the dma-buf series (kernel/rxe-dmabuf),
# which stands in for an HCA and is not a p2pmr package.
#
# Lines starting with "DEMO " are facts for the host side.
#
# usage: deb_packages.sh <directory of .deb files>
. "$(dirname "$0")/lib.sh"

debs=${1:?usage: $0 <deb dir>}
kver=$(uname -r)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
shim=/usr/lib/$multiarch/p2pmr/libp2pmr-shim.so
size=65536
iters=200
work=$(mktemp -d)

# --- install ---------------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
# man-db's trigger reindexes every manual page after each install (204 s
# under TCG, measured): off on this throwaway root, as the file says.
rm -f /var/lib/man-db/auto-update
# p2pmr-dkms's postinst builds p2pmr.ko here for this and the newest
# kernel; under TCG that takes about 4 minutes a kernel (221 s measured
# for 6.12, with another guest beside it).  Unless P2PMR_DEB_GUEST_BUILD=1
# asks for it, DKMS built the module on the host instead, from this same
# package's sources for this kernel (tests/vm/cases/deb_packages.sh), into
# a binaries-only DKMS archive: with autoinstall off the postinst leaves
# the build alone, and DKMS here loads the archive and installs the
# module as the postinst would have.
guest_build=${P2PMR_DEB_GUEST_BUILD:-0}
if [ "$guest_build" != 1 ]; then
	mkdir -p /etc/dkms
	touch /etc/dkms/no-autoinstall
fi
dpkg -i "$debs"/*.deb >"$work/install.log" 2>&1 || {
	cat "$work/install.log"
	p2pmr_fail "dpkg -i of the packages failed"
}
rm -f /etc/dkms/no-autoinstall
grep -E "^(Setting up|autoinstall)" "$work/install.log" | sed 's/^/  | /'
version=$(dpkg-query -W -f='${Version}' p2pmr-dkms)
version=${version%-*}
[ -r "/usr/src/p2pmr-$version/dkms.conf" ] ||
	p2pmr_fail "p2pmr-dkms installed no /usr/src/p2pmr-$version/dkms.conf"
if [ "$guest_build" != 1 ]; then
	{ dkms ldtarball --archive "$debs/p2pmr-$kver.dkms.tar.gz" &&
	  dkms install -m p2pmr -v "$version" -k "$kver"; } \
		>"$work/dkms.log" 2>&1 || {
		cat "$work/dkms.log"
		p2pmr_fail "DKMS did not install the module built for $kver"
	}
fi
dkms status -m p2pmr -k "$kver" | grep -q ": installed" ||
	p2pmr_fail "DKMS does not show p2pmr installed for $kver: $(dkms status)"
ko=$(modinfo -k "$kver" -n p2pmr) || p2pmr_fail "no p2pmr module for $kver"
# DKMS compresses the module as the kernel's own are (p2pmr.ko.xz on 6.12).
[[ "$ko" == "/lib/modules/$kver/updates/dkms/p2pmr.ko"* ]] ||
	p2pmr_fail "modprobe would load $ko, not DKMS's module"
echo "ok - packages installed; DKMS installed $ko"

# --- use ---------------------------------------------------------------------
modprobe p2pmr || p2pmr_fail "modprobe p2pmr failed"
[ "$(cat /sys/module/p2pmr/version)" = "$(dpkg-query -W -f='${Version}' \
	p2pmr-dkms | sed 's/-[^-]*$//')" ] ||
	p2pmr_fail "the loaded p2pmr is $(cat /sys/module/p2pmr/version)"
rxe_load_module "$P2PMR_KMOD_DIR/rdma_rxe/rdma_rxe.ko"
dev=$(rxe_up rxe0) || exit 1
near=$(pci_near_ivshmem)
res=/sys/bus/pci/devices/$near/resource2

/usr/bin/p2pmr list | grep -q "$near" ||
	p2pmr_fail "the installed p2pmr list does not show $near"
echo "ok - /usr/bin/p2pmr lists $near"

cat >"$work/consumer.c" <<'C'
#include <stdio.h>
#include <p2pmr/p2pmr.h>

int main(void)
{
	printf("%s\n", p2pmr_version());
	return 0;
}
C
read -ra flags <<<"$(pkg-config --cflags --libs libp2pmr)"
gcc -o "$work/consumer" "$work/consumer.c" "${flags[@]}" ||
	p2pmr_fail "building against the installed libp2pmr-dev failed"
[ "$("$work/consumer")" = "$(pkg-config --modversion libp2pmr)" ] ||
	p2pmr_fail "the consumer's libp2pmr is $("$work/consumer")"
ldd "$work/consumer" |
	grep -Eq "libp2pmr.so.1 => (/usr)?/lib/$multiarch/libp2pmr.so.1 " ||
	p2pmr_fail "the consumer does not use the packaged libp2pmr.so.1"
echo "ok - a program built with pkg-config libp2pmr runs on libp2pmr1"

echo "DEMO bar_server_time $(date +%s)" >>"$work/facts"
WRITE_BW_SERVER_ENV="LD_PRELOAD=$shim P2PMR_DEBUG=2" \
	write_bw_pair "$dev" $size $iters "$work" bar --mmap="$res" \
	>/dev/null || p2pmr_fail "ib_write_bw into the BAR with $shim failed"
grep -q "shim: .* is device memory: dma-buf MR" "$work/bar.server" ||
	p2pmr_fail "the server's buffer was not registered as device memory"
echo "ok - ib_write_bw into $near BAR2 with LD_PRELOAD=$shim"
cat "$work/facts"
echo "DEMO size $size"
p2pmr_expect_idle
rmmod p2pmr || p2pmr_fail "rmmod p2pmr failed"

# --- purge -------------------------------------------------------------------
mapfile -t pkgs < <(for d in "$debs"/*.deb; do dpkg-deb -f "$d" Package; done)
files=$(dpkg -L "${pkgs[@]}" | sort -u)
dpkg --purge "${pkgs[@]}" >"$work/purge.log" 2>&1 || {
	cat "$work/purge.log"
	p2pmr_fail "dpkg --purge failed"
}
left=$(dpkg -l "${pkgs[@]}" 2>/dev/null | awk '/^[a-z][a-z]/ && $1 != "un"')
[ -z "$left" ] || p2pmr_fail "still known to dpkg after purge: $left"
while IFS= read -r f; do
	[ -n "$f" ] && [ ! -d "$f" ] && [ -e "$f" ] &&
		p2pmr_fail "$f is left after purge"
done <<<"$files"
for f in /usr/src/p2pmr-* /var/lib/dkms/p2pmr \
	 "/lib/modules/$kver/updates/dkms/p2pmr.ko"*; do
	[ -e "$f" ] && p2pmr_fail "$f is left after purge"
done
modinfo -k "$kver" -n p2pmr >/dev/null 2>&1 &&
	p2pmr_fail "a p2pmr module is still found for $kver"
echo "ok - purged: no file of the packages, no DKMS tree, no module left"
rm -rf "$work"
echo "deb_packages guest side ok"
