#!/usr/bin/env python3
"""Checks, without a Docker engine, that deploy/Dockerfile can build from the repository root
as .dockerignore leaves it (run by .ci/run; `python3 deploy/check-build-context.py`):

  * every source of a COPY/ADD that does not come --from a stage is in the context;
  * cargo reads the workspace from the context alone: every member's manifest and targets
    (`cargo metadata --no-deps --offline` on a copy of it), and Cargo.lock for --locked;
  * every file an include_str!/include_bytes! names is in the context;
  * no .env, database file or build output is sent to the builder.

The context is computed by docker-py's own .dockerignore matcher (Debian's python3-docker,
the library under docker-compose), not by a re-implementation here.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

from docker.utils.build import exclude_paths

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKERFILE = os.path.join(ROOT, "deploy", "Dockerfile")
NEVER = re.compile(r"(^|/)(\.env|target|node_modules)(/|$)|\.db(-wal|-shm)?$")
INCLUDE = re.compile(r'include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)')


def context_files():
    with open(os.path.join(ROOT, ".dockerignore"), encoding="utf-8") as f:
        patterns = [
            line.strip()
            for line in f.read().splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
    # BuildKit sends the Dockerfile on its own: it is not part of the context.
    paths = exclude_paths(ROOT, patterns)
    return sorted(p for p in paths if os.path.isfile(os.path.join(ROOT, p)))


def copy_sources(dockerfile):
    """(line number, source) of each COPY/ADD that reads the build context."""
    with open(dockerfile, encoding="utf-8") as f:
        lines = f.read().split("\n")
    joined, start, buf = [], 0, ""
    for n, line in enumerate(lines, 1):
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if not buf:
            start = n
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1] + " "
            continue
        joined.append((start, buf + line))
        buf = ""
    out = []
    for n, instr in joined:
        words = instr.strip().split(None, 1)
        if len(words) < 2 or words[0].upper() not in ("COPY", "ADD"):
            continue
        rest = words[1].strip()
        flags = []
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            flags.append(flag)
            rest = rest.strip()
        if any(f.startswith("--from=") for f in flags):
            continue
        args = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
        out.extend((n, src) for src in args[:-1])
    return out


def main():
    problems = []
    files = context_files()
    in_context = set(files)
    if not files:
        problems.append(".dockerignore leaves nothing in the build context")

    for path in files:
        if NEVER.search(path):
            problems.append(f"{path} would be sent to the builder (.dockerignore must leave it out)")

    sources = copy_sources(DOCKERFILE)
    if not sources:
        problems.append("deploy/Dockerfile copies nothing from the build context")
    for n, src in sources:
        src = os.path.normpath(src.lstrip("/"))
        if src == ".":
            continue
        if src not in in_context and not any(p.startswith(src + "/") for p in files):
            problems.append(f"deploy/Dockerfile:{n}: COPY {src}: not in the build context")

    for path in files:
        if not path.endswith(".rs"):
            continue
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            for target in INCLUDE.findall(f.read()):
                wanted = os.path.normpath(os.path.join(os.path.dirname(path), target))
                if wanted not in in_context:
                    problems.append(f"{path}: include of {target}: {wanted} is not in the build context")

    if "Cargo.lock" not in in_context:
        problems.append("Cargo.lock is not in the build context (the image builds with --locked)")
    with tempfile.TemporaryDirectory(prefix="monservice-context-") as tmp:
        for path in files:
            os.makedirs(os.path.join(tmp, os.path.dirname(path)), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, path), os.path.join(tmp, path))
        meta = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline",
             "--manifest-path", os.path.join(tmp, "Cargo.toml")],
            capture_output=True, text=True, cwd=tmp, check=False,
        )
        packages, targets = [], 0
        if meta.returncode != 0:
            problems.append("cargo cannot read the workspace from the build context: "
                            + meta.stderr.strip().replace("\n", " / "))
        else:
            packages = json.loads(meta.stdout)["packages"]
            for pkg in packages:
                if not pkg["targets"]:
                    problems.append(f"package {pkg['name']}: no target in the build context")
                for t in pkg["targets"]:
                    targets += 1
                    if not os.path.isfile(t["src_path"]):
                        problems.append(f"package {pkg['name']}: {os.path.relpath(t['src_path'], tmp)} is missing")
            if not any(t["name"] == "monservice" for p in packages for t in p["targets"]):
                problems.append("no `monservice` binary target in the build context")

    if problems:
        for p in problems:
            print(f"FAIL: {p}")
        return 1
    print(f"build context: {len(files)} files; COPY sources present; {len(packages)} packages, "
          f"{targets} targets and every include_str!/include_bytes! file present; no .env, "
          "database or target/ sent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
