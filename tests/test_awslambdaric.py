"""End to end through the real Lambda runtime interface client (``awslambdaric``).

A real ``python -m awslambdaric ric_apps.<module>.<handler>`` process runs against the Runtime API emulator in
``lambda_runtime_api.py``: it long-polls for events, builds a real ``LambdaContext``, calls the handler (a FastAPI
app wrapped in the adapter's ``Mangum``), JSON-encodes the result and posts it back, exactly as on Lambda. Every
result must equal what the same handler returns when called in the test process; errors must arrive as the
runtime's init or invocation errors, with the adapter's exception type and message. The runtime processes run
with ``-W error``, like this test session.

The events are the genuine AWS events of the shared corpus (see ``_events_dir``), plus two synthetic Lambda@Edge
events modeled on AWS's documentation (the corpus has none), plus variants of genuine events that ask the app for
a binary response or an exception.
"""

from __future__ import annotations

import copy
import http.client
import importlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("awslambdaric")
pytest.importorskip("fastapi")

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:  # works whatever pytest's import mode and whether tests/ is a package
    sys.path.insert(0, str(TESTS_DIR))

from lambda_runtime_api import Invocation, LambdaRuntimeAPI, RuntimeProcess  # noqa: E402
from tests.events import load_event  # noqa: E402

# The runtime process picks its core the way the dispatcher does here (CYMANGUM_* variables pass through), so
# these tests run once, with that core, rather than once per core like the in-process suite.
pytestmark = pytest.mark.one_impl

ADAPTER = os.environ.get("RIC_APPS_ADAPTER", "cymangum")
FUNCTION_TIMEOUT = 30.0  # seconds: the function timeout the emulator puts in each deadline
ANSWER_TIMEOUT = 20.0  # seconds a test waits for an answer (a dead runtime process fails the wait at once)
CONTEXT_HEADER = "x-lambda-context"  # set by ric_apps.echo_app


# ---------------------------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------------------------

# Every HTTP proxy event of the corpus, by source (how AWS sends it; the adapter infers the same from the shape).
HTTP_EVENTS: dict[str, list[str]] = {
    "rest-v1": [
        "go/apigw-request.json",
        "go/apigw-restapi-openapi-request.json",
        "powertools/apiGatewayProxyEventPrincipalId.json",  # no headers, no body
        "powertools/apiGatewayProxyEvent_noVersionAuth.json",  # isBase64Encoded on a body that is not base64
    ],
    "http-v1": [  # HTTP API, payload format 1.0 ("version": "1.0")
        "powertools/apiGatewayProxyEvent.json",
        "powertools/apiGatewayProxyEventNoOrigin.json",
        "powertools/apiGatewayProxyOtherEvent.json",
        "powertools/apiGatewayProxyEventAnotherPath.json",  # isBase64Encoded on a body that is not base64
        "powertools/apiGatewayProxyEventPathTrailingSlash.json",  # same
    ],
    "http-v2": [
        "go/apigw-v2-request-iam.json",
        "go/apigw-v2-request-jwt-authorizer.json",
        "go/apigw-v2-request-lambda-authorizer.json",
        "go/apigw-v2-request-no-authorizer.json",
        "powertools/apiGatewayProxyV2Event.json",
        "powertools/apiGatewayProxyV2EventPathTrailingSlash.json",
        "powertools/apiGatewayProxyV2Event_GET.json",
        "powertools/apiGatewayProxyV2IamEvent.json",
        "powertools/apiGatewayProxyV2LambdaAuthorizerEvent.json",
        "powertools/apiGatewayProxyV2OtherGetEvent.json",
        "powertools/apiGatewayProxyV2SchemaMiddlwareInvalidEvent.json",
        "powertools/apiGatewayProxyV2SchemaMiddlwareValidEvent.json",
    ],
    "function-url": [
        "go/lambda-urls-request.json",
        "powertools/lambdaFunctionUrlEvent.json",
        "powertools/lambdaFunctionUrlEventPathTrailingSlash.json",
        "powertools/lambdaFunctionUrlEventWithHeaders.json",
        "powertools/lambdaFunctionUrlIAMEvent.json",
    ],
    "alb": [
        "go/alb-lambda-target-request-headers-only.json",
        "powertools/albEvent.json",
        "powertools/albEventPathTrailingSlash.json",
    ],
    "alb-multi-value": [
        "go/alb-lambda-target-request-multivalue-headers.json",
        "powertools/albMultiValueHeadersEvent.json",
        "powertools/albMultiValueQueryStringEvent.json",
    ],
}
# Events that the app may legitimately never see (the adapter rejects the body before calling it).
BASE64_TRAPS = {
    "powertools/apiGatewayProxyEvent_noVersionAuth.json",
    "powertools/apiGatewayProxyEventAnotherPath.json",
    "powertools/apiGatewayProxyEventPathTrailingSlash.json",
}
# The corpus's traps: events that are not HTTP proxy events at all (NOTICE.md).
NON_HTTP_EVENTS: dict[str, list[str]] = {
    "authorizer": [
        "go/apigw-custom-auth-request-type-request.json",
        "go/apigw-custom-auth-request.json",
        "go/apigw-v2-custom-authorizer-v1-request.json",
        "go/apigw-v2-custom-authorizer-v2-request.json",
        "powertools/apiGatewayAuthorizerRequestEvent.json",
        "powertools/apiGatewayAuthorizerTokenEvent.json",
        "powertools/apiGatewayAuthorizerV2Event.json",
    ],
    "websocket": [
        "go/apigw-websocket-request-disconnect.json",
        "go/apigw-websocket-request-send-message.json",
        "go/apigw-websocket-request.json",
    ],
    "vpc-lattice": [
        "powertools/vpcLatticeEvent.json",
        "powertools/vpcLatticeEventPathTrailingSlash.json",
        "powertools/vpcLatticeEventV2PathTrailingSlash.json",
        "powertools/vpcLatticeV2Event.json",
        "powertools/vpcLatticeV2EventWithHeaders.json",
    ],
}


def edge_viewer_request() -> dict[str, Any]:
    """A CloudFront viewer-request event, in the shape of AWS's "Lambda@Edge event structure" documentation."""
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": "EDFDVBD6EXAMPLE",
                        "eventType": "viewer-request",
                        "requestId": "4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==",
                    },
                    "request": {
                        "clientIp": "203.0.113.178",
                        "headers": {
                            "host": [{"key": "Host", "value": "d111111abcdef8.cloudfront.net"}],
                            "user-agent": [{"key": "User-Agent", "value": "curl/8.5.0"}],
                            "accept": [{"key": "accept", "value": "*/*"}],
                            "cookie": [
                                {"key": "Cookie", "value": "session=abc123"},
                                {"key": "Cookie", "value": "theme=dark"},
                            ],
                            "cloudfront-forwarded-proto": [
                                {"key": "CloudFront-Forwarded-Proto", "value": "https"}
                            ],
                        },
                        "method": "GET",
                        "querystring": "size=LARGE&color=red&color=blue",
                        "uri": "/products/list",
                    },
                }
            }
        ]
    }


def edge_origin_request_with_body() -> dict[str, Any]:
    """A CloudFront origin-request event with the body included (``includeBody``), per AWS's documentation."""
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": "d111111abcdef8.cloudfront.net",
                        "distributionId": "EDFDVBD6EXAMPLE",
                        "eventType": "origin-request",
                        "requestId": "R2qcmC5mbBDIZ2FQZ3nm1Ytz8OK1VZQz3rFMRgCbGeUlwKbeTCAqEQ==",
                    },
                    "request": {
                        "body": {
                            "action": "read-only",
                            "data": "eyJpdGVtIjogIndpZGdldCIsICJxdWFudGl0eSI6IDJ9",  # {"item": "widget", "quantity": 2}
                            "encoding": "base64",
                            "inputTruncated": False,
                        },
                        "clientIp": "203.0.113.178",
                        "headers": {
                            "x-forwarded-for": [{"key": "X-Forwarded-For", "value": "203.0.113.178"}],
                            "user-agent": [{"key": "User-Agent", "value": "Amazon CloudFront"}],
                            "via": [
                                {
                                    "key": "Via",
                                    "value": "2.0 2afae0d44e2540f472c0635ab62c232b.cloudfront.net (CloudFront)",
                                }
                            ],
                            "host": [{"key": "Host", "value": "example.org"}],
                            "content-type": [{"key": "Content-Type", "value": "application/json"}],
                            "cache-control": [{"key": "Cache-Control", "value": "no-cache, cf-no-cache"}],
                        },
                        "method": "POST",
                        "origin": {
                            "custom": {
                                "customHeaders": {},
                                "domainName": "example.org",
                                "keepaliveTimeout": 5,
                                "path": "",
                                "port": 443,
                                "protocol": "https",
                                "readTimeout": 30,
                                "sslProtocols": ["TLSv1", "TLSv1.1", "TLSv1.2"],
                            }
                        },
                        "querystring": "",
                        "uri": "/orders",
                    },
                }
            }
        ]
    }


def _with_path(event: dict[str, Any], path: str) -> dict[str, Any]:
    """The same event addressed to another path, wherever its source keeps the path."""
    event = copy.deepcopy(event)
    if "Records" in event:
        event["Records"][0]["cf"]["request"]["uri"] = path
    elif event.get("version") == "2.0":
        event["rawPath"] = path
        event["requestContext"]["http"]["path"] = path
    else:
        event["path"] = path
    return event


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[], dict[str, Any]]
    reaches_app: bool = True  # the app runs and answers normally (so it reports the context it saw)


def _file_case(source: str, name: str) -> Case:
    return Case(f"{source}:{Path(name).stem}", lambda: load_event(name), reaches_app=name not in BASE64_TRAPS)


HTTP_CASES = [_file_case(source, name) for source, names in HTTP_EVENTS.items() for name in names]
HTTP_CASES += [
    Case("edge:viewer-request", edge_viewer_request),
    Case("edge:origin-request-body", edge_origin_request_with_body),
    # Binary responses (base64 in the result) for each result shape.
    Case("rest-v1:binary", lambda: _with_path(load_event("go/apigw-request.json"), "/download.bin")),
    Case(
        "http-v1:binary", lambda: _with_path(load_event("powertools/apiGatewayProxyEvent.json"), "/download.bin")
    ),
    Case(
        "http-v2:binary", lambda: _with_path(load_event("powertools/apiGatewayProxyV2Event.json"), "/download.bin")
    ),
    Case("function-url:binary", lambda: _with_path(load_event("go/lambda-urls-request.json"), "/download.bin")),
    Case("alb:binary", lambda: _with_path(load_event("powertools/albEvent.json"), "/download.bin")),
    Case(
        "alb-multi-value:binary",
        lambda: _with_path(load_event("powertools/albMultiValueHeadersEvent.json"), "/download.bin"),
    ),
    Case("edge:binary", lambda: _with_path(edge_viewer_request(), "/download.bin")),
    # The app raises: the adapter answers 500 (the error does not reach the runtime).
    Case(
        "rest-v1:app-exception",
        lambda: _with_path(load_event("go/apigw-request.json"), "/raise"),
        reaches_app=False,
    ),
    Case(
        "http-v2:app-exception",
        lambda: _with_path(load_event("powertools/apiGatewayProxyV2Event.json"), "/raise"),
        reaches_app=False,
    ),
    Case(
        "alb:app-exception",
        lambda: _with_path(load_event("powertools/albEvent.json"), "/raise"),
        reaches_app=False,
    ),
    Case("edge:app-exception", lambda: _with_path(edge_viewer_request(), "/raise"), reaches_app=False),
]
NON_HTTP_CASES = [
    Case(f"{kind}:{Path(name).stem}", (lambda name=name: load_event(name)), reaches_app=False)
    for kind, names in NON_HTTP_EVENTS.items()
    for name in names
]


# ---------------------------------------------------------------------------------------------------------------
# Outcomes: a result or an error, comparable between the runtime process and the test process
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    result: Any = None
    error_type: str | None = None
    error_message: str | None = None
    context: dict[str, Any] | None = field(default=None, compare=False)  # what the app saw of the context


class InProcessContext:
    """A stand-in Lambda context for the in-process call (the app's context report is not compared)."""

    aws_request_id = "in-process"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:in-process"
    function_name = "in-process"
    function_version = "$LATEST"
    memory_limit_in_mb = "128"
    log_group_name = "/aws/lambda/in-process"
    log_stream_name = "in-process"

    def get_remaining_time_in_millis(self) -> int:
        return int(FUNCTION_TIMEOUT * 1000)


def _pop_context(result: Any) -> dict[str, Any] | None:
    """Remove the app's ``x-lambda-context`` header from a result (any source's shape) and decode it."""
    found = None
    if isinstance(result, dict):
        for key in ("headers", "multiValueHeaders"):
            headers = result.get(key)
            if not isinstance(headers, dict):
                continue
            for name in [name for name in headers if name.lower() == CONTEXT_HEADER]:
                value = headers.pop(name)
                if isinstance(value, list):  # multi-value list, or Lambda@Edge [{"key", "value"}]
                    value = value[0]["value"] if isinstance(value[0], dict) else value[0]
                found = json.loads(value)
    return found


def run_in_process(handler: Callable[[Any, Any], Any], event: dict[str, Any]) -> Outcome:
    try:
        result = handler(copy.deepcopy(event), InProcessContext())
    except Exception as exc:
        return Outcome(error_type=type(exc).__name__, error_message=str(exc))
    result = json.loads(json.dumps(result))  # what crossing the Runtime API does to it
    context = _pop_context(result)
    return Outcome(result=result, context=context)


def outcome_of(invocation: Any) -> Outcome:
    if invocation.succeeded:
        result = invocation.result
        context = _pop_context(result)
        return Outcome(result=result, context=context)
    error = invocation.error
    assert isinstance(error, dict), error
    # awslambdaric 4.x posts invocation errors through aws-lambda-cpp, which sends the type in the body only
    # (init errors, posted from Python, carry the Lambda-Runtime-Function-Error-Type header too).
    assert invocation.error_type in (None, error["errorType"])
    assert error.get("requestId") == invocation.request_id
    return Outcome(error_type=error["errorType"], error_message=error["errorMessage"])


# ---------------------------------------------------------------------------------------------------------------
# Runtime processes
# ---------------------------------------------------------------------------------------------------------------


def _adapter_pythonpath() -> list[str]:
    """Where the test process imports the adapter from, so that the runtime process imports the same one."""
    spec = importlib.util.find_spec(ADAPTER)
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations))).parent
    return [] if "site-packages" in root.parts else [str(root)]


@dataclass
class Function:
    """An emulator and the runtime process serving it."""

    api: LambdaRuntimeAPI
    runtime: RuntimeProcess

    def invoke(self, event: Any, **kwargs: Any) -> Invocation:
        """Invoke and wait; fails at once, with the runtime's log, if the runtime process exits first."""
        return self.runtime.invoke(event, ANSWER_TIMEOUT, **kwargs)


class Functions:
    """Starts emulators and runtime processes, and stops every one of them at :meth:`close`."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._apis: list[LambdaRuntimeAPI] = []
        self._runtimes: list[RuntimeProcess] = []

    def emulator(self, **options: Any) -> LambdaRuntimeAPI:
        options.setdefault("function_timeout", FUNCTION_TIMEOUT)
        api = LambdaRuntimeAPI(**options)
        self._apis.append(api)
        return api.start()

    def runtime(
        self, api: LambdaRuntimeAPI, handler: str, env: dict[str, str] | None = None
    ) -> RuntimeProcess:
        runtime = RuntimeProcess.start(
            api,
            handler,
            task_root=TESTS_DIR,
            log_path=self._tmp.mktemp("runtime") / "runtime.log",
            pythonpath=_adapter_pythonpath(),
            env={"RIC_APPS_ADAPTER": ADAPTER, **(env or {})},
            python_args=["-W", "error"],  # warnings are errors in the runtime process too
        )
        self._runtimes.append(runtime)
        return runtime

    def start(self, handler: str, env: dict[str, str] | None = None, **options: Any) -> Function:
        api = self.emulator(**options)
        return Function(api, self.runtime(api, handler, env))

    def close(self) -> None:
        errors: list[Any] = []
        try:
            for runtime in reversed(self._runtimes):
                runtime.stop()
        finally:
            for api in reversed(self._apis):
                api.close()
                errors += api.server_errors
        assert not errors, f"the Runtime API emulator failed internally: {errors!r}"


@pytest.fixture(scope="module")
def functions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Functions]:
    factory = Functions(tmp_path_factory)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture(scope="module")
def echo_function(functions: Functions) -> Function:
    return functions.start("ric_apps.echo_app.handler")


@pytest.fixture(scope="module")
def echo_handler() -> Any:
    return importlib.import_module("ric_apps.echo_app").handler


def _check_context(context: dict[str, Any], invocation: Any, function: Function) -> None:
    """The app saw the real context of this invocation, built by awslambdaric from the Runtime API headers."""
    assert context["context_class"] == "awslambdaric.lambda_context.LambdaContext"
    assert context["aws_request_id"] == invocation.request_id
    assert context["invoked_function_arn"] == invocation.function_arn == function.api.function_arn
    assert context["function_name"] == function.api.function_name
    assert context["function_version"] == "$LATEST"
    assert context["memory_limit_in_mb"] == "128"
    assert context["log_group_name"] == f"/aws/lambda/{function.api.function_name}"
    assert context["trace_id"] == invocation.trace_id
    assert context["pid"] == function.runtime.pid  # it ran in the runtime process, not here
    remaining = context["remaining_ms"]
    assert 0 < remaining <= invocation.function_timeout * 1000
    # remaining = deadline - (time when it was asked); now_ms was read just after.
    assert 0 <= context["now_ms"] + remaining - invocation.deadline_ms <= 1000


# ---------------------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", HTTP_CASES, ids=[case.id for case in HTTP_CASES])
def test_http_event_through_the_runtime_client(
    case: Case, echo_function: Function, echo_handler: Any
) -> None:
    event = case.make()
    expected = run_in_process(echo_handler, event)
    invocation = echo_function.invoke(event)
    actual = outcome_of(invocation)

    assert actual == expected
    assert (actual.context is None) == (expected.context is None)
    if case.reaches_app:
        assert actual.context is not None, actual
        assert actual.result["statusCode" if "statusCode" in actual.result else "status"] == 200
    if actual.context is not None:
        _check_context(actual.context, invocation, echo_function)


@pytest.mark.parametrize("case", NON_HTTP_CASES, ids=[case.id for case in NON_HTTP_CASES])
def test_non_http_event_through_the_runtime_client(
    case: Case, echo_function: Function, echo_handler: Any
) -> None:
    """The corpus's traps: whatever the adapter does with them in-process (an error, or a response), the runtime
    reports the same."""
    event = case.make()
    expected = run_in_process(echo_handler, event)
    actual = outcome_of(echo_function.invoke(event))
    assert actual == expected


def test_unrecognized_event_is_an_invocation_error(echo_function: Function, echo_handler: Any) -> None:
    event = load_event("powertools/apiGatewayAuthorizerTokenEvent.json")
    with pytest.raises(RuntimeError) as raised:
        echo_handler(copy.deepcopy(event), InProcessContext())

    invocation = echo_function.invoke(event)
    assert invocation.status == "failed"
    assert invocation.error["errorType"] == type(raised.value).__name__
    assert invocation.error["errorMessage"] == str(raised.value)
    assert echo_function.runtime.returncode is None  # the runtime keeps serving


def test_warm_invocations_share_one_runtime_process(echo_function: Function, echo_handler: Any) -> None:
    event = load_event("powertools/apiGatewayProxyV2Event.json")
    expected = run_in_process(echo_handler, event)
    connections = echo_function.api.connections_opened
    invocations = [echo_function.invoke(event) for _ in range(20)]
    assert echo_function.api.connections_opened == connections  # one kept-alive connection for all of them
    assert len({invocation.request_id for invocation in invocations}) == 20
    for invocation in invocations:
        actual = outcome_of(invocation)
        assert actual == expected
        assert actual.context is not None
        _check_context(actual.context, invocation, echo_function)
        assert invocation.deliveries == 1


@pytest.mark.parametrize("name", ["handler", "wrapped_handler"], ids=["reraise-mode", "wrapper"])
def test_app_exception_reraised_is_an_invocation_error(name: str, functions: Functions) -> None:
    handler = getattr(importlib.import_module("ric_apps.raising_app"), name)
    event = load_event("go/apigw-request.json")
    expected = run_in_process(handler, event)
    assert expected.error_type == "InventoryError", expected

    function = functions.start(f"ric_apps.raising_app.{name}")
    for _ in range(2):  # an invocation error does not end the runtime
        invocation = function.invoke(event)
        assert outcome_of(invocation) == expected
        assert invocation.error["errorType"] == "InventoryError"
        assert invocation.error["errorMessage"] == "no item at /hello/world"
        stack = invocation.error["stackTrace"]
        assert any("raising_app.py" in frame for frame in stack), stack
        assert invocation.xray_error_cause  # awslambdaric sends the X-Ray cause header too
    assert function.runtime.returncode is None


def test_lifespan_startup_failure_is_an_invocation_error(functions: Functions) -> None:
    handler = importlib.import_module("ric_apps.lifespan_failure").handler
    event = load_event("powertools/apiGatewayProxyV2Event.json")
    expected = run_in_process(handler, event)
    assert expected.error_type == "LifespanFailure", expected
    assert "database unreachable" in (expected.error_message or "")

    function = functions.start("ric_apps.lifespan_failure.handler")
    assert outcome_of(function.invoke(event)) == expected


class DeadlineContext(InProcessContext):
    """An in-process context with a real deadline, like awslambdaric's."""

    def __init__(self, timeout_s: float) -> None:
        self.deadline_ms = int(time.time() * 1000) + int(timeout_s * 1000)

    def get_remaining_time_in_millis(self) -> int:
        return max(self.deadline_ms - int(time.time() * 1000), 0)


def test_deadline_margin_uses_the_real_remaining_time(functions: Functions) -> None:
    """``deadline_margin_ms``: the adapter reads awslambdaric's context and answers 504 before the timeout."""
    module = importlib.import_module("ric_apps.slow_app")
    timeout = 2.0
    event = load_event("go/apigw-request.json")
    expected_result = module.handler(copy.deepcopy(event), DeadlineContext(timeout))
    expected = Outcome(result=json.loads(json.dumps(expected_result)))
    assert expected.result["statusCode"] == 504, expected

    function = functions.start("ric_apps.slow_app.handler", function_timeout=timeout)
    invocation = function.invoke(event)
    assert outcome_of(invocation) == expected
    assert invocation.completed_at is not None and invocation.delivered_at is not None
    elapsed = invocation.completed_at - invocation.delivered_at
    budget = timeout - module.MARGIN_MS / 1000
    assert budget * 0.8 <= elapsed < timeout, elapsed


def test_lifespan_once_keeps_state_across_invocations(functions: Functions, tmp_path: Path) -> None:
    log = tmp_path / "lifespan.log"
    function = functions.start("ric_apps.lifespan_once_app.handler", env={"RIC_APPS_LIFESPAN_LOG": str(log)})
    event = load_event("go/apigw-request.json")
    bodies = [json.loads(function.invoke(event).result["body"]) for _ in range(3)]
    assert bodies == [{"invocations": n, "pid": function.runtime.pid} for n in (1, 2, 3)]
    assert log.read_text() == f"startup {function.runtime.pid}\n"
    function.runtime.stop(timeout=0.5)  # before 3.12 it cannot react to SIGTERM (see the next test)


@pytest.mark.xfail(
    sys.version_info < (3, 12),
    reason="before Python 3.12 awslambdaric waits for the next event inside a C call on the main thread "
    "(AWS_Lambda_python3.12+ polls from a thread), so no Python signal handler runs while the function is idle",
    strict=True,
)
def test_lifespan_once_shuts_down_on_sigterm(functions: Functions, tmp_path: Path) -> None:
    log = tmp_path / "lifespan.log"
    function = functions.start("ric_apps.lifespan_once_app.handler", env={"RIC_APPS_LIFESPAN_LOG": str(log)})
    function.invoke(load_event("go/apigw-request.json"))
    function.api.wait_until_polling()  # idle between invocations, as when Lambda ends an environment
    function.runtime.popen.send_signal(signal.SIGTERM)
    try:
        function.runtime.popen.wait(2)
    except subprocess.TimeoutExpired:
        function.runtime.stop(timeout=0.2)  # it did not react: do not wait for the fixture's gentler stop
    pid = function.runtime.pid
    assert log.read_text() == f"startup {pid}\nshutdown {pid}\n"
    assert function.runtime.returncode == -signal.SIGTERM


def _import_error(module: str) -> tuple[str, str]:
    try:
        importlib.import_module(module)
    except Exception as exc:
        return type(exc).__name__, str(exc)
    raise AssertionError(f"{module} imported without error")


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        pytest.param(
            "ric_apps.broken_import.handler",
            lambda: (
                "Runtime.ImportModuleError",
                "Unable to import module 'ric_apps.broken_import': No module named 'ric_apps_missing_dependency'",
            ),
            id="module-not-importable",
        ),
        pytest.param(
            "ric_apps.echo_app.no_such_handler",
            lambda: (
                "Runtime.HandlerNotFound",
                "Handler 'no_such_handler' missing on module 'ric_apps.echo_app'",
            ),
            id="handler-not-found",
        ),
        pytest.param(
            "ric_apps.broken_config.handler",
            lambda: _import_error("ric_apps.broken_config"),  # the adapter's ConfigurationError
            id="adapter-configuration-error",
        ),
    ],
)
def test_init_error(handler: str, expected: Callable[[], tuple[str, str]], functions: Functions) -> None:
    error_type, message = expected()
    api = functions.emulator()
    waiting = api.submit(load_event("go/apigw-request.json"))  # queued before the runtime even starts
    runtime = functions.runtime(api, handler)

    report = api.wait_for_init_error(timeout=ANSWER_TIMEOUT)
    assert report.error_type == error_type  # the Lambda-Runtime-Function-Error-Type header
    assert report.payload["errorType"] == error_type
    assert report.payload["errorMessage"] == message
    assert runtime.popen.wait(ANSWER_TIMEOUT) == 1  # awslambdaric exits after reporting
    assert api.next_requests == 0  # it never asked for an event
    # The caller of the pending invocation gets the init error, as from Lambda.
    assert waiting.wait(ANSWER_TIMEOUT).status == "failed"
    assert waiting.deliveries == 0
    assert waiting.error == report.payload
    if handler == "ric_apps.broken_config.handler":
        assert error_type == "ConfigurationError"


@pytest.mark.parametrize("on_disconnect", [True, False], ids=["requeue-on-disconnect", "requeue-inflight"])
def test_event_held_by_a_dead_runtime_is_handed_back(
    on_disconnect: bool, functions: Functions, tmp_path: Path
) -> None:
    env = {"RIC_APPS_CRASH_MARKER": str(tmp_path / "crashed")}
    first = functions.start("ric_apps.crash_once.handler", env=env, requeue_on_disconnect=on_disconnect)
    api = first.api
    invocation = api.submit({"crash": True})
    assert first.runtime.popen.wait(ANSWER_TIMEOUT) == 17  # died holding the event
    assert invocation.deliveries == 1 and not invocation.done
    if on_disconnect:  # the emulator saw the connection drop
        deadline = time.monotonic() + 5
        while invocation.status != "queued" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert invocation.status == "queued"
    else:
        assert invocation.status == "delivered"
        assert api.requeue_inflight() == [invocation]

    second = functions.runtime(api, "ric_apps.crash_once.handler", env=env)
    second.answer(invocation, ANSWER_TIMEOUT)
    assert invocation.deliveries == 2
    assert invocation.result == {
        "pid": second.pid,
        "request_id": invocation.request_id,
        "event": {"crash": True},
    }


def test_emulator_protocol_edges() -> None:
    """The emulator's own answers for what awslambdaric never does (no runtime process involved)."""
    with LambdaRuntimeAPI(max_response_bytes=1024) as api:
        conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
        try:

            def call(method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
                chunked = bool(headers and "Transfer-Encoding" in headers)
                conn.request(
                    method,
                    f"/2018-06-01/runtime{path}",
                    body=body,
                    headers=headers or {},
                    encode_chunked=chunked,
                )
                response = conn.getresponse()
                return response.status, response.getheaders(), response.read()

            first = api.submit({"n": 1}, client_context={"custom": {"k": "v"}}, function_timeout=3)
            status, headers, body = call("GET", "/invocation/next")
            headers = dict(headers)
            assert status == 200 and json.loads(body) == {"n": 1}
            assert headers["Lambda-Runtime-Aws-Request-Id"] == first.request_id
            assert headers["Lambda-Runtime-Client-Context"] == '{"custom":{"k":"v"}}'
            assert 0 < int(headers["Lambda-Runtime-Deadline-Ms"]) - time.time() * 1000 <= 3000
            assert call("POST", "/invocation/nope/response", b"{}")[0] == 400
            assert call("POST", f"/invocation/{first.request_id}/response", b"x" * 2048)[0] == 413
            assert first.error_type == "Function.ResponseSizeTooLarge"
            assert (
                call("POST", f"/invocation/{first.request_id}/response", b"{}")[0] == 400
            )  # already answered

            second = api.submit({"n": 2})
            call("GET", "/invocation/next")
            streamed = {"Transfer-Encoding": "chunked", "Lambda-Runtime-Function-Response-Mode": "streaming"}
            assert (
                call("POST", f"/invocation/{second.request_id}/response", iter([b"{}"]), streamed)[0] == 501
            )
            assert second.error_type == "Emulator.StreamingNotSupported"
            assert second.response_mode == "streaming"
        finally:
            conn.close()
    assert not api.server_errors
