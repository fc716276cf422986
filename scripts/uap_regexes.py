#!/usr/bin/env python3
"""Vendors uap-core's user-agent rules (regexes.yaml) for websight-core as JSON.

uap-core (https://github.com/ua-parser/uap-core, Apache-2.0) is the maintained rule set behind
the ua-parser libraries of every language; the Rust port (crate ua-parser) reads it. Refresh
websight's copy when uap-core releases:

    python3 scripts/uap_regexes.py [VERSION]     # default: the version pinned below

It downloads the npm package `uap-core@VERSION` with `npm pack`, converts regexes.yaml to
JSON (no YAML parser is needed at run time) and writes
websight-core/data/uap-regexes.json and its licence beside it.
"""
import json
import pathlib
import subprocess
import sys
import tarfile
import tempfile

import yaml  # PyYAML

VERSION = sys.argv[1] if len(sys.argv) > 1 else "0.18.0"
DATA = pathlib.Path(__file__).resolve().parent.parent / "websight-core" / "data"

with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(["npm", "pack", f"uap-core@{VERSION}", "--silent"], cwd=tmp, check=True,
                   stdout=subprocess.DEVNULL)
    tarball = next(pathlib.Path(tmp).glob("uap-core-*.tgz"))
    with tarfile.open(tarball) as tar:
        rules = yaml.safe_load(tar.extractfile("package/regexes.yaml"))
        licence = tar.extractfile("package/LICENSE").read()
keep = ("user_agent_parsers", "os_parsers", "device_parsers")
out = {"uap_core_version": VERSION, **{k: rules[k] for k in keep}}
(DATA / "uap-regexes.json").write_text(json.dumps(out, separators=(",", ":"), ensure_ascii=False) + "\n")
(DATA / "UAP-CORE-LICENSE.txt").write_bytes(licence)
print(f"uap-core {VERSION}: " + ", ".join(f"{len(out[k])} {k}" for k in keep))
