"""The ``aep-jobs`` command: a demo on the emulator, and list, get, create and cancel.

Exit codes: 0 success, 1 the API or the connection failed, 2 invalid arguments or settings,
130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Sequence

import anyio

from .. import __version__
from ..config import (
    ALLOW_INSECURE_HTTP_VARIABLE,
    API_KEY_ALIAS,
    DEFAULT_MAX_CONNECTIONS,
    ENVIRONMENT_VARIABLES,
)
from ..errors import AepJobsError, ConfigurationError, RequestValidationError

__all__ = ["main"]

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
        logging.basicConfig(
            level=logging.DEBUG, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    try:
        return anyio.run(arguments.run, arguments)  # type: ignore[no-any-return]
    except ConfigurationError as error:
        _print_error("invalid settings: " + "; ".join(error.problems))
        return EXIT_USAGE
    except (RequestValidationError, UsageError) as error:
        _print_error(error)
        return EXIT_USAGE
    except AepJobsError as error:
        _print_error(error)
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader of the output went away (as `head` does): stop quietly. Standard output
        # is pointed at /dev/null so that the interpreter's final flush fails no more.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        _print_error("interrupted")
        return EXIT_INTERRUPTED


class UsageError(Exception):
    """The command cannot run as given: a file is missing, or an optional extra is not installed."""


def _print_error(error: BaseException | str) -> None:
    # One line: multi-line messages are joined.
    text = " ".join(str(error).split())
    print(f"aep-jobs: error: {text}", file=sys.stderr)


def _build_parser() -> argparse.ArgumentParser:
    from . import _bulk, _commands, _demo, _emulator

    env_names = ", ".join(ENVIRONMENT_VARIABLES.values())
    parser = argparse.ArgumentParser(
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
        "--jobs", type=_positive_int, default=50_000, help="jobs to seed (default 50000)"
    )
    demo.add_argument(
        "--segments",
        type=_positive_int,
        default=200,
        help="exports to create, one per segment (default 200)",
    )
    demo.add_argument(
        "--cancel",
        type=_non_negative_int,
        default=5,
        help="created exports to cancel, at most --segments (default 5)",
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
        "--limit", type=_positive_int, help="stop after this many jobs (default: all)"
    )
    listing.add_argument(
        "--page-size", type=_positive_int, default=None, help="jobs per request (default 100)"
    )
    listing.add_argument(
        "--format",
        choices=("auto", "table", "jsonl"),
        default="auto",
        help="a table, or one JSON object per line; auto picks a table on a terminal when "
        "rich is installed (default auto)",
    )
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

    emulator = commands.add_parser(
        "emulator",
        help="serve the API's emulator on loopback for your own manual tests",
        description=(
            "Serve the emulator of the export jobs API and of Adobe IMS's token endpoint on "
            "127.0.0.1 until interrupted, and print the settings that point a client at it."
        ),
        epilog=_EXIT_CODES,
    )
    emulator.add_argument(
        "--host",
        default="127.0.0.1",
        help="loopback address to listen on: 127.0.0.1, ::1 or localhost (default 127.0.0.1)",
    )
    emulator.add_argument(
        "--port", type=_non_negative_int, default=0, help="TCP port; 0 picks a free one (default 0)"
    )
    emulator.add_argument(
        "--jobs", type=_non_negative_int, default=1000, help="jobs to seed (default 1000)"
    )
    emulator.add_argument(
        "--latency", type=float, default=0.0, help="seconds added to every request (default 0)"
    )
    emulator.add_argument(
        "--processing-after",
        type=float,
        default=0.5,
        help="seconds until a created job is PROCESSING (default 0.5)",
    )
    emulator.add_argument(
        "--finish-after",
        type=float,
        default=2.0,
        help="seconds until a created job is SUCCEEDED or FAILED (default 2)",
    )
    emulator.add_argument(
        "--failure-share",
        type=float,
        default=0.1,
        help="share of created jobs that end FAILED, from 0 to 1 (default 0.1)",
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
        epilog="Exit codes: 0 every job was created, 1 some failed or are unknown, "
        "2 invalid arguments, settings or input, 130 interrupted.",
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
        metavar="R",
        help="requests sent per second at most (default: no limit)",
    )
    parser.add_argument(
        "--report",
        metavar="FILE.jsonl",
        help="write one JSON object per input: index, input, status, job_id, error, reconciled",
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
