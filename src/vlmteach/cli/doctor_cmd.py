"""`vlmteach doctor`: report versions and check the install end to end (exit 1 on any failure)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check the install, load the tiny models, run one optimization step")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vlmteach.diagnostics import run_checks, versions

    for name, version in versions().items():
        print(f"{name:<16}{version}")
    print()
    checks = run_checks()
    for c in checks:
        print(f"[{'ok' if c.ok else 'FAIL'}] {c.name:<20}{c.detail}")
    return 0 if all(c.ok for c in checks) else 1
