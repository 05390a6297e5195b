#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install every Debian package p2pmr needs to build, test and demo, and
# check that the guest kernel's image, headers and source agree.
# Idempotent: installs nothing when everything is present.  Run as root.
set -euo pipefail

packages=(
	# build
	build-essential cmake pkg-config git bc flex bison libelf-dev patch
	libcmocka-dev
	# the testbed guest
	qemu-system-x86 linux-image-amd64 linux-headers-amd64 linux-source-6.1
	busybox-static cpio kmod iproute2 pciutils xz-utils
	# RDMA userspace
	rdma-core libibverbs-dev librdmacm-dev ibverbs-utils ibverbs-providers
	perftest rdmacm-utils python3-pyverbs
	# MPI: Open MPI with UCX (tests/mpi, the vm.mpi_* tests, bench's
	# mpi_bw), across two guests its daemons launched over ssh
	# (dropbear-bin: the server binary only, no system service)
	openmpi-bin libopenmpi-dev libucx0 ucx-utils openssh-client dropbear-bin
	# man pages from markdown, and their test; the demo's host-side check
	go-md2man man-db python3
	# the DKMS recipe and its test (scripts/dkms-install.sh)
	dkms
	# upstream rdma-core, perftest and libfabric built for the tests
	# (scripts/upstream-build.sh)
	libnl-3-dev libnl-route-3-dev libudev-dev ninja-build libtool autoconf
	automake libibumad-dev libpci-dev util-linux
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: missing packages: ${missing[*]}" >&2
		echo "install-deps: run this script as root to install them" >&2
		exit 1
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine has no package lists; refresh them once per run
	# where they are missing or older than a day.
	if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' \
			-mtime -1 2>/dev/null | head -n 1)" ]; then
		apt-get update -qq
	fi
	apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
		{ apt-get update -qq &&
		  apt-get install -y -qq --no-install-recommends "${missing[@]}"; }
fi

# The guest boots the kernel that linux-image-amd64 pulled in; modules are
# built against its headers and the soft-RoCE patch applies to its source.
here=$(cd "$(dirname "$0")" && pwd)
kver=$("$here/kernel-version.sh")
image_ver=$(dpkg-query -W -f='${Version}' "linux-image-$kver" 2>/dev/null ||
	dpkg-query -W -f='${Version}' "linux-image-$kver-unsigned")
headers_ver=$(dpkg-query -W -f='${Version}' "linux-headers-$kver")
source_ver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
if [ "$image_ver" != "$headers_ver" ] || [ "$image_ver" != "$source_ver" ]; then
	echo "install-deps: kernel versions disagree: linux-image-$kver" \
	     "$image_ver, linux-headers-$kver $headers_ver," \
	     "linux-source-6.1 $source_ver" >&2
	echo "install-deps: run 'apt-get update && apt-get install" \
	     "linux-image-amd64 linux-headers-amd64 linux-source-6.1'" >&2
	exit 1
fi
echo "install-deps: ok (guest kernel $kver, package $image_ver)"
