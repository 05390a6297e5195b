#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernels the testbed guest boots and modules are built against:
# installed ones only, each with both an image in /boot and a Kbuild tree
# in /lib/modules/<ver>/build.
#
#   kernel-version.sh            the default kernel: the one Debian's
#                                linux-image-amd64 depends on, else the
#                                newest; P2PMR_KVER overrides
#   kernel-version.sh <kernel>   <kernel> is a version (6.12.95+deb12-amd64)
#                                or a line (6.12): the newest of that line
#   kernel-version.sh --lines    the default kernel, then the newest of each
#                                other line, oldest line first
#   kernel-version.sh --line <ver>  the line (X.Y) of a kernel version
set -eu

usable() {
	[ -r "/boot/vmlinuz-$1" ] && [ -e "/lib/modules/$1/build/Makefile" ]
}

# all: every usable kernel, newest first.
all() {
	for img in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
		v=${img#/boot/vmlinuz-}
		if usable "$v"; then
			echo "$v"
		fi
	done
}

line_of() {
	l=${1%%-*}
	l=${l%%+*}
	echo "${l%.*}"
}

default() {
	if [ -n "${P2PMR_KVER:-}" ]; then
		echo "$P2PMR_KVER"
		return
	fi
	v=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null |
		sed -n 's/^linux-image-\([^ ,]*\).*/\1/p')
	v=${v%-unsigned}
	if [ -n "$v" ] && usable "$v"; then
		echo "$v"
		return
	fi
	all | head -n 1
}

fail() {
	echo "kernel-version.sh: no kernel $1with both /boot/vmlinuz-<ver> and" \
	     "/lib/modules/<ver>/build; run scripts/install-deps.sh" >&2
	exit 1
}

case "${1:-}" in
--line)
	line_of "$2"
	exit 0
	;;
--lines)
	d=$(default)
	if [ -z "$d" ] || ! usable "$d"; then
		fail ""
	fi
	echo "$d"
	dl=$(line_of "$d")
	seen=" $dl "
	for v in $(all | sort -V); do
		l=$(line_of "$v")
		case "$seen" in *" $l "*) continue ;; esac
		seen="$seen$l "
		all | while read -r w; do
			[ "$(line_of "$w")" = "$l" ] && { echo "$w"; break; }
		done
	done
	exit 0
	;;
"")
	ver=$(default)
	;;
*)
	ver=
	if usable "$1"; then
		ver=$1
	else
		for v in $(all); do
			if [ "$(line_of "$v")" = "$1" ]; then
				ver=$v
				break
			fi
		done
	fi
	[ -n "$ver" ] || fail "'$1' "
	;;
esac

if [ -z "$ver" ] || ! usable "$ver"; then
	fail ""
fi
echo "$ver"
