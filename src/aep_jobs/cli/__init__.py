"""The ``aep-jobs`` command: a demo on the emulator, and list, get, create and cancel.

Exit codes: 0 success, 1 the API or the connection failed, 2 invalid arguments or settings,
130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import anyio

from .. import __version__
from ..config import ENVIRONMENT_VARIABLES
from ..errors import AepJobsError, ConfigurationError, RequestValidationError

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    parser = _build_parser()
    arguments = parser.parse_args(argv)
    try:
        return anyio.run(arguments.run, arguments)  # type: ignore[no-any-return]
    except (ConfigurationError, RequestValidationError) as error:
        _print_error(error)
        return EXIT_USAGE
    except AepJobsError as error:
        _print_error(error)
        return EXIT_FAILED
    except UsageError as error:
        _print_error(error)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _print_error("interrupted")
        return EXIT_INTERRUPTED


class UsageError(Exception):
    """The command cannot run as given: a file is missing, or an optional extra is not installed."""


def _print_error(error: BaseException | str) -> None:
    # One line: multi-line messages (such as a settings report) are joined.
    text = " ".join(str(error).split("\n"))
    print(f"aep-jobs: error: {text}", file=sys.stderr)


def _build_parser() -> argparse.ArgumentParser:
    from . import _commands, _demo

    env_names = ", ".join(ENVIRONMENT_VARIABLES.values())
    parser = argparse.ArgumentParser(
        prog="aep-jobs",
        description="Drive Adobe Experience Platform export jobs, or try it on the emulator.",
        epilog=(
            f"Without --emulator, commands read their settings from {env_names} "
            "(AEP_CLIENT_ID is read when AEP_API_KEY is not set)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"aep-jobs {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the main job end to end on a local emulator",
        description=(
            "Start the emulator on 127.0.0.1, stream every seeded job, create exports for "
            "many segments, cancel a few, wait for the rest, and print a summary."
        ),
    )
    demo.add_argument(
        "--jobs", type=_positive_int, default=50_000, help="jobs to seed (default 50000)"
    )
    demo.add_argument(
        "--segments",
        type=_positive_int,
        default=200,
        help="exports to create, one per segment (default 200)",
    )
    demo.add_argument(
        "--cancel", type=_non_negative_int, default=5, help="created exports to cancel (default 5)"
    )
    demo.add_argument(
        "--page-size",
        type=_positive_int,
        default=1000,
        help="jobs per page while listing (default 1000)",
    )
    demo.add_argument(
        "--concurrency",
        type=_positive_int,
        default=16,
        help="requests in flight while creating (default 16)",
    )
    demo.set_defaults(run=_demo.run_demo)

    listing = commands.add_parser("list", help="list export jobs, newest first")
    listing.add_argument(
        "--status", choices=("NEW", "SUCCEEDED", "FAILED"), help="only jobs with this status"
    )
    listing.add_argument(
        "--limit", type=_positive_int, help="stop after this many jobs (default: all)"
    )
    listing.add_argument(
        "--page-size", type=_positive_int, default=None, help="jobs per request (default 100)"
    )
    listing.add_argument(
        "--format",
        choices=("auto", "table", "jsonl"),
        default="auto",
        help="a table, or one JSON object per line; auto picks a table on a terminal "
        "(default auto)",
    )
    _add_connection_options(listing)
    listing.set_defaults(run=_commands.run_list)

    get = commands.add_parser("get", help="show one export job as JSON")
    get.add_argument("job_id", metavar="ID", help="the export job id")
    _add_connection_options(get)
    get.set_defaults(run=_commands.run_get)

    create = commands.add_parser("create", help="create an export job from a JSON body")
    create.add_argument(
        "--file",
        required=True,
        metavar="BODY.json",
        help="the request body, with the API's field names; '-' reads standard input",
    )
    create.add_argument(
        "--profile-instance-id", metavar="ID", help="sent as x-profile-instance-id, e.g. ups"
    )
    _add_connection_options(create)
    create.set_defaults(run=_commands.run_create)

    cancel = commands.add_parser("cancel", help="cancel export jobs")
    cancel.add_argument("job_ids", metavar="ID", nargs="+", help="export job ids")
    _add_connection_options(cancel)
    cancel.set_defaults(run=_commands.run_cancel)
    return parser


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="run against an in-process emulator instead of the settings in the environment",
    )
    parser.add_argument(
        "--emulator-jobs",
        type=_non_negative_int,
        default=1000,
        metavar="N",
        help="jobs to seed into the emulator with --emulator (default 1000)",
    )


def _positive_int(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected zero or a positive integer, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
