"""`vlmteach doctor`: report versions and check the install end to end (exit 1 on any failure)."""

from __future__ import annotations

import argparse
import time

from vlmteach import reasoners, teachers


def register(sub: argparse._SubParsersAction) -> None:
    # read from the registries, which list names without importing any backend (the parser stays light)
    backends = [*reasoners.TINY_CHECKS.names(), *teachers.TINY_CHECKS.names()]
    p = sub.add_parser("doctor", help="check the install, load the tiny models, run one optimization step",
                       description="Without --backend: load the shipped tiny models and run one optimization step. "
                                   f"With --backend {'|'.join(backends)} --tiny: build tiny random-config models of that "
                                   "backend (no download) and run two optimization steps end to end.")
    p.add_argument("--backend", choices=backends, default=None,
                   help="check a real-model backend's code path on tiny random-config models")
    p.add_argument("--tiny", action="store_true", help="with --backend: use tiny random-config models (required)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from vlmteach.diagnostics import backend_checks, run_checks, versions

    if args.backend and not args.tiny:
        print("vlmteach doctor: --backend needs --tiny (real weights are checked by `vlmteach solve --reasoner ... "
              "--teacher ...`, see docs/real-models.md)")
        return 2
    for name, version in versions().items():
        print(f"{name:<16}{version}")
    print()
    t0 = time.perf_counter()
    checks = backend_checks(args.backend) if args.backend else run_checks()
    for c in checks:
        print(f"[{'ok' if c.ok else 'FAIL'}] {c.name:<20}{c.detail}")
    print(f"\n{sum(c.ok for c in checks)}/{len(checks)} checks passed in {time.perf_counter() - t0:.1f} s")
    return 0 if all(c.ok for c in checks) else 1
