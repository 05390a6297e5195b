#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the testbed guest's initramfs: static busybox, the guest kernel's
# modules needed to reach the host's root over virtio-9p, and our init.
#
# usage: mkinitramfs.sh [--moddir ROOT] <kernel-version> <output.cpio.gz>
#   --moddir  the kernel's modules are in ROOT/lib/modules/<version> (a
#             kernel that is not installed: the testbed's debug kernel)
set -euo pipefail

modroot=/
if [ "${1:-}" = --moddir ]; then
	modroot=$2
	shift 2
fi
kver=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
busybox=$(command -v busybox || true)
# Only the static build works in an initramfs with no libc.
for b in /bin/busybox /usr/bin/busybox "$busybox"; do
	if [ -n "$b" ] && [ -x "$b" ] && ! ldd "$b" >/dev/null 2>&1; then
		busybox=$b
		break
	fi
done
if [ -z "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
	echo "mkinitramfs: need a static busybox (apt-get install busybox-static)" >&2
	exit 1
fi

staging=$(mktemp -d "${TMPDIR:-/tmp}/p2pmr-initramfs.XXXXXX")
tmp_out=
trap 'rm -rf "$staging" ${tmp_out:+"$tmp_out"}' EXIT

mkdir -p "$staging"/{bin,dev,proc,sys,lower,upper,newroot,out,lib/modules}
cp "$busybox" "$staging/bin/busybox"
cp "$here/initramfs-init" "$staging/init"
chmod 755 "$staging/init"

# modprobe lists each module's dependencies first; keep the first mention.
# A kernel with them built in (modprobe says "builtin") needs none.
: >"$staging/modules.order"
deps=$staging/deps
for mod in virtio_pci 9pnet_virtio 9p overlay; do
	modprobe -d "$modroot" -S "$kver" --show-depends "$mod" >>"$deps" || {
		echo "mkinitramfs: $kver has no module $mod" >&2
		exit 1
	}
done
awk '$1 == "insmod" && !seen[$2]++ { print $2 }' "$deps" | while read -r ko; do
	name=$(basename "$ko")
	case "$ko" in
	*.ko) cp "$ko" "$staging/lib/modules/$name" ;;
	*.ko.xz) xz -dc "$ko" >"$staging/lib/modules/${name%.xz}"; name=${name%.xz} ;;
	*.ko.zst) zstd -qdc "$ko" >"$staging/lib/modules/${name%.zst}"; name=${name%.zst} ;;
	*) echo "mkinitramfs: unknown module format $ko" >&2; exit 1 ;;
	esac
	echo "$name" >>"$staging/modules.order"
done

rm -f "$deps"

# Parallel callers may race to build the same file: each writes its own
# temporary and renames it into place atomically.
tmp_out=$(mktemp "$out.XXXXXX")
(cd "$staging" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) |
	gzip -1 >"$tmp_out"
chmod 644 "$tmp_out"
mv -f "$tmp_out" "$out"
