#!/usr/bin/env python3
"""Checks that the Docker image's build stage copies every file the build reads, without a
Docker engine.

The build context is what the build stage's `COPY` lines name, less what .dockerignore leaves
out. The files the build reads are the manifest (Cargo.toml, Cargo.lock, build.rs), every target
the manifest names without a path (cargo looks for those when it reads it), and every file rustc
read for the library and the binary: the sources, and what they embed (migrations, templates,
assets), from the dependency lists rustc writes beside its output (target/debug/deps/*.d). A file
the build reads that the context lacks fails this, and so CI. The runtime stage's `COPY` sources
from the context must exist too.

The dependency lists come from the binary as `cargo test` builds it, so in CI, after the tests,
nothing is compiled again. `--build` also lays the context out in a temporary folder and checks
the crate there (`cargo check --locked --offline`, about a minute and a half): the proof to run
after changing the Dockerfile itself.

    python3 scripts/docker_context.py            # check
    python3 scripts/docker_context.py --build    # and compile from the context
    python3 scripts/docker_context.py --build --keep    # and leave the folder for a look
"""

import fnmatch
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
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


def dependency_files():
    """Every file in the project that rustc read for the library or the binary, by the
    dependency lists of their newest builds (`cargo test --no-run` makes them first)."""
    subprocess.run(["cargo", "test", "--no-run", "--quiet", "--locked", "--test", "it"],
                   cwd=ROOT, check=True)
    found = set()
    for listing in sorted((ROOT / "target" / "debug" / "deps").glob("sig_register-*.d")):
        text = listing.read_text()
        if "# env-dep:CLIPPY_ARGS" in text:
            continue  # clippy's: it also reads clippy.toml, which the build does not
        rules = [line for line in text.splitlines() if line and not line.startswith("#")]
        outputs = [line.split(":", 1)[0] for line in rules if not line.endswith(":")]
        inputs = [line[:-1].replace("\\ ", " ") for line in rules if line.endswith(":")]
        library = any(Path(o).name.startswith("libsig_register-") for o in outputs)
        binary = "src/main.rs" in inputs
        if not (library or binary):
            continue  # the library's unit tests: not part of the image
        for name in inputs:
            path = Path(os.path.normpath(ROOT / name))
            if path.is_file() and ROOT in path.parents:
                found.add(path.relative_to(ROOT).as_posix())
    if not any(f.startswith("src/") for f in found):
        sys.exit("docker_context: found no dependency lists in target/debug/deps")
    return found


def read_by_the_build():
    """What `cargo build` in the image reads: the manifest, the targets it names without a path,
    and what rustc read."""
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    needed = {"Cargo.toml", "Cargo.lock"}
    build = manifest.get("package", {}).get("build", "build.rs")
    if build and (ROOT / build).exists():
        needed.add(build)
    for kind, folder in (("bench", "benches"), ("test", "tests"), ("example", "examples")):
        for target in manifest.get(kind, []):
            if "path" not in target:
                needed.add(f"{folder}/{target['name']}.rs")
    return needed | dependency_files()


def placed(source, sources, destination):
    """Where a `COPY` line puts `source`, relative to the work folder."""
    if destination.endswith("/") or len(sources) > 1:
        return os.path.normpath(os.path.join(destination, os.path.basename(source)))
    return os.path.normpath(destination)


def copied(path, copies, patterns):
    """Whether the build stage's `COPY` lines bring `path` to the same place in the image's
    work folder."""
    if ignored(path, patterns):
        return False
    for stage, sources, destination in copies:
        if stage != 1:
            continue
        for source in sources:
            there = placed(source, sources, destination)
            source = os.path.normpath(source)
            if path == source and there == path:
                return True
            if path.startswith(source + "/") and (ROOT / source).is_dir():
                if os.path.normpath(os.path.join(there, path[len(source) + 1:])) == path:
                    return True
    return False


def main():
    keep = "--keep" in sys.argv[1:]
    build = "--build" in sys.argv[1:]
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

    missing = [f"COPY {source} (stage {stage}): not in the build context"
               for stage, sources, _ in copies for source in sources
               if not (ROOT / source).exists() or ignored(source, patterns)]
    if missing:
        sys.exit("docker_context: " + "; ".join(missing))
    needed = read_by_the_build()
    lacking = sorted(path for path in needed if not copied(path, copies, patterns))
    if lacking:
        more = f" and {len(lacking) - 8} more" if len(lacking) > 8 else ""
        sys.exit("docker_context: the build reads files the Dockerfile does not copy: "
                 + ", ".join(lacking[:8]) + more)
    print(f"docker_context: the build stage copies all {len(needed)} files the build reads")
    if build:
        compile_from_the_context(copies, patterns, keep)


def compile_from_the_context(copies, patterns, keep):
    """Lays the build context out in a temporary folder and checks the crate there."""
    context = Path(tempfile.mkdtemp(prefix="sig-docker-context-"))
    try:
        for stage, sources, destination in copies:
            if stage != 1:
                continue  # the runtime stage: main() checked that its sources exist
            for source in sources:
                origin = ROOT / source
                target = context / placed(source, sources, destination)
                target.parent.mkdir(parents=True, exist_ok=True)
                if origin.is_dir():
                    shutil.copytree(origin, target, dirs_exist_ok=True,
                                    ignore=lambda d, names: [
                                        n for n in names
                                        if ignored(os.path.relpath(os.path.join(d, n), ROOT), patterns)])
                else:
                    shutil.copy2(origin, target)
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
