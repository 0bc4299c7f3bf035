#!/usr/bin/env python3
"""Lay out Go vulnerability reports (OSV JSON) as the database govulncheck
reads with -db file:///DIR: DIR/ID/GO-*.json, DIR/index/db.json and
DIR/index/modules.json (golang.org/x/vuln's documented layout).
usage: govulndb-index.py SRC_DIR_OF_OSV_JSON OUT_DIR"""
import json, os, sys

src, out = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(out, "ID"), exist_ok=True)
os.makedirs(os.path.join(out, "index"), exist_ok=True)
mods, newest, vulns = {}, "", []
for name in sorted(os.listdir(src)):
    if not name.endswith(".json"):
        continue
    with open(os.path.join(src, name)) as f:
        rec = json.load(f)
    with open(os.path.join(out, "ID", name), "w") as f:
        json.dump(rec, f)
    mod = rec.get("modified", "")
    newest = max(newest, mod)
    vulns.append({"id": rec["id"], "modified": mod, "aliases": rec.get("aliases", [])})
    for a in rec.get("affected", []):
        path = a["package"]["name"]
        fixed = ""
        for r in a.get("ranges", []):
            for e in r.get("events", []):
                fixed = e.get("fixed", fixed)
        entry = {"id": rec["id"], "modified": mod}
        if fixed:
            entry["fixed"] = fixed
        mods.setdefault(path, []).append(entry)
with open(os.path.join(out, "index", "db.json"), "w") as f:
    json.dump({"modified": newest}, f)
with open(os.path.join(out, "index", "modules.json"), "w") as f:
    json.dump([{"path": p, "vulns": v} for p, v in sorted(mods.items())], f)
with open(os.path.join(out, "index", "vulns.json"), "w") as f:
    json.dump(vulns, f)
