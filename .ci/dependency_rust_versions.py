#!/usr/bin/env python3
"""Checks that no workspace package declares a rust-version below what its dependencies declare.

What it checks: for each workspace member, every package it needs to build (normal and build
dependencies, followed transitively, all features on, every platform), as resolved in
Cargo.lock, has a `rust-version` no higher than the member's: an error otherwise. The member's
dev-dependencies (its tests, benches and examples) are followed the same way but only reported
when they need more. Dependencies that declare no rust-version are listed but cannot be
checked.

What it does not check: that the code of the workspace itself builds with the declared
version (no old toolchain is installed); the manifests say which language and library
features set each floor.
"""
import json
import subprocess
import sys


def version(v):
    return tuple(int(x) for x in v.split("."))[:3] + (0,) * (3 - len(v.split(".")))


def main():
    meta = json.loads(
        subprocess.check_output(
            ["cargo", "metadata", "--format-version", "1", "--all-features", "--locked"]
        )
    )
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    members = meta["workspace_members"]
    failures = []
    unknown = set()
    for member in members:
        own = packages[member].get("rust_version")
        name = packages[member]["name"]
        if not own:
            failures.append(f"{name} declares no rust-version")
            continue
        for dev in (False, True):
            seen, stack = set(), [member]
            while stack:
                pid = stack.pop()
                for dep in nodes[pid]["deps"]:
                    kinds = {k["kind"] for k in dep["dep_kinds"]}
                    # Dev-dependencies are built only for the member itself, and only in the
                    # second pass.
                    if kinds == {"dev"} and (pid != member or not dev):
                        continue
                    if dep["pkg"] not in seen:
                        seen.add(dep["pkg"])
                        stack.append(dep["pkg"])
            worst = None
            for pid in seen:
                dep = packages[pid]
                rv = dep.get("rust_version")
                if not rv:
                    unknown.add(f'{dep["name"]} {dep["version"]}')
                    continue
                if worst is None or version(rv) > version(worst[0]):
                    worst = (rv, f'{dep["name"]} {dep["version"]}')
            floor = f"{worst[0]} ({worst[1]})" if worst else "none declared"
            what = "with dev-dependencies" if dev else "to build"
            print(f"{name}: rust-version {own}; {what}, {len(seen)} dependencies, highest: {floor}")
            if worst and version(worst[0]) > version(own):
                if dev:
                    print(f"  note: its tests, benches and examples need {floor}")
                else:
                    failures.append(f"{name} declares rust-version {own}, but {worst[1]} needs {worst[0]}")
    if unknown:
        print(f"{len(unknown)} dependencies declare no rust-version: " + ", ".join(sorted(unknown)))
    for f in failures:
        print("error: " + f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
