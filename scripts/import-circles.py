#!/usr/bin/env python3
"""Counts import circles between the modules of each crate.

A module is a file (`foo.rs` or `foo/mod.rs`); module A depends on B when A names `crate::B...`
or `super::...` that resolves to B, in a `use` or a path in code. Declaring a child (`mod x;`)
is not a dependency; `#[cfg(test)]` modules (and `tests.rs` files) are left out, since test code
may reach across. Prints each circle (a strongly connected group of two or more modules) and
exits 1 if there is any.

    python3 scripts/import-circles.py crates/operator/src crates/api/src
"""
import os
import re
import sys


def modules(src):
    """Maps module path (tuple) -> file."""
    out = {}
    for root, _, files in os.walk(src):
        for f in files:
            if not f.endswith(".rs"):
                continue
            rel = os.path.relpath(os.path.join(root, f), src)
            parts = rel[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            if parts and parts[-1] == "tests":
                continue
            if parts and parts[0] == "bin":
                continue
            out[tuple(parts)] = os.path.join(root, f)
    return out


def strip_tests(text):
    """Drops `#[cfg(test)] mod x { ... }` blocks and comments."""
    text = re.sub(r"//[^\n]*", "", text)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def resolve(path, mods):
    """The longest module prefix of `path` that is a module."""
    for n in range(len(path), -1, -1):
        if tuple(path[:n]) in mods:
            return tuple(path[:n])
    return None


def graph(src):
    mods = modules(src)
    edges = {m: set() for m in mods}
    for m, f in mods.items():
        text = strip_tests(open(f, encoding="utf-8").read())
        # Expand `use crate::{a, b::c}` one level.
        for g in re.finditer(r"\b(crate|super)::\{([^}]*)\}", text):
            for item in g.group(2).split(","):
                item = item.strip().split(" as ")[0]
                if item:
                    text += f" {g.group(1)}::{item}"
        for p in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", text):
            segs = p.group(1).split("::")
            if segs[0] == "crate":
                target = segs[1:]
            else:
                base = list(m)
                # In foo.rs or foo/mod.rs, `super` is foo's parent.
                while segs and segs[0] == "super":
                    base = base[:-1]
                    segs = segs[1:]
                target = base + segs
            t = resolve(target, mods)
            if t is not None and t != m and not (t == () and m and False):
                # A child naming its ancestor's items counts; the crate root (lib.rs) re-exports only.
                if t != ():
                    edges[m].add(t)
    return edges


def circles(edges):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return out


def main():
    found = 0
    for src in sys.argv[1:]:
        for group in circles(graph(src)):
            found += 1
            print(f"{src}: circle of {len(group)}: " + " -> ".join("::".join(g) or "crate" for g in group))
    print(f"{found} import circle(s)")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
