"""The `cymangum` command (also `python -m cymangum`): argument parsing and dispatch only.

    cymangum invoke [APP]   one invocation in-process, prints the Lambda result and the body
    cymangum serve [APP]    a local HTTP server that turns each request into a Lambda event
    cymangum bench [APP]    warm invocation latency and cold start, optionally beside Mangum

APP is "module:attribute" (an ASGI app, or a Mangum instance); the default is the bundled demo app. The work is
done in cli_events (events, results, invoke), cli_serve and cli_bench, imported only for the chosen command.
Exit status: 0 success, 1 the handler or the run failed, 2 usage error (bad app, bad event file, bad option).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import cli_events  # standard library only at import time; orjson is imported when used

EPILOG = """sources: rest (API Gateway REST, payload 1.0), http (HTTP API, payload 2.0), http-v1 (HTTP API,
payload 1.0), url (Lambda Function URL), alb, alb-multi (ALB with multi-value headers), edge (Lambda@Edge)"""


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("cymangum")
    except Exception:
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "app",
        nargs="?",
        metavar="APP",
        help="module:attribute of an ASGI app or Mangum instance "
        "(default: the bundled demo app, cymangum.demo:app)",
    )
    common.add_argument(
        "--source",
        "-s",
        choices=cli_events.SOURCES,
        default=cli_events.DEFAULT_SOURCE,
        metavar="SOURCE",
        help=f"event source: {', '.join(cli_events.SOURCES)} (default: {cli_events.DEFAULT_SOURCE})",
    )
    common.add_argument(
        "--base-path",
        metavar="PATH",
        help="API Gateway base path / stage, e.g. /prod: part of "
        "the event path and the adapter's api_gateway_base_path",
    )
    common.add_argument(
        "--lifespan",
        choices=("auto", "on", "off"),
        help="the adapter's lifespan mode (default: the app's Mangum instance's, else auto)",
    )

    request = argparse.ArgumentParser(add_help=False)
    group = request.add_argument_group("request (ignored with --event)")
    group.add_argument("--method", "-X", help="HTTP method (default: GET, or POST with a body)")
    group.add_argument("--path", "-p", default="/", help="path, may include ?query (default: /)")
    group.add_argument("--query", "-q", action="append", metavar="K=V", help="query parameter (repeatable)")
    group.add_argument("--header", "-H", action="append", metavar="K:V", help="request header (repeatable)")
    body = group.add_mutually_exclusive_group()
    body.add_argument("--body", "-d", help="request body (text)")
    body.add_argument("--body-file", metavar="FILE", help="request body read from FILE ('-': stdin)")
    request.add_argument(
        "--event", "-e", metavar="FILE", help="a Lambda event JSON file to send as is ('-': stdin)"
    )

    parser = argparse.ArgumentParser(
        prog="cymangum",
        description="Run ASGI apps the way AWS Lambda runs them, through cymangum.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"cymangum {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    invoke = commands.add_parser(
        "invoke",
        parents=[common, request],
        epilog=EPILOG,
        help="invoke the handler once and print the Lambda result",
        description="Build an event (or read one), invoke the handler in this process, "
        "print the result as JSON and the decoded body when it is text.",
    )
    invoke.add_argument("--json", action="store_true", help="print only the Lambda result JSON")
    invoke.add_argument("--output", "-o", metavar="FILE", help="write the decoded response body to FILE")
    invoke.add_argument(
        "--verbose", "-v", action="store_true", help="show the adapter's INFO log lines and tracebacks"
    )

    serve = commands.add_parser(
        "serve",
        parents=[common],
        epilog=EPILOG,
        help="serve the app over HTTP, each request as a Lambda invocation",
        description="A local HTTP/1.1 server: every request becomes an event of the "
        "chosen source, the handler runs one invocation at a time, and the result "
        "becomes the HTTP response.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)")
    serve.add_argument("--verbose", "-v", action="store_true", help="show the adapter's INFO log lines")

    bench = commands.add_parser(
        "bench",
        parents=[common, request],
        epilog=EPILOG,
        help="measure warm invocation latency and cold start",
        description="Warm invocations in this process (median, p99, invocations/s) "
        "and cold starts in fresh subprocesses (import, construct, first invocation).",
    )
    bench.add_argument("--compare", choices=("mangum",), help="also measure Mangum, side by side")
    bench.add_argument(
        "--requests",
        "-n",
        type=_positive,
        default=10_000,
        metavar="N",
        help="warm invocations per adapter (default: 10000)",
    )
    bench.add_argument(
        "--cold-starts",
        type=_non_negative,
        default=10,
        metavar="N",
        help="cold-start subprocesses per adapter (default: 10; 0 skips them)",
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON on stdout")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        import orjson  # noqa: F401  (checked here so that every command fails the same clear way)
    except ModuleNotFoundError:
        print("cymangum: the command line needs orjson: pip install 'cymangum[cli]'", file=sys.stderr)
        return 2

    request = None
    if args.command in ("invoke", "bench"):
        given = [
            opt
            for opt, value in (
                ("--method", args.method),
                ("--query", args.query),
                ("--header", args.header),
                ("--body", args.body),
                ("--body-file", args.body_file),
            )
            if value
        ]
        if args.path != "/":
            given.append("--path")
        if args.event is not None and given:
            parser.error(f"--event sends the file as is: {', '.join(given)} cannot be used with it")
    try:
        if args.command in ("invoke", "bench") and args.event is None:
            request = cli_events.request_from_options(
                method=args.method,
                path=args.path,
                query=args.query,
                headers=args.header,
                body=cli_events.read_body_option(args.body, args.body_file),
            )
        if args.command == "invoke":
            cli_events.setup_logging(args.verbose)
            return cli_events.invoke(
                app=args.app,
                source=args.source,
                request=request,
                event_file=args.event,
                base_path=args.base_path,
                lifespan=args.lifespan,
                json_only=args.json,
                output=args.output,
                verbose=args.verbose,
            )
        if args.command == "serve":
            from . import cli_serve

            cli_events.setup_logging(args.verbose)
            return cli_serve.serve(
                app=args.app,
                source=args.source,
                host=args.host,
                port=args.port,
                base_path=args.base_path,
                lifespan=args.lifespan,
            )
        from . import cli_bench

        return cli_bench.bench(
            app=args.app,
            source=args.source,
            request=request,
            event_file=args.event,
            base_path=args.base_path,
            lifespan=args.lifespan,
            compare=args.compare,
            requests=args.requests,
            cold_starts=args.cold_starts,
            json_output=args.json,
        )
    except cli_events.CLIError as exc:
        print(f"cymangum {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cymangum {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `cymangum invoke | head`: stop quietly, as other tools do
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
