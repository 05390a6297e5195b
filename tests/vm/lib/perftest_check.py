#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Prove, from the host, that ib_write_bw's client wrote into the BAR.

perftest fills every buffer with (char)rand() after srand(time(NULL)): the
server fills its --mmap buffer (the BAR) through the CPU, the client its
host buffer, and the client RDMA-WRITEs size bytes from its buffer start
into one half of the server's 2 * size buffer.  So in the file behind the
BAR, one half must hold the start of the client's sequence, which the
server's CPU never wrote there, and the other still the server's own
fill, for seeds from the times the guest logged.

usage: perftest_check.py FILE SIZE SERVER_TIME CLIENT_TIME_BEFORE
                         CLIENT_TIME_AFTER
       perftest_check.py --client-buffer FILE SIZE CLIENT_BUFFER [OFFSET]
                         [--server-unfilled]

perftest 26.04 and later fill buffers from a generator seeded from
/dev/urandom: there the client's buffer is a file it mapped with --mmap,
which the guest hands back (CLIENT_BUFFER); one half of the server's
buffer in the BAR must hold its first SIZE bytes, and the other half,
the server's own fill, must not.  OFFSET: where the server's buffer
starts in FILE (default 0).  --server-unfilled: the server's buffer is
device memory its CPU cannot fill (perftest's --use_cuda): the other
half must still be zeros.
"""
import ctypes
import sys

libc = ctypes.CDLL("libc.so.6")


def sequence(seed, n):
    libc.srand(ctypes.c_uint(seed))
    return bytes(libc.rand() & 0xff for _ in range(n))


def check_client_buffer(path, size, client_path, offset=0,
                        server_fills=True):
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(2 * size)
    with open(client_path, "rb") as f:
        cli = f.read(size)
    if len(cli) != size or len(set(cli)) < 16:
        print(f"FAIL: {client_path} does not hold {size} bytes of a "
              "random fill", file=sys.stderr)
        return 1
    halves = [data[h * size:(h + 1) * size] for h in (0, 1)]
    written = [h for h in (0, 1) if halves[h] == cli]
    rest = halves[1 - written[0]] if len(written) == 1 else b""
    if server_fills:
        rest_ok, rest_is = len(set(rest)) >= 16, "the server's own fill"
    else:
        rest_ok, rest_is = rest == bytes(size), "zeros"
    if len(written) != 1 or not rest_ok:
        print(f"FAIL: the first {2 * size} bytes of {path} are not one "
              f"half the client's bytes and one half {rest_is}; "
              f"first 16: {data[:16].hex()}, client's: {cli[:16].hex()}",
              file=sys.stderr)
        return 1
    start = offset + written[0] * size
    other = offset + (1 - written[0]) * size
    print(f"BAR bytes [{start:#x}, {start + size:#x}) = bytes "
          f"[0, {size:#x}) of the client's buffer: written by RDMA")
    print(f"BAR bytes [{other:#x}, {other + size:#x}) = {rest_is}, untouched")
    return 0


def main():
    if sys.argv[1] == "--client-buffer":
        args = [a for a in sys.argv[2:] if a != "--server-unfilled"]
        return check_client_buffer(args[0], int(args[1]), args[2],
                                   int(args[3], 0) if len(args) > 3 else 0,
                                   "--server-unfilled" not in sys.argv)
    path, size, t_srv, t_c0, t_c1 = sys.argv[1], *map(int, sys.argv[2:])
    with open(path, "rb") as f:
        data = f.read(2 * size)
    seqs = {}

    def seq(seed):
        if seed not in seqs:
            seqs[seed] = sequence(seed, 2 * size)
        return seqs[seed]

    seeds = range(t_srv - 1, t_c1 + 2)
    for half in (0, 1):
        mine = data[half * size:(half + 1) * size]
        other = 1 - half
        rest = data[other * size:(other + 1) * size]
        # the server's own fill of the half RDMA did not write
        srv = [s for s in seeds
               if seq(s)[other * size:(other + 1) * size] == rest]
        # the client's first size bytes, which the server's CPU did
        # not put in this half (the seeds may be equal: the two fill
        # their buffers in the same second after connecting)
        cli = [s for s in seeds if seq(s)[:size] == mine and
               all(seq(v)[half * size:(half + 1) * size] != mine
                   for v in srv)]
        if srv and cli:
            print(f"BAR bytes [{half * size:#x}, {(half + 1) * size:#x}) = "
                  f"bytes [0, {size:#x}) of the client's buffer "
                  f"(srand({cli[0]})): written by RDMA")
            print(f"BAR bytes [{other * size:#x}, {(other + 1) * size:#x}) = "
                  f"the server's own fill (srand({srv[0]})), untouched")
            return 0
    for s in seeds:
        where = [o for o in range(0, 2 * size - 64, 64)
                 if data[o:o + 64] in (seq(s)[:64], seq(s)[size:size + 64])]
        if where:
            print(f"srand({s}) sequence found at offsets {where[:8]}",
                  file=sys.stderr)
    print(f"FAIL: the first {2 * size} bytes of {path} hold neither "
          "layout; first 16: " + data[:16].hex(), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
