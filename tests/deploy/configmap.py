#!/usr/bin/env python3
"""The reaperd.toml the DaemonSet's ConfigMap carries is a config reaperd accepts
(`reaperd check-config`). Usage: configmap.py BUILD_DIR SOURCE_DIR REAPERD."""
import os
import shutil
import subprocess
import sys
import tempfile

build_dir, source_dir, reaperd = sys.argv[1:4]
text = open(os.path.join(source_dir, "deploy/kubernetes/configmap.yaml")).read()
head, sep, body = text.partition("reaperd.toml: |\n")
if not sep:
    sys.exit("no reaperd.toml in deploy/kubernetes/configmap.yaml")
lines = []
for line in body.splitlines():
    if line.strip() and not line.startswith("    "):
        break  # the block scalar ends at the first line indented less
    lines.append(line[4:])
# Under the build directory: reaperd refuses a config in a world-writable directory.
d = tempfile.mkdtemp(prefix="configmap-", dir=build_dir)
try:
    os.chmod(d, 0o755)
    cfg = os.path.join(d, "reaperd.toml")
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(cfg, 0o644)
    r = subprocess.run([reaperd, "check-config", cfg], capture_output=True, text=True)
    print(r.stdout + r.stderr, end="")
    sys.exit(r.returncode)
finally:
    shutil.rmtree(d, ignore_errors=True)
