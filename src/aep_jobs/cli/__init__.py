"""The ``aep-jobs`` command: a demo on the emulator, and list, get, create, cancel and watch.

Exit codes: 0 success, 1 the API or the connection failed, 2 invalid arguments or settings,
130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn, TypeVar

import anyio

from .. import __version__
from ..config import (
    ALLOW_INSECURE_HTTP_VARIABLE,
    API_KEY_ALIAS,
    DEFAULT_MAX_CONNECTIONS,
    ENVIRONMENT_VARIABLES,
)
from ..errors import AepJobsError, ConfigurationError, RequestValidationError
from ..waiting import DEFAULT_MAX_POLL_INTERVAL, DEFAULT_POLL_INTERVAL, DEFAULT_WAIT_TIMEOUT

__all__ = ["main"]

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_EXIT_CODES = (
    "Exit codes: 0 success, 1 the API or the connection failed, "
    "2 invalid arguments or settings, 130 interrupted."
)

_BODY_EXAMPLE = """\
A minimal body:
  {"destination": {"datasetId": "5b7c86968f7b6501e21ba9df"},
   "schema": {"name": "_xdm.context.profile"},
   "filter": {"segments": [{"segmentId": "52c26d0d-45f2-47a2-ab30-ed06abc981ff",
                            "status": ["realized"]}]}}
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    parser = _build_parser()
    arguments = parser.parse_args(argv)
    if arguments.verbose:
        # The library's own records only: httpcore's and asyncio's DEBUG records would bury
        # them, and they come through still at WARNING.
        logging.basicConfig(
            level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        logging.getLogger("aep_jobs").setLevel(logging.DEBUG)
    try:
        return anyio.run(arguments.run, arguments)  # type: ignore[no-any-return]
    except ConfigurationError as error:
        print_error("invalid settings: " + "; ".join(error.problems))
        return EXIT_USAGE
    except (RequestValidationError, UsageError) as error:
        print_error(error)
        return EXIT_USAGE
    except AepJobsError as error:
        print_error(error)
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader of the output went away (as `head` does): stop quietly. Standard output
        # is pointed at /dev/null so that the interpreter's final flush fails no more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print_error("interrupted")
        return EXIT_INTERRUPTED


class UsageError(Exception):
    """The command cannot run as given: a file is missing, or an optional extra is not installed."""


def print_error(error: BaseException | str) -> None:
    """Print an error to standard error as one line, joining the lines of a longer message."""
    text = " ".join(str(error).split())
    print(f"aep-jobs: error: {text}", file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like the command's other errors."""

    def error(self, message: str) -> NoReturn:
        print_error(f"{message} (see '{self.prog} --help')")
        raise SystemExit(EXIT_USAGE)


def _build_parser() -> argparse.ArgumentParser:
    from . import _bulk, _commands, _demo, _emulator, _output, _watch

    env_names = ", ".join(ENVIRONMENT_VARIABLES.values())
    parser = _Parser(
        prog="aep-jobs",
        description="Drive Adobe Experience Platform export jobs, or try it on the emulator.",
        epilog=(
            "Without --emulator or --config, commands read their settings from "
            f"{env_names} ({API_KEY_ALIAS} is read when AEP_CLIENT_ID is not set; "
            "AEP_ACCESS_TOKEN, or AEP_CLIENT_SECRET for tokens from Adobe IMS; "
            f"{ALLOW_INSECURE_HTTP_VARIABLE}=1 allows plain http URLs). {_EXIT_CODES}"
        ),
    )
    parser.add_argument("--version", action="version", version=f"aep-jobs {__version__}")
    parser.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="log each request and retry to standard error (tokens are never logged)",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="list, create, cancel and wait for exports on a local emulator",
        description=(
            "Start the emulator on 127.0.0.1, stream every seeded job with a live count, "
            "create exports for many segments, cancel a few, wait for the rest to finish, "
            "and print a summary."
        ),
        epilog=_EXIT_CODES,
    )
    demo.add_argument(
        "--jobs",
        type=_positive_int,
        default=50_000,
        metavar="N",
        help="jobs to seed (default 50000)",
    )
    demo.add_argument(
        "--segments",
        type=_positive_int,
        default=200,
        metavar="N",
        help="exports to create, one per segment (default 200)",
    )
    demo.add_argument(
        "--cancel",
        type=_non_negative_int,
        default=5,
        metavar="N",
        help="created exports to cancel, at most --segments (default 5)",
    )
    demo.add_argument(
        "--page-size",
        type=_positive_int,
        default=1000,
        metavar="N",
        help="jobs per page while listing (default 1000)",
    )
    demo.add_argument(
        "--concurrency",
        type=_positive_int,
        default=16,
        metavar="N",
        help="requests in flight while creating and waiting (default 16)",
    )
    demo.set_defaults(run=_demo.run_demo)

    listing = commands.add_parser(
        "list",
        help="list export jobs, newest first",
        description="List export jobs, newest first, page after page.",
        epilog=_EXIT_CODES,
    )
    listing.add_argument(
        "--status",
        choices=("NEW", "SUCCEEDED", "FAILED"),
        help="only jobs with this status (the API filters on these three only)",
    )
    listing.add_argument(
        "--limit", type=_positive_int, metavar="N", help="stop after N jobs (default: all)"
    )
    listing.add_argument(
        "--page-size",
        type=_positive_int,
        default=None,
        metavar="N",
        help="jobs per request (default 100)",
    )
    _add_format_options(listing, _output.DEFAULT_LIST_FIELDS)
    _add_connection_options(listing)
    listing.set_defaults(run=_commands.run_list)

    get = commands.add_parser(
        "get",
        help="show one export job as JSON",
        description="Fetch one export job and print it as indented JSON.",
        epilog=_EXIT_CODES,
    )
    get.add_argument("job_id", metavar="ID", help="the export job id, e.g. 722")
    _add_connection_options(get)
    get.set_defaults(run=_commands.run_get)

    create = commands.add_parser(
        "create",
        help="create an export job from a JSON body",
        description="Create an export job from a JSON request body and print the new job.",
        epilog=_BODY_EXAMPLE + _EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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

    cancel = commands.add_parser(
        "cancel",
        help="cancel export jobs",
        description=(
            "Ask the server to cancel each export job; one failure does not stop the others."
        ),
        epilog=_EXIT_CODES,
    )
    cancel.add_argument("job_ids", metavar="ID", nargs="+", help="export job ids")
    _add_connection_options(cancel)
    cancel.set_defaults(run=_commands.run_cancel)

    watch = commands.add_parser(
        "watch",
        help="show the live status of export jobs until they finish",
        description=(
            "Poll export jobs until each is SUCCEEDED, FAILED or CANCELLED. On a terminal, a "
            "live display shows the jobs still running and a progress bar, and each job is "
            "printed as it finishes; piped, each finished job is written as one JSON line."
        ),
        epilog="Exit codes: 0 every job SUCCEEDED, 1 a job FAILED or was CANCELLED, or could "
        "not be polled or did not finish in time, 2 invalid arguments or settings, "
        "130 interrupted.",
    )
    watch.add_argument("job_ids", metavar="ID", nargs="+", help="export job ids")
    watch.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_WAIT_TIMEOUT,
        metavar="SECONDS",
        help="seconds to wait for each job before giving up on it "
        f"(default {DEFAULT_WAIT_TIMEOUT:.0f}, 6 hours)",
    )
    watch.add_argument(
        "--poll-interval",
        type=_positive_float,
        default=DEFAULT_POLL_INTERVAL,
        metavar="SECONDS",
        help="seconds between the first two polls of a job, the first being at once; each "
        "wait after that is 1.5 times longer "
        f"(default {DEFAULT_POLL_INTERVAL:g})",
    )
    watch.add_argument(
        "--max-poll-interval",
        type=_positive_float,
        default=DEFAULT_MAX_POLL_INTERVAL,
        metavar="SECONDS",
        help="the maximum wait between two polls of a job, in seconds "
        f"(default {DEFAULT_MAX_POLL_INTERVAL:g})",
    )
    watch.add_argument(
        "--max-concurrency",
        type=_connection_count,
        default=8,
        metavar="N",
        help="jobs polled at a time at most, up to 100 (default 8)",
    )
    _add_format_options(watch, _output.DEFAULT_WATCH_FIELDS)
    _add_connection_options(watch)
    watch.set_defaults(run=_watch.run_watch)

    emulator = commands.add_parser(
        "emulator",
        help="serve the API's emulator on loopback for your own manual tests",
        description=(
            "Serve the emulator of the export jobs API and of Adobe IMS's token endpoint on "
            "127.0.0.1 until Ctrl-C or SIGTERM, and print the settings that point a client at it."
        ),
        epilog=_EXIT_CODES,
    )
    emulator.add_argument(
        "--host",
        default="127.0.0.1",
        help="loopback address to listen on: 127.0.0.1, ::1 or localhost (default 127.0.0.1)",
    )
    emulator.add_argument(
        "--port",
        type=_non_negative_int,
        default=0,
        metavar="PORT",
        help="TCP port; 0 picks a free one (default 0)",
    )
    emulator.add_argument(
        "--jobs",
        type=_non_negative_int,
        default=1000,
        metavar="N",
        help="jobs to seed (default 1000)",
    )
    emulator.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="seconds added to every request (default 0)",
    )
    emulator.add_argument(
        "--processing-after",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="seconds until a created job is PROCESSING (default 0.5)",
    )
    emulator.add_argument(
        "--finish-after",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="seconds until a created job is SUCCEEDED or FAILED (default 2)",
    )
    emulator.add_argument(
        "--failure-share",
        type=float,
        default=0.1,
        metavar="SHARE",
        help="share of created jobs that end FAILED, from 0 to 1 (default 0.1)",
    )
    emulator.add_argument(
        "--fault",
        dest="faults",
        action="append",
        type=_argument_type(_emulator.parse_fault),
        metavar="KIND@SHARE",
        help=_emulator.FAULT_HELP,
    )
    emulator.add_argument(
        "--rate-limit",
        type=_positive_float,
        metavar="RATE",
        help="respond 429 beyond RATE requests per second per organization (default: no limit)",
    )
    emulator.add_argument(
        "--burst",
        type=_positive_int,
        metavar="N",
        help="with --rate-limit, requests accepted at once before the limit applies "
        "(default: RATE rounded up)",
    )
    emulator.set_defaults(run=_emulator.run_emulator)

    bulk_create = commands.add_parser(
        "bulk-create",
        help="create one export job per segment id, many at a time",
        description=(
            "Create one export job per segment id, read one id a line from a file or "
            "standard input (blank lines and # comments are skipped, duplicates are reported "
            "and sent once), with a progress bar and a final summary. A 429 pauses every "
            "request until the server's Retry-After, and halves the requests in flight."
        ),
        epilog="Exit codes: 0 every job was created (and, with --wait, SUCCEEDED), 1 some "
        "failed or are unknown, 2 invalid arguments, settings or input, 130 interrupted.",
    )
    bulk_create.add_argument(
        "--file",
        required=True,
        metavar="SEGMENTS.txt",
        help="the segment ids, one a line; '-' reads standard input",
    )
    bulk_create.add_argument(
        "--dataset-id",
        required=True,
        type=_text,
        metavar="ID",
        help="the dataset that receives the exports",
    )
    bulk_create.add_argument(
        "--schema",
        type=_text,
        default="_xdm.context.profile",
        metavar="NAME",
        help="the schema of the dataset (default _xdm.context.profile)",
    )
    bulk_create.add_argument(
        "--segment-status",
        action="append",
        choices=("realized", "existing", "exited"),
        help="profiles of each segment to export; repeat for several (default: the "
        "server's, realized and possibly existing)",
    )
    bulk_create.add_argument(
        "--wait",
        action="store_true",
        help="after the last request, wait for every created job to finish, and exit 1 "
        "unless each one SUCCEEDED",
    )
    bulk_create.add_argument(
        "--wait-timeout",
        type=_positive_float,
        default=DEFAULT_WAIT_TIMEOUT,
        metavar="SECONDS",
        help="with --wait, seconds to wait for each job before giving up on it "
        f"(default {DEFAULT_WAIT_TIMEOUT:.0f}, 6 hours)",
    )
    bulk_create.add_argument(
        "--reconcile",
        action="store_true",
        help="after the last request, list the jobs to find out whether each create of "
        "unknown outcome created its job",
    )
    _add_bulk_options(bulk_create)
    _add_connection_options(bulk_create)
    bulk_create.set_defaults(run=_bulk.run_bulk_create)

    bulk_cancel = commands.add_parser(
        "bulk-cancel",
        help="cancel many export jobs at a time",
        description=(
            "Cancel export jobs, many at a time: the ids read one a line from a file or "
            "standard input, or every job that a listing with --status returns, cancelled "
            "as the listing is read."
        ),
        epilog="Exit codes: 0 every job was cancelled, 1 some failed, "
        "2 invalid arguments, settings or input, 130 interrupted.",
    )
    source = bulk_cancel.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--file", metavar="IDS.txt", help="the job ids, one a line; '-' reads standard input"
    )
    source.add_argument(
        "--status",
        choices=("NEW",),
        help="cancel every job with this status that the listing returns",
    )
    _add_bulk_options(bulk_cancel)
    _add_connection_options(bulk_cancel)
    bulk_cancel.set_defaults(run=_bulk.run_bulk_cancel)
    return parser


def _add_bulk_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-concurrency",
        type=_connection_count,
        default=32,
        metavar="N",
        help="requests in flight at most, up to 100, the client's connections (default 32)",
    )
    parser.add_argument(
        "--max-per-second",
        type=_positive_float,
        metavar="RATE",
        help="requests sent per second at most (default: no limit)",
    )
    parser.add_argument(
        "--report",
        metavar="FILE.jsonl",
        help="write one JSON object per input: index, input, status, job_id, error, reconciled",
    )


def _add_format_options(parser: argparse.ArgumentParser, table_fields: Sequence[str]) -> None:
    from ._output import fields_help, parse_fields

    parser.add_argument(
        "--format",
        choices=("auto", "table", "jsonl"),
        default="auto",
        help="a table, or one JSON object per line; auto picks a table when standard output "
        "is a terminal and rich is installed (default auto)",
    )
    parser.add_argument(
        "--fields",
        type=_argument_type(parse_fields),
        metavar="NAME,...",
        help=f"the table's columns, or the keys of each JSON line (default: "
        f"{','.join(table_fields)} for a table, the API's whole job for JSON lines). "
        f"Fields: {fields_help()}",
    )


def _add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="run against a new in-process emulator, which lasts for this command only, "
        "instead of the settings in the environment",
    )
    parser.add_argument(
        "--emulator-jobs",
        type=_non_negative_int,
        default=1000,
        metavar="N",
        help="jobs to seed into the emulator with --emulator (default 1000)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="read the settings from the JSON configuration file of the aepp package "
        "instead of the environment",
    )


def _argument_type(parse: Callable[[str], T]) -> Callable[[str], T]:
    """Turn a parser that raises ValueError into an argparse type with the same message."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert


def _text(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a non-empty value")
    return text


def _connection_count(text: str) -> int:
    value = _positive_int(text)
    if value > DEFAULT_MAX_CONNECTIONS:
        raise argparse.ArgumentTypeError(
            f"expected at most {DEFAULT_MAX_CONNECTIONS}, the connections of a client, got {text!r}"
        )
    return value


def _positive_int(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
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
