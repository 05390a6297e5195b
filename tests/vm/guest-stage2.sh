#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Second stage of the testbed guest, running from the host's own tree: set
# up the system, run the command the host left in /p2pmr-out/cmd, and leave
# its exit status, output and kernel log in /p2pmr-out for the host.
out=/p2pmr-out
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# /tmp stays the host's, seen through the overlay: a source or build tree
# may live there (CI clones into one), and writes land in the tmpfs upper.
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /dev/pts /dev/shm
# What udev would have made: bash's process substitution needs /dev/fd.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug
ip link set lo up
# shellcheck disable=SC1091
[ -r $out/env ] && . $out/env
# A kernel that is not installed (the debug kernel) brings its modules.
if [ -n "${P2PMR_GUEST_MODULES:-}" ]; then
	rm -rf "/lib/modules/$(uname -r)"
	ln -s "$P2PMR_GUEST_MODULES" "/lib/modules/$(uname -r)"
fi
# There is no udev: bind the testbed devices' drivers as coldplug would,
# and wait for nvme's asynchronous probe so tests see a settled system.
modprobe virtio_net
modprobe nvme
for _ in $(seq 1 50); do
	for nvme in /sys/bus/pci/drivers/nvme/0000:*; do
		[ -e "$nvme" ] && break 2
	done
	sleep 0.1
done

export HOME=/root TERM=${TERM:-linux}
hostname "${P2PMR_GUEST_NAME:-p2pmr-guest}"

# leak_scan: on a kernel with kmemleak, what it finds unreferenced now, in
# $out/kmemleak for vm-run.  An object is reported only after a scan
# that found it unreferenced and older than the minimum age (5 s): scan,
# wait that long, scan again.
leak_scan() {
	local kmemleak=/sys/kernel/debug/kmemleak

	[ -w $kmemleak ] || return 0
	echo scan >$kmemleak
	sleep 6
	echo scan >$kmemleak
	cat $kmemleak >$out/kmemleak
}

finish() {
	leak_scan
	dmesg >$out/dmesg 2>&1
	sync
	# Power-off tears the devices down under us: wait in a shell builtin,
	# on a FIFO opened read-write so it never sees end of file.
	mkfifo /run/p2pmr-halt
	echo o >/proc/sysrq-trigger
	while :; do
		read -r _ <>/run/p2pmr-halt
	done
}

if [ -n "${P2PMR_VM_SHELL:-}" ]; then
	echo "p2pmr guest shell: the host tree is at /, results at $out;" \
	     "exit to power off." >/dev/console
	setsid -c bash -l <>/dev/ttyS0 >&0 2>&1
	echo $? >$out/rc
	finish
fi

cd "${P2PMR_VM_CWD:-/}" || true
bash $out/cmd </dev/null >$out/output 2>&1
echo $? >$out/rc.tmp
mv $out/rc.tmp $out/rc
finish
