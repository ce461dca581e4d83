"""`vlmteach` entry point: builds the parser from the command modules and maps errors to exit codes."""

from __future__ import annotations

import argparse
import sys

from vlmteach import __version__
from vlmteach.cli import (
    bench_cmd,
    demo_cmd,
    doctor_cmd,
    report_cmd,
    score_cmd,
    solve_cmd,
    tasks_cmd,
    train_cmd,
)
from vlmteach.errors import VlmteachError

EXIT_OK, EXIT_USAGE = 0, 2
COMMANDS = (demo_cmd, solve_cmd, bench_cmd, report_cmd, tasks_cmd, score_cmd, train_cmd, doctor_cmd)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the problem (exit code 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vlmteach", description="VLM-as-Teacher test-time optimization for video "
                     "reasoning: tasks, scorers and benchmarks.")
    parser.add_argument("--version", action="version", version=f"vlmteach {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or EXIT_OK)
    except VlmteachError as exc:
        print(f"vlmteach: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("vlmteach: interrupted", file=sys.stderr)
        return 130
