"""cymangum.runtime: `python -m cymangum.runtime` in a subprocess against the Runtime API emulator.

Buffered answers equal the in-process handler's; with streaming on, Function URL and REST events stream (prelude,
8 NUL bytes, the body chunk by chunk as the app produces it, errors as trailers) and other sources stay buffered.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import cymangum

TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parent
# Where the cymangum under test lives (installed, or src/ with PYTHONPATH): the runtime subprocesses use the same.
SRC = Path(cymangum.__file__).resolve().parents[1]
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from cymangum.runtime.errors import InitError  # noqa: E402
from cymangum.runtime.loader import split_spec  # noqa: E402
from lambda_runtime_api import RuntimeExited, RuntimeProcess  # noqa: E402
from streaming_runtime_api import StreamingRuntimeAPI  # noqa: E402
from tests.events import load_event  # noqa: E402

pytestmark = pytest.mark.one_impl

CHUNK_DELAY = 0.3

REST = "go/apigw-request.json"
HTTP_V2 = "powertools/apiGatewayProxyV2Event.json"
ALB = "powertools/albEvent.json"
URL = "powertools/lambdaFunctionUrlEvent.json"


def url_event(path: str, method: str = "GET") -> dict[str, Any]:
    event = load_event(URL)
    event["rawPath"] = path
    event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    return event


def rest_event(path: str, method: str = "GET") -> dict[str, Any]:
    event = load_event(REST)
    event["path"] = path
    event["httpMethod"] = method
    event["body"] = None
    return event


class Runtime:
    """An emulator and a `python -m cymangum.runtime TARGET` process bound to it."""

    def __init__(
        self, target: str, tmp: Path, env: dict[str, str] | None = None, flags: tuple[str, ...] = ()
    ) -> None:
        self.api = StreamingRuntimeAPI().start()
        try:
            self.process = RuntimeProcess.start(
                self.api,
                target,
                task_root=ROOT,
                log_path=tmp / "runtime.log",
                pythonpath=[str(SRC)],
                env=env,
                command=[sys.executable, "-m", "cymangum.runtime", *flags, target],
            )
        except BaseException:
            self.api.close()
            raise

    def invoke(self, event: Any, **kwargs: Any) -> Any:
        return self.process.invoke(event, timeout=20, **kwargs)

    def close(self) -> None:
        try:
            self.process.stop()
        finally:
            self.api.close()


@pytest.fixture(scope="module")
def buffered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    runtime = Runtime("tests.runtime_apps:handler", tmp_path_factory.mktemp("buffered"))
    try:
        yield runtime
    finally:
        runtime.close()


@pytest.fixture(scope="module")
def streaming(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    # The --streaming flag here; the entry scripts' test turns streaming on with CYMANGUM_STREAMING=1.
    runtime = Runtime(
        "tests.runtime_apps.handler", tmp_path_factory.mktemp("streaming"), flags=("--streaming",)
    )
    try:
        yield runtime
    finally:
        runtime.close()


def in_process(event: dict[str, Any]) -> Any:
    from tests.runtime_apps import handler

    context = SimpleNamespace(aws_request_id="local", get_remaining_time_in_millis=lambda: 30000)
    return json.loads(json.dumps(handler(copy.deepcopy(event), context)))


# -- buffered ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [REST, HTTP_V2, ALB])
def test_buffered_result_equals_in_process(buffered: Runtime, name: str) -> None:
    event = load_event(name)
    invocation = buffered.invoke(event)
    assert invocation.response_mode == "buffered"
    assert invocation.result == in_process(event)
    assert invocation.result["statusCode"] == 200


@pytest.mark.parametrize("name", [HTTP_V2, ALB])
def test_streaming_mode_answers_other_sources_buffered(streaming: Runtime, name: str) -> None:
    event = load_event(name)
    invocation = streaming.invoke(event)
    assert invocation.response_mode == "buffered"
    assert invocation.request_id not in streaming.api.streams
    assert invocation.result == in_process(event)


def test_buffered_runtime_does_not_stream_url_events(buffered: Runtime) -> None:
    invocation = buffered.invoke(url_event("/stream"))
    assert invocation.response_mode == "buffered"
    assert invocation.result["body"] == "chunk-0\nchunk-1\nchunk-2\n"


def test_handler_error_goes_to_error_endpoint(buffered: Runtime) -> None:
    invocation = buffered.invoke(b"not json")
    assert invocation.status == "failed"
    assert invocation.error_type == "Runtime.UnmarshalError"
    invocation = buffered.invoke({"unrelated": "event"})
    assert invocation.status == "failed"
    assert invocation.error_type == "UnrecognizedEventError"
    assert set(invocation.error) >= {"errorMessage", "errorType", "stackTrace"}
    assert buffered.invoke(load_event(ALB)).succeeded  # the runtime goes on


# -- streaming -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make_event", [url_event, rest_event], ids=["function-url", "rest"])
def test_stream_arrives_chunk_by_chunk(streaming: Runtime, make_event: Any) -> None:
    invocation = streaming.invoke(make_event("/stream"))
    assert invocation.succeeded
    assert invocation.response_mode == "streaming"
    stream = streaming.api.streams[invocation.request_id]
    assert stream.headers["Content-Type"] == "application/vnd.awslambda.http-integration-response"
    assert stream.headers["Transfer-Encoding"] == "chunked"
    assert "Lambda-Runtime-Function-Error-Type" in stream.headers["Trailer"]
    prelude = stream.prelude
    assert prelude["statusCode"] == 200
    assert prelude["headers"]["x-stream"] == "yes"
    assert prelude["headers"]["content-type"].startswith("text/plain")
    assert prelude["cookies"] == []
    chunks = stream.body_chunks()
    assert [data for _, data in chunks] == [b"chunk-0\n", b"chunk-1\n", b"chunk-2\n"]
    times = [at for at, _ in chunks]
    # Each chunk arrived when the app produced it, not all at the end.
    assert times[1] - times[0] > CHUNK_DELAY * 0.6
    assert times[2] - times[0] > CHUNK_DELAY * 1.2
    assert stream.trailers == {}


def test_sse_events_arrive_one_by_one(streaming: Runtime) -> None:
    invocation = streaming.api.submit(url_event("/sse"))
    stream = streaming.api.stream(invocation.request_id)
    stream.wait_for(len(b"id: 0\ndata: event 0\n\n") + 1)
    first_seen = time.perf_counter()
    assert not stream.done  # the last event is not produced yet
    streaming.process.answer(invocation, timeout=20)
    assert stream.prelude["headers"]["content-type"].startswith("text/event-stream")
    chunks = stream.body_chunks()
    assert [data for _, data in chunks] == [f"id: {i}\ndata: event {i}\n\n".encode() for i in range(3)]
    assert chunks[-1][0] - first_seen > CHUNK_DELAY


def test_cookies_go_to_the_prelude(streaming: Runtime) -> None:
    invocation = streaming.invoke(url_event("/cookies"))
    stream = streaming.api.streams[invocation.request_id]
    prelude = stream.prelude
    assert set(prelude) == {"statusCode", "headers", "cookies"}
    assert "set-cookie" not in prelude["headers"]
    assert prelude["headers"]["x-custom"] == "value"
    assert len(prelude["cookies"]) == 2
    assert prelude["cookies"][0].startswith("session=abc123")
    assert prelude["cookies"][1].startswith("theme=dark")
    assert stream.body == b"cookies set"


def test_mid_stream_exception_arrives_as_trailers(streaming: Runtime) -> None:
    invocation = streaming.invoke(url_event("/boom-mid"))
    stream = streaming.api.streams[invocation.request_id]
    assert stream.prelude["statusCode"] == 200
    assert stream.body == b"first part\n"
    assert stream.error_type == "RuntimeError"
    assert stream.error["errorType"] == "RuntimeError"
    assert stream.error["errorMessage"] == "boom in the middle of the stream"
    assert stream.error["stackTrace"]
    assert streaming.invoke(url_event("/stream")).succeeded  # the connection is still usable


def test_exception_before_first_byte_goes_to_error(streaming: Runtime) -> None:
    invocation = streaming.invoke(url_event("/boom-raw"))
    assert invocation.status == "failed"
    assert invocation.error_type == "ValueError"
    assert invocation.error["errorMessage"] == "boom before the first byte"
    assert invocation.request_id not in streaming.api.streams


def test_framework_error_response_is_streamed(streaming: Runtime) -> None:
    # Starlette answers the exception with its own 500, then re-raises: the 500 is what the client gets.
    invocation = streaming.invoke(url_event("/boom-early"))
    stream = streaming.api.streams[invocation.request_id]
    assert stream.prelude["statusCode"] == 500
    assert stream.body == b"Internal Server Error"


def test_bodyless_redirect_sends_its_prelude(streaming: Runtime) -> None:
    invocation = streaming.invoke(url_event("/redirect"))
    assert invocation.succeeded
    stream = streaming.api.streams[invocation.request_id]
    assert stream.prelude["statusCode"] == 302
    assert stream.prelude["headers"]["location"] == "https://example.com/elsewhere"
    assert stream.body == b""


def test_malformed_event_gets_the_buffered_400(streaming: Runtime) -> None:
    event = url_event("/stream")
    event["requestContext"]["http"]["path"] = 12
    invocation = streaming.invoke(event)
    assert invocation.response_mode == "buffered"
    assert invocation.result["statusCode"] == 400


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_20_mb_download_streams_in_bounded_memory(streaming: Runtime) -> None:
    pid = streaming.process.pid
    assert streaming.invoke(url_event("/stream")).succeeded  # warm
    baseline = _rss_kib(pid)
    invocation = streaming.api.submit(url_event("/big"))
    peak = baseline
    while not invocation.done:
        peak = max(peak, _rss_kib(pid))
        time.sleep(0.005)
        if streaming.process.returncode is not None:
            raise RuntimeExited(streaming.process.log()[-4000:])
    assert invocation.succeeded
    stream = streaming.api.streams[invocation.request_id]
    assert stream.prelude["statusCode"] == 200
    body_size = sum(len(data) for _, data in stream.body_chunks())
    assert body_size == 20 * 1024 * 1024
    assert len(stream.body_chunks()) >= 300  # arrived in pieces, not in one piece
    assert peak - baseline < 8 * 1024, f"RSS grew by {peak - baseline} KiB"
    assert _rss_kib(pid, "VmHWM") - baseline < 8 * 1024


# -- the context, lifespan, loading -----------------------------------------------------------------------------


def test_context_and_trace_id(tmp_path: Path) -> None:
    runtime = Runtime("tests.runtime_apps:context_app", tmp_path)
    try:
        invocation = runtime.invoke(
            url_event("/"),
            request_id="req-123",
            trace_id="Root=1-abc-def;Parent=1234;Sampled=1",
            client_context={"custom": {"k": "v"}, "env": {}, "client": {}},
            cognito_identity={"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"},
        )
        body = json.loads(invocation.result["body"])
        assert body["aws_request_id"] == "req-123"
        assert body["invoked_function_arn"] == runtime.api.function_arn
        assert 0 < body["remaining_ms"] <= 30000
        assert body["function_name"] == runtime.api.function_name
        assert body["function_version"] == "$LATEST"
        assert body["memory_limit_in_mb"] == 128
        assert body["log_group_name"] == f"/aws/lambda/{runtime.api.function_name}"
        assert body["log_stream_name"]
        assert body["client_custom"] == {"k": "v"}
        assert body["identity_id"] == "id-1"
        assert body["trace_id"] == "Root=1-abc-def;Parent=1234;Sampled=1"
    finally:
        runtime.close()


def test_sigterm_runs_lifespan_shutdown(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    runtime = Runtime("tests.runtime_apps:context_app", tmp_path, env={"RUNTIME_APPS_MARKER": str(marker)})
    try:
        assert runtime.invoke(url_event("/")).succeeded
        assert runtime.invoke(url_event("/")).succeeded
        assert marker.read_text() == "startup\n"  # once per environment
        # Signal while idle, as Lambda does: the runtime is back waiting for the next event.
        runtime.api.wait_until_polling(timeout=10)
        runtime.process._signal_group(signal.SIGTERM)
        assert runtime.process.popen.wait(10) == 0
        assert marker.read_text() == "startup\nshutdown\n"
    finally:
        runtime.close()


def test_plain_function_handler(tmp_path: Path) -> None:
    runtime = Runtime("tests.runtime_apps.plain_function", tmp_path, env={"CYMANGUM_STREAMING": "1"})
    try:
        invocation = runtime.invoke({"hello": "world"}, request_id="r-1")
        assert invocation.result == {"echo": {"hello": "world"}, "request_id": "r-1"}
    finally:
        runtime.close()


@pytest.mark.parametrize(
    ("target", "error_type"),
    [
        ("tests.no_such_module:app", "Runtime.ImportModuleError"),
        ("tests.runtime_apps:no_such_attr", "Runtime.HandlerNotFound"),
        ("not a handler", "Runtime.MalformedHandlerName"),
    ],
)
def test_init_error(tmp_path: Path, target: str, error_type: str) -> None:
    runtime = Runtime(target, tmp_path)
    try:
        error = runtime.api.wait_for_init_error(timeout=10)
        assert error.error_type == error_type
        assert error.payload["errorType"] == error_type
        assert runtime.process.popen.wait(10) != 0
    finally:
        runtime.close()


def test_split_spec() -> None:
    assert split_spec("pkg.module:app") == ("pkg.module", "app")
    assert split_spec("pkg.module.handler") == ("pkg.module", "handler")
    assert split_spec("dir/module.handler") == ("dir.module", "handler")
    assert split_spec("module:obj.attr") == ("module", "obj.attr")
    with pytest.raises(InitError):
        split_spec("handler")


def test_import_cymangum_does_not_import_orjson() -> None:
    code = "import sys, cymangum; sys.exit('orjson' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    assert subprocess.run([sys.executable, "-c", code], env=env, timeout=30).returncode == 0


@pytest.mark.parametrize(
    ("script", "args"),
    [("bootstrap", []), ("exec_wrapper", [sys.executable, "/var/runtime/bootstrap.py"])],
)
def test_entry_scripts(tmp_path: Path, script: str, args: list[str]) -> None:
    path = SRC / "cymangum" / "runtime" / script
    api = StreamingRuntimeAPI().start()
    try:
        process = RuntimeProcess.start(
            api,
            "tests.runtime_apps.handler",
            task_root=ROOT,
            log_path=tmp_path / "runtime.log",
            pythonpath=[str(SRC)],
            env={"CYMANGUM_PYTHON": sys.executable, "CYMANGUM_STREAMING": "1"},
            command=["/bin/sh", str(path), *args],
        )
        try:
            invocation = process.invoke(url_event("/cookies"), timeout=20)
            assert invocation.response_mode == "streaming"
            assert api.streams[invocation.request_id].body == b"cookies set"
        finally:
            process.stop()
    finally:
        api.close()
