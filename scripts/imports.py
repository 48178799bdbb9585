#!/usr/bin/env python3
"""The structure of imports between the files of src/: cycles and imports against the layers.

Usage: scripts/imports.py [--check] [--edges]

Every `crate::…`, `super::…` and `self::…` path in a file (in `use` items and inline) is
resolved to the file of the deepest module it names; each such pair is an edge. A cycle is a
strongly connected set of two or more files. The layers below run from the bottom up; a file
may import from its own layer and the ones below, and an import upwards is reported. With
--check, the script exits 1 when there is a cycle or an upward import (CI runs it so).
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

# Bottom first. A top-level module not listed is its own layer above everything listed.
LAYERS = [
    ["clock", "domain", "metrics"],
    ["crypto", "db"],
    ["config"],
    ["repo"],
    ["authz", "auth"],
    ["audit"],
    ["error"],
    ["limits"],
    ["state"],
    ["work"],
    ["usecase", "jobs"],
    ["api", "web", "telemetry"],
    ["openapi", "app"],
    ["server", "cli", "cosigner"],
]


def module_of(path):
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel == ["lib"]:
        rel = []
    return tuple(rel)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def expand(tree):
    """`a::{b, c::{d, e}}` → ["a::b", "a::c::d", "a::c::e"]."""
    tree = tree.strip()
    depth = 0
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                prefix = tree[:i]
                inner = tree[i + 1 : tree.rindex("}")]
                parts, level, start = [], 0, 0
                for j, c in enumerate(inner):
                    if c == "{":
                        level += 1
                    elif c == "}":
                        level -= 1
                    elif c == "," and level == 0:
                        parts.append(inner[start:j])
                        start = j + 1
                parts.append(inner[start:])
                out = []
                for part in parts:
                    if part.strip():
                        out += [prefix + p for p in expand(part)]
                return out
            depth += 1
    return [tree.split(" as ")[0].strip()]


def main():
    files = {}
    for root, _, names in os.walk(SRC):
        for name in names:
            if name.endswith(".rs") and not (root == SRC and name == "main.rs"):
                path = os.path.join(root, name)
                files[module_of(path)] = path
    edges = {m: set() for m in files}

    def resolve(segments):
        for n in range(len(segments), 0, -1):
            if tuple(segments[:n]) in files:
                return tuple(segments[:n])
        return None

    for module, path in files.items():
        is_mod_file = path.endswith("mod.rs") or path.endswith("lib.rs")
        text = strip_comments(open(path, encoding="utf-8").read())
        paths = []
        for item in re.findall(r"\buse\s+([^;]+);", text, flags=re.S):
            paths += expand(re.sub(r"\s+", " ", item))
        paths += re.findall(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)", text)
        for p in paths:
            segs = [s for s in p.replace(" ", "").split("::") if s]
            if not segs:
                continue
            if segs[0] == "crate":
                absolute = segs[1:]
            elif segs[0] in ("super", "self"):
                base = list(module) if is_mod_file else list(module)
                # In a non-mod file, `self` is the file's module and `super` its parent.
                while segs and segs[0] in ("super", "self"):
                    if segs[0] == "super":
                        base = base[:-1]
                    segs = segs[1:]
                absolute = base + segs
            else:
                continue
            target = resolve(absolute)
            if target is not None and target != module:
                edges[module].add(target)

    # Tarjan's strongly connected components.
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def connect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(comp)

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            connect(v)

    def name(m):
        return files[m][len(SRC) + 1 :]

    def layer(m):
        if not m:
            return len(LAYERS) + 1
        for i, group in enumerate(LAYERS):
            if m[0] in group:
                return i
        return len(LAYERS)

    upward = sorted(
        (name(a), name(b))
        for a, targets in edges.items()
        for b in targets
        if a and layer(b) > layer(a)
    )
    print(f"{len(files)} files, {sum(len(t) for t in edges.values())} imports between them")
    print(f"cycles: {len(sccs)}")
    for comp in sccs:
        print("  " + " <-> ".join(sorted(name(m) for m in comp)))
    print(f"imports against the layers: {len(upward)}")
    for a, b in upward:
        print(f"  {a} -> {b}")
    if "--edges" in sys.argv:
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print(f"edge {name(a)} -> {name(b)}")
    if "--check" in sys.argv and (sccs or upward):
        sys.exit(1)


if __name__ == "__main__":
    main()
