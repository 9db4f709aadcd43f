#!/usr/bin/env python3
"""Turns run_bench.py's JSON into a ratio table (Markdown) and a bar chart (SVG).

usage: bench_report.py RESULTS.json OUT_DIR [--ours NAME] [--base NAME]

For every test, it puts our implementation's median beside libzmq's and prints the ratio
(for throughput higher is better, for latency lower is better), then draws one bar pair per
test, normalised to libzmq = 1.0.
"""

import json
import os
import sys


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    path, out_dir = sys.argv[1], sys.argv[2]
    ours = "ours"
    base = "libzmq"
    if "--ours" in sys.argv:
        ours = sys.argv[sys.argv.index("--ours") + 1]
    if "--base" in sys.argv:
        base = sys.argv[sys.argv.index("--base") + 1]
    with open(path) as f:
        data = json.load(f)
    summary = data["summary"]
    rows = []
    tests = sorted({label.split(" ")[0] for label in summary})
    for test in tests:
        mine = summary.get(f"{test} {ours}:{ours}", {})
        theirs = summary.get(f"{test} {base}:{base}", {})
        metric = "us" if "-lat-" in test else "msg/s"
        if metric not in mine or metric not in theirs:
            rows.append((test, metric, None, None, None))
            continue
        m, t = mine[metric]["median"], theirs[metric]["median"]
        ratio = (t / m) if metric == "us" else (m / t)
        rows.append((test, metric, m, t, ratio))
    os.makedirs(out_dir, exist_ok=True)
    lines = [
        f"| test | metric | {ours} | {base} | {ours} vs {base} (higher is better) |",
        "|---|---|---:|---:|---:|",
    ]
    for test, metric, m, t, ratio in rows:
        if ratio is None:
            lines.append(f"| {test} | {metric} | FAILED | | |")
            continue
        fmt = (lambda x: f"{x:,.0f}") if metric == "msg/s" else (lambda x: f"{x:.2f}")
        lines.append(f"| {test} | {metric} | {fmt(m)} | {fmt(t)} | {ratio:.2f}x |")
    table = "\n".join(lines) + "\n"
    with open(os.path.join(out_dir, "table.md"), "w") as f:
        f.write(table)
    print(table)
    write_svg(rows, os.path.join(out_dir, "ratios.svg"), ours, base)
    return 0


def write_svg(rows, path, ours, base):
    rows = [r for r in rows if r[4] is not None]
    width, bar_h, gap, left = 640, 18, 10, 150
    height = 40 + len(rows) * (bar_h + gap)
    top = max([r[4] for r in rows] + [2.0])
    scale = (width - left - 60) / top
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="{left}" y="16">{ours} / {base} (higher is better; line = parity)</text>',
    ]
    for i, (test, _metric, _m, _t, ratio) in enumerate(rows):
        y = 30 + i * (bar_h + gap)
        w = ratio * scale
        colour = "#2a9d8f" if ratio >= 1 else "#e76f51"
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{test}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>')
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + 13}">{ratio:.2f}x</text>')
    x1 = left + scale
    parts.append(f'<line x1="{x1:.1f}" y1="24" x2="{x1:.1f}" y2="{height - 4}" stroke="#333"/>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


if __name__ == "__main__":
    sys.exit(main())
