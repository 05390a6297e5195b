#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RDMA through the dma-buf soft-RoCE driver into and out of a device BAR
# that p2pmr.ko exports: sizes from 1 byte to the whole BAR, offsets inside
# the MR that are not page aligned, MRs over sub-ranges of the BAR (one at
# a dma-buf offset that is not page aligned), SEND/RECV with the receive
# buffer in the BAR, and the remote access flags of BAR MRs.
#
# usage: rxe_dmabuf_xfer.sh <rdma_rxe.ko> <p2pmr.ko> <near|cmb>
#
#   near  the near ivshmem BAR2; tests/vm/cases/rxe_dmabuf_xfer.sh checks
#         the host file behind it against rxe_dmabuf_xfer.layout
#   cmb   the NVMe controller's CMB (BAR2), with the nvme driver unbound
#         first (p2pmr refuses a driver-claimed BAR with EBUSY)
#
# Every transfer is checked by an RDMA READ back (tests/guest/
# rxe_dmabuf_xfer.c), and the final content of the BAR by the guest's
# mmap of its sysfs resource file (tools/p2pmr-pattern), a path that does
# not go through rxe.
#
# Layout of the BAR at the end (BAR offsets, S the BAR size; seed N means
# byte o holds p2pmr_pattern_byte(N, o)); host and guest check exactly it:
#
#   [0, 0x100000), [0x900000, S)  seed 40: the whole BAR, one 64 MiB (CMB:
#                                 16 MiB) RDMA WRITE and READ of MR A
#   [0x100000, 0x900000)          zeroed by RDMA WRITE through MR A, then
#                                 zero except:
#     offset    length    seed  how
#     0x100000  0x1       41    WRITE through MR B (first byte of MR B)
#     0x101003  0x7       42    WRITE through MR B
#     0x103011  0x1000    43    WRITE through MR B, crossing a page
#     0x110005  0x10001   44    WRITE through MR B
#     0x14000d  0x100000  45    WRITE through MR B
#     0x300007  0x10001   46    SEND, received into MR B
#     0x320000  0x1       47    SEND, received into MR B
#     0x400003  0x100000  48    SEND, received into MR B
#     0x600013  0x10000   50    WRITE of all of MR C; WRITEs past either
#                               end of MR C and a READ past its end fail
#     0x700000  0x1000    51    WRITE through MR B; READ through MR D
#                               (no remote write), whose WRITE fails
#     0x800000  0x1000    52    WRITE through MR E (no remote read),
#                               whose READ fails
#     0x8fffff  0x1       49    WRITE through MR B (last byte of MR B)
#
# MRs (dma-buf offset, length, iova, remote access):
#   A  0         S         0x7f5500000000  read, write
#   B  0x100000  0x800000  0x7f5510100000  read, write
#   C  0x600013  0x10000   0x7f5520000013  read, write
#   D  0x700000  0x1000    0x7f5530000000  read
#   E  0x800000  0x1000    0x7f5540000000  write
. "$(dirname "$0")/lib.sh"

rxe_ko=${1:-}
p2pmr_ko=${2:-}
which=${3:-}
if [ -z "$rxe_ko" ] || [ -z "$p2pmr_ko" ] ||
   { [ "$which" != near ] && [ "$which" != cmb ]; }; then
	p2pmr_fail "usage: $0 <rdma_rxe.ko> <p2pmr.ko> <near|cmb>"
fi
xfer=$(guest_test_tool rxe_dmabuf_xfer) || exit 1
pattern=$(p2pmr_tool p2pmr-pattern) || exit 1

rxe_load_module "$rxe_ko"
dev=$(rxe_up rxe0) || exit 1
insmod "$p2pmr_ko" || p2pmr_fail "insmod $p2pmr_ko failed"

if [ "$which" = near ]; then
	bdf=$(pci_near_ivshmem)
	[ -n "$bdf" ] || p2pmr_fail "no near ivshmem device"
else
	bdf=$(pci_nvme)
	[ -n "$bdf" ] || p2pmr_fail "no NVMe controller"
	if [ -e "/sys/bus/pci/devices/$bdf/driver" ]; then
		echo "$bdf" >"/sys/bus/pci/devices/$bdf/driver/unbind" ||
			p2pmr_fail "cannot unbind the nvme driver from $bdf"
	fi
fi
res=/sys/bus/pci/devices/$bdf/resource2
size=$(pci_bar_size "$bdf" 2)
[ "$size" -ge $((0x1000000)) ] ||
	p2pmr_fail "BAR2 of $bdf is $size bytes, the layout needs 16 MiB"
p2pmr_log "$dev on $(nic_netdev); $which BAR2 of $bdf, $size bytes"

# xfer <what> <rxe_dmabuf_xfer arguments...>
xfer() {
	local what=$1 t0=$SECONDS

	shift
	"$xfer" -d "$dev" -P "$res" "$@" | sed 's/^/    /'
	[ "${PIPESTATUS[0]}" -eq 0 ] || p2pmr_fail "$what"
	echo "ok $what ($((SECONDS - t0)) s)"
}

xfer "MR A: whole BAR WRITE and READ, then zero the window" \
	-i 0x7f5500000000 \
	write,0,$size,40 read,0,$size,40 zero,0x100000,0x800000

xfer "MR B: sizes 1 B to 1 MiB at unaligned offsets; SEND/RECV into it" \
	-o 0x100000 -l 0x800000 -i 0x7f5510100000 \
	write,0,1,41 read,0,1,41 \
	write,0x1003,7,42 read,0x1003,7,42 \
	write,0x3011,0x1000,43 read,0x3011,0x1000,43 \
	write,0x10005,0x10001,44 read,0x10005,0x10001,44 \
	write,0x4000d,0x100000,45 read,0x4000d,0x100000,45 \
	send,0x200007,0x10001,46 read,0x200007,0x10001,46 \
	send,0x220000,1,47 read,0x220000,1,47 \
	send,0x300003,0x100000,48 read,0x300003,0x100000,48 \
	write,0x600000,0x1000,51 read,0x600000,0x1000,51 \
	write,0x7fffff,1,49 read,0x7fffff,1,49

xfer "MR C: sub-range at an unaligned dma-buf offset, bounds enforced" \
	-o 0x600013 -l 0x10000 -i 0x7f5520000013 \
	write,0,0x10000,50 read,0,0x10000,50 \
	deny-write,0xfff0,0x20 deny-write,-1,2 deny-read,0xffff,2 \
	read,0,0x10000,50

xfer "MR D: no remote write: READ works, WRITE is refused" \
	-o 0x700000 -l 0x1000 -i 0x7f5530000000 -a local_write,remote_read \
	read,0,0x1000,51 deny-write,0,0x1000 deny-write,0x800,1 \
	read,0,0x1000,51

xfer "MR E: no remote read: WRITE works, READ is refused" \
	-o 0x800000 -l 0x1000 -i 0x7f5540000000 -a local_write,remote_write \
	write,0,0x1000,52 deny-read,0,0x1000 deny-read,0xfff,1

# The final content, through the BAR's own sysfs mapping.
t0=$SECONDS
pos=$((0x100000))
"$pattern" check "$res" 0 $pos 40 || p2pmr_fail "[0, $pos) lacks seed 40"
while read -r off len seed; do
	case $off in '' | '#'*) continue ;; esac
	if [ $((off)) -gt $pos ]; then
		"$pattern" check-zero "$res" $pos $((off - pos)) ||
			p2pmr_fail "RDMA wrote outside its ranges near $off"
	fi
	"$pattern" check "$res" "$off" "$len" "$seed" ||
		p2pmr_fail "the BAR lacks seed $seed at $off"
	pos=$((off + len))
done <"$(dirname "$0")/rxe_dmabuf_xfer.layout"
[ $pos -eq $((0x900000)) ] || p2pmr_fail "layout ends at $pos, not 0x900000"
"$pattern" check "$res" $pos $((size - pos)) 40 ||
	p2pmr_fail "[$pos, $size) lacks seed 40"
echo "ok the $which BAR holds the expected layout, read through its" \
	"sysfs mapping ($((SECONDS - t0)) s)"

p2pmr_expect_idle
rdma link del "$dev" || p2pmr_fail "rdma link del $dev failed"
rmmod rdma_rxe || p2pmr_fail "rmmod rdma_rxe failed"
rmmod p2pmr || p2pmr_fail "rmmod p2pmr failed"
echo "rxe dma-buf transfers over the $which BAR ok"
