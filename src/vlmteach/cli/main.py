"""`vlmteach` entry point: builds the parser from the command modules and maps errors to exit codes."""

from __future__ import annotations

import argparse
import os
import sys
import warnings

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
from vlmteach.errors import VlmteachError, VlmteachWarning

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130
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


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Our warnings as one line; third-party ones only with VLMTEACH_WARNINGS=1 (they are about
    libraries' internals, which the user cannot act on)."""
    if issubclass(category, VlmteachWarning):
        print(f"vlmteach: warning: {message}", file=sys.stderr)
    elif os.environ.get("VLMTEACH_WARNINGS") == "1":
        print(f"vlmteach: warning from {filename}:{lineno}: {category.__name__}: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # each distinct warning once
        warnings.showwarning = _show_warning
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args) or EXIT_OK)
    except VlmteachError as exc:
        print(f"vlmteach: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the file system said no: one line naming the path, as for any user error
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"vlmteach: error: {where}{exc.strerror or exc} (check the path and its permissions)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        hint = getattr(args, "resume_hint", None)
        print("vlmteach: interrupted" + (f"; to continue: {hint(args)}" if hint else ""), file=sys.stderr)
        return EXIT_INTERRUPTED
