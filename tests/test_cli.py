"""The `cymangum` command line, end to end: `python -m cymangum invoke|serve|bench` in subprocesses.

serve is checked with httpx and with curl against a FastAPI app (tests/cli_apps.py), for every event source.
The subprocesses run with `-W error` too, and import the same cymangum as this test session (compiled or pure,
per CYMANGUM_NO_EXTENSIONS, which they inherit).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import cymangum
from cymangum import cli_events

pytestmark = pytest.mark.one_impl  # the children pick their core from the environment

ROOT = Path(__file__).resolve().parent.parent
BINARY = bytes(range(256)) * 400 + b"\xff\xfe\x00"  # the same as tests.cli_apps.BINARY (not imported here:
# importing it would construct a Mangum, and set an event loop, in the test session's main thread)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def child_env(**extra: str) -> dict[str, str]:
    paths = [str(Path(cymangum.__file__).resolve().parent.parent), str(ROOT)]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "PYTHONUNBUFFERED": "1", **extra}


def cli(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "cymangum", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env or child_env(),
        timeout=timeout,
        check=False,
    )


def result_of(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# ---------------------------------------------------------------------------------------------------------------
# invoke


def test_invoke_default_is_the_demo_app() -> None:
    proc = cli("invoke")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    result_text, _, body_text = proc.stdout.partition("\n--- 200 application/json")
    result = json.loads(result_text)
    assert result["statusCode"] == 200
    assert result["isBase64Encoded"] is False
    document = json.loads(body_text.partition("---\n")[2])  # the decoded body, pretty-printed
    assert document["message"] == "Hello from cymangum!"
    assert document["request"]["event_source"] == "http (payload 2.0)"
    assert document["lifespan"]["state"]["greeting"] == "Hello from cymangum!"


@pytest.mark.parametrize(
    ("source", "keys", "status_key"),
    [
        ("rest", {"headers", "multiValueHeaders"}, "statusCode"),
        ("http", {"headers", "cookies"}, "statusCode"),
        ("http-v1", {"headers", "multiValueHeaders"}, "statusCode"),
        ("url", {"headers", "cookies"}, "statusCode"),
        ("alb", {"headers"}, "statusCode"),
        ("alb-multi", {"multiValueHeaders"}, "statusCode"),
        ("edge", {"headers"}, "status"),
    ],
)
def test_invoke_every_source(source: str, keys: set[str], status_key: str) -> None:
    result = result_of(cli("invoke", "--source", source, "--path", "/cookies", "--json"))
    assert result[status_key] == 200
    assert keys <= result.keys()
    assert "multiValueHeaders" not in result or source in ("rest", "http-v1", "alb-multi")
    response = cli_events.decode_result(result)
    cookies = response.header("set-cookie")
    assert cookies is not None
    names = {v.split("=")[0] for k, v in response.headers if k == "set-cookie"}
    # Lambda@Edge keeps one value per header name (Mangum semantics); every other source keeps all three.
    assert names == ({"visited"} if source == "edge" else {"session", "theme", "visited"})
    assert json.loads(response.body) == {"cookies_set": ["session", "theme", "visited"]}


def test_invoke_binary_response_and_output_file(tmp_path: Path) -> None:
    out = tmp_path / "image.png"
    proc = cli("invoke", "--source", "alb", "--path", "/image.png", "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.partition("\n--- ")[0])
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == out.read_bytes()
    assert out.read_bytes().startswith(PNG_SIGNATURE)
    assert f"image/png, {out.stat().st_size} bytes, base64 in the result (saved to {out})" in proc.stdout


@pytest.mark.parametrize("source", ["rest", "url", "edge", "alb-multi"])
def test_invoke_binary_request_body(tmp_path: Path, source: str) -> None:
    body_file = tmp_path / "body.bin"
    body_file.write_bytes(BINARY)
    out = tmp_path / "echo.bin"
    proc = cli(
        "invoke",
        "--source",
        source,
        "-X",
        "PUT",
        "--path",
        "/echo",
        "--body-file",
        str(body_file),
        "-H",
        "Content-Type: application/x-thing",
        "--output",
        str(out),
        "--json",
    )
    result = result_of(proc)
    assert out.read_bytes() == BINARY
    response = cli_events.decode_result(result)
    assert response.header("content-type") == "application/x-thing"
    assert response.header("x-echo-sha256") == hashlib.sha256(BINARY).hexdigest()


def test_invoke_request_options_reach_the_app() -> None:
    result = result_of(
        cli(
            "invoke",
            "tests.cli_apps:app",
            "--source",
            "rest",
            "--base-path",
            "/prod",
            "--path",
            "/event?x=1",
            "-q",
            "y=a b",
            "-q",
            "y=c/d",
            "-H",
            "X-Custom: yes",
            "--json",
        )
    )
    event = json.loads(result["body"])
    assert event["path"] == "/prod/event"  # the client's path: the stage, then the route
    assert event["requestContext"]["stage"] == "prod"
    assert event["multiValueQueryStringParameters"] == {"x": ["1"], "y": ["a b", "c/d"]}
    assert event["headers"]["X-Custom"] == "yes"
    assert event["requestContext"]["identity"]["sourceIp"]
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_invoke_post_json_body_through_an_http_api() -> None:
    proc = cli("invoke", "--path", "/echo", "--body", '{"a": 1}', "--json")
    response = cli_events.decode_result(result_of(proc))
    assert response.header("content-type") == "application/json"  # guessed from the body
    assert response.body == b'{"a": 1}'


def test_invoke_a_mangum_instance_keeps_its_configuration() -> None:
    result = result_of(cli("invoke", "tests.cli_apps:handler", "--path", "/download", "--json"))
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == BINARY
    assert "x-sha256" not in result["headers"]  # exclude_headers of tests.cli_apps.handler


def test_invoke_app_exception_is_a_500_not_a_crash() -> None:
    result = result_of(cli("invoke", "tests.cli_apps:app", "--path", "/error", "--json"))
    assert result["statusCode"] == 500


def test_invoke_real_event_file(tmp_path: Path) -> None:
    # An ALB event as AWS documents it (multi-value headers off).
    event = {
        "requestContext": {
            "elb": {
                "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/lambda-279XGJDqGZ5rsrHC2Fjr/49e9d65c45c6791a"
            }
        },
        "httpMethod": "GET",
        "path": "/items/7",
        "queryStringParameters": {"q": "hello%20world"},
        "headers": {
            "accept": "*/*",
            "host": "lambda-alb-123578498.us-east-2.elb.amazonaws.com",
            "x-forwarded-for": "72.12.164.125",
            "x-forwarded-port": "80",
            "x-forwarded-proto": "http",
        },
        "body": "",
        "isBase64Encoded": False,
    }
    path = tmp_path / "alb.json"
    path.write_text(json.dumps(event))
    result = result_of(cli("invoke", "tests.cli_apps:app", "--event", str(path), "--json"))
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"item_id": 7, "q": "hello world", "unicode": "żółw 🐢"}
    # The same file on stdin.
    result = result_of(cli("invoke", "tests.cli_apps:app", "--event", "-", "--json", stdin=path.read_bytes()))
    assert result["statusCode"] == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["no_such_module_xyz:app"],
            "cannot import 'no_such_module_xyz': no module named 'no_such_module_xyz'",
        ),
        (["tests.cli_apps:missing"], "module 'tests.cli_apps' has no attribute 'missing'"),
        (["tests.cli_apps:NOT_CALLABLE"], "'tests.cli_apps:NOT_CALLABLE' is a int, not an ASGI application"),
        (["tests.cli_apps"], "app must look like 'module:attribute'"),
        (["--event", "/no/such/event.json"], "cannot read event file '/no/such/event.json': No such file"),
        (["--body-file", "/no/such/body.bin"], "cannot read body file"),
        (["--query", "novalue"], "--query must look like key=value"),
        (["--header", "novalue"], "--header must look like 'Name: value'"),
    ],
)
def test_invoke_bad_arguments_exit_2_with_one_line(args: list[str], message: str) -> None:
    proc = cli("invoke", *args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("cymangum invoke: ")
    assert message in proc.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"httpMethod": "GET",', "is not valid JSON"),
        (b"[1, 2]", "must hold a JSON object, not a list"),
        (b"\xff\xfe", "is not valid JSON"),
    ],
)
def test_invoke_malformed_event_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content)
    proc = cli("invoke", "--event", str(path))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert message in proc.stderr


def test_invoke_unrecognized_event_is_a_handler_error(tmp_path: Path) -> None:
    path = tmp_path / "sqs.json"
    path.write_text(json.dumps({"Records": [{"eventSource": "aws:sqs", "body": "hi"}]}))
    proc = cli("invoke", "--event", str(path))
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("cymangum invoke: the handler raised ")
    assert "unable to infer a handler" in proc.stderr
    assert proc.stderr.rstrip().endswith("(--verbose shows the traceback)")
    proc = cli("invoke", "--event", str(path), "--verbose")
    assert proc.returncode == 1
    assert proc.stderr.startswith("Traceback (most recent call last):")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["invoke", "--source", "grpc"], "argument --source/-s: invalid choice: 'grpc'"),
        (["invoke", "--event", "x.json", "--method", "POST"], "--method cannot be used with it"),
        (["invoke", "--body", "a", "--body-file", "b"], "not allowed with argument"),
        (["invoke", "--lifespan", "sometimes"], "invalid choice"),
        (["bench", "--requests", "0"], "must be at least 1"),
        (["serve", "--port", "http"], "invalid int value"),
        ([], "the following arguments are required: COMMAND"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    proc = cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_help_and_version() -> None:
    proc = cli("--help")
    assert proc.returncode == 0
    assert all(command in proc.stdout for command in ("invoke", "serve", "bench"))
    proc = cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("cymangum ")


def test_import_cymangum_does_not_import_the_cli() -> None:
    code = "import sys, cymangum; print(sorted(m for m in sys.modules if 'cli' in m or m == 'orjson'))"
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=ROOT,
        check=True,
    )
    assert proc.stdout.strip() == "[]"


def test_console_script_when_installed() -> None:
    script = Path(sys.executable).with_name("cymangum")
    if not script.exists():
        pytest.skip("cymangum is not installed in this environment (the entry point needs `pip install .`)")
    proc = subprocess.run(
        [str(script), "invoke", "--json"], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["statusCode"] == 200


# ---------------------------------------------------------------------------------------------------------------
# bench


def test_bench_json_with_mangum_side_by_side() -> None:
    proc = cli("bench", "--requests", "300", "--cold-starts", "1", "--compare", "mangum", "--json")
    report = result_of(proc)
    assert set(report["results"]) == {"cymangum", "mangum"}
    for entry in report["results"].values():
        assert entry["status"] == 200
        warm = entry["warm"]
        assert 0 < warm["min_us"] <= warm["median_us"] <= warm["p99_us"]
        assert warm["invocations_per_s"] > 0
        cold = entry["cold"]
        assert len(cold["runs"]) == 1 and cold["status"] == 200
        assert 0 < cold["import_adapter_ms"] <= cold["total_ms"] <= cold["process_ms"]
    assert "warm cymangum: 300 invocations" in proc.stderr  # progress, one line per phase off a terminal


def test_bench_table_for_an_app_and_source() -> None:
    proc = cli(
        "bench",
        "tests.cli_apps:app",
        "--source",
        "alb",
        "--path",
        "/items/3",
        "-n",
        "200",
        "--cold-starts",
        "0",
    )
    assert proc.returncode == 0, proc.stderr
    assert "tests.cli_apps:app, alb GET /items/3" in proc.stdout
    assert re.search(r"warm median\s+\d+\.\d+ us", proc.stdout)
    assert "cold:" not in proc.stdout
    assert "status of the first invocation: cymangum 200" in proc.stdout


def test_bench_compare_without_mangum_installed(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['mangum'] = None\n")
    env = child_env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    proc = cli("bench", "--compare", "mangum", "-n", "10", env=env)
    assert proc.returncode == 2
    assert "cymangum bench: --compare mangum: mangum is not installed" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_without_orjson_says_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['orjson'] = None\n")
    env = child_env()
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env["PYTHONPATH"]])
    proc = cli("invoke", env=env)
    assert proc.returncode == 2
    assert proc.stderr == "cymangum: the command line needs orjson: pip install 'cymangum[cli]'\n"


def test_bench_with_a_failing_handler() -> None:
    proc = cli("bench", "tests.cli_apps:failing_lifespan_app", "-n", "10", "--cold-starts", "0")
    assert proc.returncode == 1
    assert "the cymangum handler raised LifespanFailure" in proc.stderr


# ---------------------------------------------------------------------------------------------------------------
# serve


class Server:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path, port: int, base: str, source: str) -> None:
        self.source = source
        self.proc = proc
        self.log = log
        self.port = port
        self.url = f"http://127.0.0.1:{port}{base}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(tmp: Path, *args: str) -> Iterator[Server]:
    log = tmp / f"serve-{time.monotonic_ns()}.log"
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-W", "error", "-m", "cymangum", "serve", "--port", "0", *args],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env=child_env(),
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            found = re.search(
                r"behind '([\w-]+)' on http://127\.0\.0\.1:(\d+)(\S*) ", log.read_text(errors="replace")
            )
            if found:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.05)
        yield Server(proc, log, int(found.group(2)), found.group(3), found.group(1))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def rest_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(
        tmp_path_factory.mktemp("serve"), "tests.cli_apps:app", "--source", "rest", "--base-path", "/stage"
    )


@pytest.fixture(scope="module", params=["http", "http-v1", "url", "alb", "alb-multi", "edge"])
def any_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_server(tmp_path_factory.mktemp("serve"), "tests.cli_apps:app", "--source", request.param)


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["curl", "--silent", "--show-error", "--max-time", "20", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_serve_json(rest_server: Server) -> None:
    response = httpx.get(f"{rest_server.url}/items/5", params={"q": "a b/ż"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"item_id": 5, "q": "a b/ż", "unicode": "żółw 🐢"}
    proc = curl(f"{rest_server.url}/items/6?q=x%26y")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"item_id": 6, "q": "x&y", "unicode": "żółw 🐢"}


def test_serve_upload(rest_server: Server, tmp_path: Path) -> None:
    files = {"file": ("data.bin", BINARY, "application/octet-stream")}
    response = httpx.post(f"{rest_server.url}/upload", files=files, data={"note": "zażółć"})
    assert response.status_code == 200, response.text
    expected = {
        "filename": "data.bin",
        "content_type": "application/octet-stream",
        "size": len(BINARY),
        "sha256": hashlib.sha256(BINARY).hexdigest(),
        "fields": {"note": "zażółć"},
    }
    assert response.json() == expected
    path = tmp_path / "data.bin"
    path.write_bytes(BINARY)
    proc = curl(
        "-F", f"file=@{path};type=application/octet-stream", "-F", "note=zażółć", f"{rest_server.url}/upload"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == expected


def test_serve_binary_download(rest_server: Server, tmp_path: Path) -> None:
    response = httpx.get(f"{rest_server.url}/download")
    assert response.status_code == 200
    assert response.content == BINARY
    assert response.headers["content-length"] == str(len(BINARY))
    out = tmp_path / "download.bin"
    proc = curl("-o", str(out), f"{rest_server.url}/download")
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == BINARY


def test_serve_set_cookies(rest_server: Server) -> None:
    response = httpx.get(f"{rest_server.url}/cookies")
    cookies = response.headers.get_list("set-cookie")
    assert [c.split("=")[0] for c in cookies] == ["session", "theme", "lang"]
    assert dict(response.cookies) == {"session": "abc123", "theme": "dark", "lang": "pl"}
    proc = curl("-D", "-", "-o", "/dev/null", f"{rest_server.url}/cookies")
    assert len(re.findall(r"(?im)^set-cookie: ", proc.stdout)) == 3


def test_serve_redirect_behind_a_base_path(rest_server: Server) -> None:
    # The event path is /stage/go and the app sees /go (api_gateway_base_path="/stage"). A relative Location is
    # resolved by the client under the base path: the redirect works.
    response = httpx.get(f"{rest_server.url}/go")
    assert response.status_code == 302
    assert response.headers["location"] == "target"
    response = httpx.get(f"{rest_server.url}/go", follow_redirects=True)
    assert response.status_code == 200
    assert response.url.path == "/stage/target"
    assert response.json() == {"reached": True, "path": "/target"}
    proc = curl("-L", f"{rest_server.url}/go")
    assert json.loads(proc.stdout)["reached"] is True
    # A URL built from the scope lacks the base path: Mangum's root_path is always "" (SPEC 3.0, issue #318).
    # It does carry the server's scheme, host and port, which come through the event's headers.
    response = httpx.get(f"{rest_server.url}/go-absolute")
    assert response.headers["location"] == f"http://127.0.0.1:{rest_server.port}/target"


def test_serve_malformed_requests_get_400(rest_server: Server) -> None:
    for raw in (
        b"GARBAGE\r\n\r\n",
        b"GET /stage/items/1 HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"GET /stage/items/1 HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", rest_server.port), timeout=10) as sock:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n"), (raw, data)
    proc = curl("-X", "GE T", "-o", "/dev/null", "-w", "%{http_code}", f"{rest_server.url}/items/1")
    assert proc.stdout == "400"
    # The server is still fine.
    assert httpx.get(f"{rest_server.url}/items/1").status_code == 200


def test_serve_oversized_body_gets_413(rest_server: Server) -> None:
    response = httpx.post(f"{rest_server.url}/upload", content=b"x" * (6 * 1024 * 1024 + 1))
    assert response.status_code == 413
    # Under 6 MB of body, but over 6 MB of event once base64-encoded.
    response = httpx.post(f"{rest_server.url}/upload", content=b"\xff" * (5 * 1024 * 1024))
    assert response.status_code == 413


def test_serve_app_error_is_500_and_head_has_no_body(rest_server: Server) -> None:
    assert httpx.get(f"{rest_server.url}/error").status_code == 500
    proc = curl("-I", f"{rest_server.url}/items/1")  # FastAPI has no HEAD route: 405 from the app
    assert proc.stdout.startswith("HTTP/1.1 405")


def test_serve_keep_alive_and_chunked_upload(rest_server: Server, tmp_path: Path) -> None:
    with httpx.Client() as client:  # one connection, several requests
        for i in range(3):
            assert client.get(f"{rest_server.url}/items/{i}").json()["item_id"] == i
    path = tmp_path / "data.bin"
    path.write_bytes(BINARY)
    proc = curl("-H", "Transfer-Encoding: chunked", "-F", f"file=@{path}", f"{rest_server.url}/upload")
    assert json.loads(proc.stdout)["sha256"] == hashlib.sha256(BINARY).hexdigest()


def test_serve_logs_one_line_per_request(rest_server: Server) -> None:
    httpx.get(f"{rest_server.url}/items/42?q=log")
    deadline = time.monotonic() + 5
    while '"GET /stage/items/42?q=log HTTP/1.1" 200' not in rest_server.log_text():
        assert time.monotonic() < deadline, rest_server.log_text()
        time.sleep(0.05)
    lines = [line for line in rest_server.log_text().splitlines() if "/stage/items/42?q=log" in line]
    assert len(lines) == 1
    assert "Exception ignored" not in rest_server.log_text()
    assert "Warning" not in rest_server.log_text()


def test_serve_every_source(any_server: Server, tmp_path: Path) -> None:
    url = any_server.url
    assert httpx.get(f"{url}/items/9", params={"q": "ü x"}).json()["q"] == "ü x"
    response = httpx.get(f"{url}/download")
    assert response.content == BINARY
    files = {"file": ("a.bin", BINARY, "application/octet-stream")}
    assert httpx.post(f"{url}/upload", files=files).json()["sha256"] == hashlib.sha256(BINARY).hexdigest()
    cookies = httpx.get(f"{url}/cookies").headers.get_list("set-cookie")
    # Lambda@Edge results keep one value per header (Mangum semantics): only the last cookie survives.
    assert len(cookies) == (1 if any_server.source == "edge" else 3)
    proc = curl("-o", str(tmp_path / "d.bin"), f"{url}/download")
    assert proc.returncode == 0 and (tmp_path / "d.bin").read_bytes() == BINARY


def test_serve_handler_crash_gets_502(tmp_path: Path) -> None:
    for server in start_server(tmp_path, "tests.cli_apps:failing_lifespan_app"):
        response = httpx.get(f"{server.url}/anything")
        assert response.status_code == 502
        assert response.json() == {"message": "Internal server error"}
        proc = curl("-o", "/dev/null", "-w", "%{http_code}", f"{server.url}/again")
        assert proc.stdout == "502"
        assert server.proc.poll() is None  # still serving
    log = server.log_text()
    assert "LifespanFailure" in log
    assert '"GET /anything HTTP/1.1" 502' in log


def test_serve_bad_app_exits_2(tmp_path: Path) -> None:
    proc = cli("serve", "no_such_module_xyz:app", "--port", "0")
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == "cymangum serve: cannot import 'no_such_module_xyz': no module named 'no_such_module_xyz'"
    )
