#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print the version of the kernel the testbed guest boots and modules are
# built against by default: the one Debian's linux-image-amd64 metapackage
# depends on (so a second kernel installed beside it by name, such as a
# backports one, does not change the default), else the newest one
# installed with both an image in /boot and a Kbuild tree in
# /lib/modules/<ver>/build.  P2PMR_KVER overrides.
set -eu

if [ -n "${P2PMR_KVER:-}" ]; then
	ver=$P2PMR_KVER
else
	ver=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null |
	      sed -n 's/^linux-image-\([^ ,]*\).*/\1/p')
	[ -n "$ver" ] ||
	for img in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
		v=${img#/boot/vmlinuz-}
		if [ -e "/lib/modules/$v/build/Makefile" ]; then
			ver=$v
			break
		fi
	done
fi

if [ -z "$ver" ] || [ ! -r "/boot/vmlinuz-$ver" ] ||
   [ ! -e "/lib/modules/$ver/build/Makefile" ]; then
	echo "kernel-version.sh: no kernel with both /boot/vmlinuz-<ver> and" \
	     "/lib/modules/<ver>/build; run scripts/install-deps.sh" >&2
	exit 1
fi
echo "$ver"
