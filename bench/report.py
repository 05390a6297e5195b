#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Merge p2pmr_bench's JSON lines into one results.json, check it is
complete, and print the ratios against the issue's targets.

usage: report.py --out FILE [--meta KEY=VALUE ...] WHERE=FILE.jsonl ...
       report.py --check FILE [--expect GROUP ...]

WHERE is "host" or "guest".  Targets are measured, never asserted: the
exit status says only whether the input was well formed (and, with
--check, whether every record has every field and the expected groups are
there).
"""
import argparse
import json
import sys

FIELDS = ("group", "op", "size", "variant", "unit", "n", "median", "min",
          "max", "ratio", "baseline")
GIB = 1 << 30
MAX_SEG = 0xffffffff & ~4095


def load(path):
    recs = []
    try:
        with open(path) as f:
            for line in f:
                if line.strip():
                    recs.append(json.loads(line))
    except FileNotFoundError:
        print(f"report: {path} is missing (that run failed)",
              file=sys.stderr)
        return None
    return recs


def pick(recs, **kw):
    return [r for r in recs
            if all(r.get(k) == v for k, v in kw.items())]


def one(recs, **kw):
    r = pick(recs, **kw)
    return r[0] if r else None


def size_str(n):
    for unit, m in (("GiB", GIB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= m and n % m == 0:
            return f"{n // m} {unit}"
    return f"{n} B"


def verdict(ok):
    return "met" if ok else "MISSED"


def summarize(guest, host):
    """The targets of issues 6 and 17, each with the measured value."""
    s = {}
    lines = []

    sh = one(guest, group="shim", op="reg", variant="shim")
    info = one(guest, group="shim_info")
    if sh and info:
        pct = (sh["ratio"] - 1) * 100
        s["shim_overhead_pct"] = round(pct, 2)
        s["shim_loaded"] = info["shim_loaded"]
        lines.append(f"shim overhead, 4 KiB ibv_reg_mr (median): "
                     f"{pct:+.2f} % (target <= 2 %): {verdict(pct <= 2)}"
                     + ("" if info["shim_loaded"] else
                        " [shim NOT loaded]"))
        d = one(guest, group="shim", op="dereg", variant="shim")
        if d:
            lines.append(f"shim overhead, ibv_dereg_mr (median): "
                         f"{(d['ratio'] - 1) * 100:+.2f} %")
            s["shim_dereg_overhead_pct"] = round((d["ratio"] - 1) * 100, 2)
    for where, recs in (("guest", guest), ("host", host)):
        c = one(recs, group="classify", variant="host")
        if c:
            s[f"classify_host_ns_{where}"] = c["median"]
            lines.append(f"p2pmr_classify() of host memory ({where}): "
                         f"{c['median']:.1f} ns per call")
        c = one(recs, group="classify", variant="bar")
        if c:
            s[f"classify_bar_ns_{where}"] = c["median"]
            lines.append(f"p2pmr_classify() of a BAR mapping ({where}): "
                         f"{c['median'] / 1000:.1f} us per call"
                         + (" (target <= 1 us: "
                            f"{verdict(c['median'] <= 1000)})"
                            if where == "guest" else ""))

    reg = pick(guest, group="reg", op="reg")
    if reg:
        lines.append("registration, ratio over host ibv_reg_mr (median):")
        lines.append(f"  {'size':>8} {'fresh':>7} {'cached':>7} "
                     f"{'reg_mr':>7} {'dereg f':>8} {'dereg c':>8}")
        worst = {"bar_fresh": 0, "bar_cached": 0, "bar_reg_mr": 0}
        table = {}
        for size in sorted({r["size"] for r in reg}):
            row = {}
            for v in ("bar_fresh", "bar_cached", "bar_reg_mr"):
                r = one(reg, size=size, variant=v)
                row[v] = r["ratio"] if r else float("nan")
                if v in worst and r:
                    worst[v] = max(worst[v], r["ratio"])
            for v in ("bar_fresh", "bar_cached"):
                r = one(guest, group="reg", op="dereg", size=size, variant=v)
                row["dereg_" + v] = r["ratio"] if r else float("nan")
            table[size] = row
            lines.append(f"  {size_str(size):>8} {row['bar_fresh']:7.2f} "
                         f"{row['bar_cached']:7.2f} "
                         f"{row['bar_reg_mr']:7.2f} "
                         f"{row['dereg_bar_fresh']:8.2f} "
                         f"{row['dereg_bar_cached']:8.2f}")
        s["reg_ratio"] = {str(k): v for k, v in table.items()}
        s["reg_cached_worst_ratio"] = worst["bar_cached"]
        s["reg_fresh_worst_ratio"] = worst["bar_fresh"]
        lines.append(f"BAR registration, cached export, worst size: "
                     f"{worst['bar_cached']:.2f}x host (target <= 1.5x): "
                     f"{verdict(worst['bar_cached'] <= 1.5)}")
        lines.append(f"BAR registration, fresh export, worst size: "
                     f"{worst['bar_fresh']:.2f}x host (target <= 2x): "
                     f"{verdict(worst['bar_fresh'] <= 2)}")
        s["reg_mr_worst_ratio"] = worst["bar_reg_mr"]
        lines.append(f"BAR registration through p2pmr_reg_mr() (the shim's "
                     f"path, export cache), worst size: "
                     f"{worst['bar_reg_mr']:.2f}x host (target <= 1.2x): "
                     f"{verdict(worst['bar_reg_mr'] <= 1.2)}")

    segs = pick(guest, group="large_segments")
    if segs:
        lines.append("large BARs (whole BAR):")
        lines.append(f"  {'BAR':>7} {'segments':>8} {'pages':>8} "
                     f"{'export us':>10} {'map us':>8} {'reg us':>9} "
                     f"{'dereg us':>9}")
        s["large"] = {}
        seg_ok = True
        for g in sorted(segs, key=lambda r: r["size"]):
            size = g["size"]
            med = {}
            for v in ("export", "importer_map", "rdma_reg", "rdma_dereg"):
                r = one(guest, group="large", size=size, variant=v)
                med[v] = r["median"] if r else float("nan")
            per4g = -(-size // (4 * GIB))
            seg_ok &= g["segments"] <= per4g
            s["large"][str(size)] = dict(segments=g["segments"],
                                         pages=g["pages"],
                                         one_per_4gib=per4g, **med)
            lines.append(f"  {size_str(size):>7} {g['segments']:8d} "
                         f"{g['pages']:8d} {med['export']:10.1f} "
                         f"{med['importer_map']:8.1f} "
                         f"{med['rdma_reg']:9.1f} {med['rdma_dereg']:9.1f}")
        lines.append("segments, 1 per 4 GiB (exporter cap 4 GiB - 4 KiB): "
                     + verdict(seg_ok) + " ("
                     + ", ".join(f"{size_str(g['size'])}: {g['segments']}"
                                 for g in sorted(segs,
                                                 key=lambda r: r["size"]))
                     + ")")
        s["segments_target_met"] = seg_ok
        lg = s["large"]
        if str(GIB) in lg and str(16 * GIB) in lg:
            r = lg[str(16 * GIB)]["rdma_reg"] / lg[str(GIB)]["rdma_reg"]
            s["reg_16g_over_1g"] = round(r, 3)
            lines.append(f"registration 16 GiB / 1 GiB: {r:.2f}x "
                         f"(target <= 2x): {verdict(r <= 2)}")
            m = lg[str(16 * GIB)]["importer_map"] / \
                lg[str(GIB)]["importer_map"]
            s["map_16g_over_1g"] = round(m, 3)
            lines.append(f"importer attach+map 16 GiB / 1 GiB: {m:.2f}x")

    bw = pick(guest, group="rdma_bw", variant="bar")
    if bw:
        lines.append("RDMA into/out of a BAR MR, ratio over a host MR "
                     "(median; bw, then latency):")
        worst = None
        s["rdma"] = {}
        for op in ("write", "read"):
            row = []
            for r in sorted(pick(bw, op=op), key=lambda r: r["size"]):
                lat = one(guest, group="rdma_lat", op=op, size=r["size"],
                          variant="bar")
                row.append(f"{size_str(r['size'])}: {r['ratio']:.2f}/"
                           f"{lat['ratio']:.2f}" if lat else "")
                s["rdma"][f"{op}_{r['size']}"] = dict(
                    bw_ratio=r["ratio"],
                    lat_ratio=lat["ratio"] if lat else None)
                if r["size"] >= 64 << 10:
                    worst = r["ratio"] if worst is None else \
                        min(worst, r["ratio"])
            lines.append(f"  {op:5}: " + ", ".join(row))
        if worst is not None:
            s["rdma_bw_worst_ratio_ge_64k"] = worst
            lines.append(f"RDMA bandwidth into a BAR, >= 64 KiB, worst: "
                         f"{worst:.2f}x host (target >= 0.9x): "
                         f"{verdict(worst >= 0.9)}")
    mpi = pick(guest, group="mpi_bw", variant="bar")
    if mpi:
        lines.append("MPI (Open MPI, UCX rc_verbs) send bandwidth into a "
                     "BAR, ratio over host memory (median):")
        lines.append("  " + ", ".join(
            f"{size_str(r['size'])}: {r['ratio']:.2f}"
            for r in sorted(mpi, key=lambda r: r["size"])))
        s["mpi_bw_ratio"] = {str(r["size"]): r["ratio"] for r in mpi}
    return s, lines


def check(path, expect):
    with open(path) as f:
        doc = json.load(f)
    bad = []
    for key in ("meta", "host", "guest", "summary"):
        if key not in doc:
            bad.append(f"no '{key}'")
    for where in ("host", "guest"):
        for r in doc.get(where, []):
            if r.get("group", "").endswith(("_info", "_segments")):
                continue
            missing = [k for k in FIELDS if k not in r]
            if missing:
                bad.append(f"{where} record {r} lacks {missing}")
            elif not (r["min"] <= r["median"] <= r["max"]) or r["n"] < 1:
                bad.append(f"{where} record {r}: inconsistent statistics")
    groups = {r.get("group") for w in ("host", "guest")
              for r in doc.get(w, [])}
    for g in expect:
        if g not in groups:
            bad.append(f"no '{g}' records")
    for b in bad:
        print("FAIL:", b)
    if not bad:
        print(f"ok {path}: {sum(len(doc[w]) for w in ('host', 'guest'))} "
              f"records, groups {sorted(groups)}")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out")
    ap.add_argument("--meta", action="append", default=[])
    ap.add_argument("--check")
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("parts", nargs="*")
    a = ap.parse_args()
    if a.check:
        return check(a.check, a.expect)

    doc = {"meta": dict(m.split("=", 1) for m in a.meta),
           "host": [], "guest": []}
    rc = 0
    for p in a.parts:
        where, path = p.split("=", 1)
        recs = load(path)
        if recs is None:
            rc = 1
            continue
        doc[where].extend(recs)
    doc["summary"], lines = summarize(doc["guest"], doc["host"])
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print("\n== summary (ratios: BAR over host, measured in the same run)")
    for line in lines:
        print(line)
    return rc


if __name__ == "__main__":
    sys.exit(main())
