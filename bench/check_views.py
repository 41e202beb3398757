"""Reads `mhd components --json` on standard input and fails unless every component of the
matrix has operations of both systems in its window (the last 7 days): a benchmark must not
time empty views."""
import json
import sys

doc = json.load(sys.stdin)
rows = doc if isinstance(doc, list) else doc.get("components", [])
empty = [r["component"] for r in rows
         if r["old_version"]["operations"] == 0 or r["new_version"]["operations"] == 0]
if not rows or empty:
    sys.exit(f"the component matrix's last 7 days are empty ({', '.join(empty) or 'no rows'}): "
             "the benchmark would time empty views")
print("component matrix, last 7 days: " + ", ".join(
    f"{r['component']} {r['old_version']['operations'] + r['new_version']['operations']} operations"
    for r in rows))
