"""Summarises ncu's SASS stall sampling of one kernel.

Input: the CSV of `ncu --import REP --page source --csv --print-source sass`
(a "Kernel Name" line, then a header with "Address", "Source", "Warp Stall
Sampling (All Samples)" and one `stall_*` column per reason). Output: the
samples by stall reason, the instructions holding the most samples and the
lines around the first of them (bench/RESULTS.md S48 used it to find the
consumers' wait for a full ring slot).

    python3 bench/stall_summary.py SRC.csv [--top 15]
"""
import argparse
import collections
import csv
import sys

SAMPLES = "Warp Stall Sampling (All Samples)"


class SummaryError(ValueError):
    """The CSV is not ncu's source page."""


def read(path):
    """Returns (header, rows) of the source page CSV at ``path``."""
    with open(path, newline="") as f:
        lines = list(csv.reader(f))
    for i, line in enumerate(lines):
        if "Address" in line and "Source" in line and SAMPLES in line:
            return line, [r for r in lines[i + 1:] if len(r) == len(line)]
    raise SummaryError(f"{path}: no header with Address, Source and '{SAMPLES}'")


def count(text):
    """An ncu count: '' and '-' are 0, thousands separators are dropped."""
    text = text.replace(",", "").strip()
    if text in ("", "-"):
        return 0
    try:
        value = float(text)
    except ValueError:
        raise SummaryError(f"not a sample count: {text[:40]!r}") from None
    if not 0 <= value < 2**53:
        raise SummaryError(f"sample count out of range: {text[:40]!r}")
    return int(value)


def summarise(header, rows, top=15):
    """The summary's lines."""
    src, samples = header.index("Source"), header.index(SAMPLES)
    reasons = [i for i, h in enumerate(header) if h.startswith("stall_") and "Not Issued" not in h]
    by_reason = collections.Counter()
    for r in rows:
        for i in reasons:
            by_reason[header[i]] += count(r[i])
    total = sum(by_reason.values())
    if total == 0:
        raise SummaryError("no warp samples: was the report taken with --section SourceCounters?")
    out = [f"warp samples: {total}; by stall reason:"]
    out += [f"  {k:24s} {v:8d} {100 * v / total:5.1f}%" for k, v in by_reason.most_common() if v]
    ranked = sorted(range(len(rows)), key=lambda j: -count(rows[j][samples]))[:top]
    out.append("top instructions (address low bits, SASS, samples, share):")
    for j in ranked:
        s = count(rows[j][samples])
        out.append(f"  {rows[j][0][-5:]}  {rows[j][src][:78]:78s} {s:7d} {100 * s / total:5.1f}%")
    if ranked:
        j = ranked[0]
        out.append("context of the top instruction:")
        out += [f"  {rows[k][0][-5:]}  {rows[k][src][:78]}"
                for k in range(max(0, j - 3), min(len(rows), j + 2))]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv")
    ap.add_argument("--top", type=int, default=15)
    a = ap.parse_args(argv)
    try:
        print("\n".join(summarise(*read(a.csv), top=a.top)))
    except (OSError, SummaryError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
