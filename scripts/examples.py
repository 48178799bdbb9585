#!/usr/bin/env python3
"""Runs every walkthrough in examples/ against a fresh server, and keeps docs/walkthroughs.md
true to them.

Each examples/*.sh runs with `set -euo pipefail` against a server of its own (the debug binary,
SQLite in a temporary folder, a free loopback port), with `sig-register` on PATH and the server's
data folder, and checks its own steps (`expect`). docs/walkthroughs.md quotes each script and
what it printed between markers:

    <!-- examples/NAME.sh: the script -->      a ```bash block, the file as it is
    <!-- examples/NAME.sh: what it printed -->  the output, indented
    <!-- examples/NAME.sh: end -->

    python3 scripts/examples.py            # run them; fail if one fails or the docs differ
    python3 scripts/examples.py --write    # run them and write what they printed into the docs

Times, dates and ids differ from run to run and are compared as placeholders.
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "target" / "debug" / "sig-register"
DOC = ROOT / "docs" / "walkthroughs.md"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(script):
    """The script's output, against a fresh server."""
    with tempfile.TemporaryDirectory(prefix="sig-example-") as folder:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SIG_")}
        env.update(
            SIG_DATA_DIR=f"{folder}/data",
            SIG_DATABASE_URL=f"sqlite://{folder}/sig-register.db",
            SIG_POLICIES_DIR=str(ROOT / "policies"),
            SIG_BIND=f"127.0.0.1:{port}",
            SIG_LOG="warn",
            API=f"http://127.0.0.1:{port}/api/v1",
            PATH=f"{BINARY.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        with open(f"{folder}/serve.log", "w") as log:
            server = subprocess.Popen([str(BINARY), "serve"], cwd=folder, env=env,
                                      stdout=log, stderr=log)
            try:
                for _ in range(300):
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz") as r:
                            if r.status == 200:
                                break
                    except OSError:
                        time.sleep(0.1)
                else:
                    sys.exit(f"examples: the server for {script.name} did not start")
                done = subprocess.run(["bash", str(script)], cwd=folder, env=env,
                                      capture_output=True, text=True, timeout=120)
            finally:
                server.terminate()
                server.wait(timeout=20)
        if done.returncode != 0:
            sys.exit(f"examples: {script.relative_to(ROOT)} failed (exit {done.returncode}):\n"
                     f"{done.stdout}{done.stderr}")
        return done.stdout


def normal(text):
    text = re.sub(r"\d{4}-\d{2}-\d{2}T[0-9:.]+Z", "<time>", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2}", "<date>", text)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", text)
    return [line.rstrip() for line in text.strip().splitlines()]


def blocks(doc, name):
    script = re.search(rf"<!-- {re.escape(name)}: the script -->\n```bash\n(.*?)```\n", doc, re.S)
    output = re.search(rf"<!-- {re.escape(name)}: what it printed -->\n(.*?)<!-- {re.escape(name)}: end -->",
                       doc, re.S)
    return script, output


def main():
    write = "--write" in sys.argv[1:]
    # The binary as `cargo test` builds it: after `cargo test` nothing is built again, where
    # `cargo build` would build it once more, without the dev-dependencies' features.
    subprocess.run(["cargo", "test", "--no-run", "--quiet", "--test", "it"], cwd=ROOT, check=True)
    doc = DOC.read_text()
    problems = []
    scripts = sorted((ROOT / "examples").glob("*.sh"))
    for script in scripts:
        name = str(script.relative_to(ROOT))
        printed = run(script)
        print(f"examples: {name}: ran, {len(printed.splitlines())} lines printed")
        script_block, output_block = blocks(doc, name)
        if not script_block or not output_block:
            problems.append(f"{DOC.name} has no quoted script and output of {name}")
            continue
        indented = "".join(f"    {line}\n" if line else "\n" for line in printed.rstrip().split("\n"))
        if write:
            doc = doc.replace(script_block.group(0),
                              f"<!-- {name}: the script -->\n```bash\n{script.read_text()}```\n")
            _, output_block = blocks(doc, name)
            doc = doc.replace(output_block.group(0),
                              f"<!-- {name}: what it printed -->\n\n{indented}\n<!-- {name}: end -->")
            continue
        if script_block.group(1) != script.read_text():
            problems.append(f"{DOC.name} quotes {name} other than it is (--write quotes it again)")
        quoted = "\n".join(line[4:] if line.startswith("    ") else line
                           for line in output_block.group(1).split("\n"))
        if normal(quoted) != normal(printed):
            problems.append(f"{name} printed other than {DOC.name} says:\n{printed}")
    if write:
        DOC.write_text(doc)
        print(f"examples: {DOC.relative_to(ROOT)} written")
    if problems:
        sys.exit("examples: " + "\n".join(problems))
    print(f"examples: {len(scripts)} walkthroughs ran and match {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
