#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The Debian packages end to end: built from this tree and checked with
# lintian (tests/deb_build.sh); p2pmr.ko built by DKMS from p2pmr-dkms's
# own files for the guest's kernel, here on the host (the postinst's build
# takes ten minutes under TCG), into a binaries-only DKMS archive; then
# all of it installed, used and purged in a guest
# (tests/vm/guest/deb_packages.sh): an unmodified ib_write_bw with the
# installed shim writes into a BAR, and nothing is left after the purge.
# The host file behind the BAR must hold what the client wrote.
#
# P2PMR_DEB_GUEST_BUILD=1: the postinst builds the module in the guest,
# for the running and the newest kernel (about 4 minutes each under TCG;
# P2PMR_KERNEL=6.12 boots the newest, so it builds once).
. "$(dirname "$0")/../lib/host.sh"

debs=$P2PMR_BUILD_DIR/deb
"$P2PMR_SRC_DIR/tests/deb_build.sh" "$debs" ||
	fail "the packages did not build cleanly"

guest_build=${P2PMR_DEB_GUEST_BUILD:-0}
timeout=600
if [ "$guest_build" = 1 ]; then
	timeout=1500
else
	# DKMS in trees of its own (it still keeps its signing key in
	# /var/lib/dkms), as scripts/dkms-install.sh --tree does.
	dk=$(mktemp -d)
	trap 'rm -rf "$dk"' EXIT
	dkms_deb=$(echo "$debs"/p2pmr-dkms_*.deb)
	dpkg-deb -x "$dkms_deb" "$dk/root"
	version=$(dpkg-deb -f "$dkms_deb" Version)
	version=${version%-*}
	mkdir -p "$dk/dkms" "$dk/modules"
	tree=(--sourcetree "$dk/root/usr/src" --dkmstree "$dk/dkms"
	      --installtree "$dk/modules")
	{ dkms add "${tree[@]}" -m p2pmr -v "$version" &&
	  dkms build "${tree[@]}" -m p2pmr -v "$version" -k "$P2PMR_KVER" &&
	  dkms mktarball "${tree[@]}" -m p2pmr -v "$version" \
		-k "$P2PMR_KVER" --binaries-only \
		--archive "$debs/p2pmr-$P2PMR_KVER.dkms.tar.gz"; } \
		>"$dk/dkms.log" 2>&1 || {
		cat "$dk/dkms.log"
		fail "DKMS could not build p2pmr-dkms's module for $P2PMR_KVER"
	}
	echo "DKMS built p2pmr $version from $(basename "$dkms_deb")" \
	     "for $P2PMR_KVER"
fi

new_run_dir
vm_boot --timeout $timeout --env P2PMR_DEB_GUEST_BUILD="$guest_build" \
	-- "$GUEST_DIR/deb_packages.sh" "$debs"
[ "$VM_RC" -eq 0 ] || fail "guest side failed (status $VM_RC)"
size=$(guest_fact size)
[ -n "$size" ] || fail "the guest reported no facts"
host_check_write_bw bar "$size" "$(guest_fact bar_server_time)"
echo "deb_packages ok: built, lintian-clean, installed, used, purged"
