#!/usr/bin/env python3
"""Builds from exactly what the Dockerfile copies, without a Docker engine.

Reproduces the image's build context: the paths its build stage's `COPY` lines name (less what
.dockerignore leaves out), laid out as `WORKDIR` would hold them, in a temporary folder; then
checks the crate there with `cargo check --locked --offline` (every target the manifest names
must be present, every embedded file — migrations, templates, assets — must be there; it shares
`target/` with the other checks, so only the crate itself is checked again). The runtime stage's `COPY` sources from the context must exist too. A file the build
needs that the Dockerfile does not copy fails this, and so CI.

    python3 scripts/docker_context.py            # check
    python3 scripts/docker_context.py --keep     # and leave the folder for a look
"""

import fnmatch
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def instructions(text):
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        logical.append(current)
        current = ""
    return logical


def ignored(path, patterns):
    return any(fnmatch.fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") for p in patterns)


def main():
    keep = "--keep" in sys.argv[1:]
    patterns = []
    ignore_file = ROOT / ".dockerignore"
    if ignore_file.exists():
        patterns = [line.strip() for line in ignore_file.read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    stages, copies = 0, []
    for line in instructions((ROOT / "Dockerfile").read_text()):
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            stages += 1
        elif word in ("COPY", "ADD"):
            args = [a for a in shlex.split(rest) if not a.startswith("--chown") and
                    not a.startswith("--chmod") and not a.startswith("--link")]
            if any(a.startswith("--from") for a in args):
                continue
            *sources, destination = args
            copies.append((stages, sources, destination))
    if not copies:
        sys.exit("docker_context: no COPY lines found in the Dockerfile")

    context = Path(tempfile.mkdtemp(prefix="sig-docker-context-"))
    missing = []
    try:
        for stage, sources, destination in copies:
            for source in sources:
                origin = ROOT / source
                if not origin.exists() or ignored(source, patterns):
                    missing.append(f"COPY {source} (stage {stage}): not in the build context")
                    continue
                if stage != 1:
                    continue  # the runtime stage: only that it exists
                if destination.endswith("/") or len(sources) > 1:
                    target = context / destination / origin.name
                else:
                    target = context / destination
                target.parent.mkdir(parents=True, exist_ok=True)
                if origin.is_dir():
                    shutil.copytree(origin, target, dirs_exist_ok=True,
                                    ignore=lambda d, names: [
                                        n for n in names
                                        if ignored(os.path.relpath(os.path.join(d, n), ROOT), patterns)])
                else:
                    shutil.copy2(origin, target)
        if missing:
            sys.exit("docker_context: " + "; ".join(missing))
        print(f"docker_context: {sum(len(s) for _, s, _ in copies)} paths copied to {context}")
        env = dict(os.environ, CARGO_TARGET_DIR=str(ROOT / "target"))
        check = subprocess.run(
            ["cargo", "check", "--locked", "--offline", "--quiet"],
            cwd=context, env=env)
        if check.returncode != 0:
            sys.exit("docker_context: the crate does not build from what the Dockerfile copies")
        print("docker_context: the image's build stage has every file it needs")
    finally:
        if keep:
            print(f"docker_context: left {context}")
        else:
            shutil.rmtree(context, ignore_errors=True)


if __name__ == "__main__":
    main()
