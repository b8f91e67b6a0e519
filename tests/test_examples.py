"""The deployable examples in examples/, validated offline.

- every CloudFormation / SAM template passes cfn-lint (run as a subprocess of this interpreter);
- the SAM template declares what the examples promise (event sources, both architectures, the handler);
- each example app runs through cymangum in-process for every event source its template declares, and through
  `cymangum invoke` in a subprocess, the way Lambda would import it (module `app`, attribute `handler`);
- the container example's Dockerfile has a sensible FROM and CMD;
- with a local wheelhouse/ of built wheels, pip picks the manylinux2014 wheel for both Lambda architectures.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import cymangum
from cymangum import cli_events

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SAM = EXAMPLES / "sam"
SAM_TEMPLATE = SAM / "template.yaml"
CONTAINER = EXAMPLES / "container"
WHEELHOUSE = ROOT / "wheelhouse"
TEMPLATES = sorted(EXAMPLES.glob("**/template.yaml"))
# Where this session's cymangum comes from, so that subprocesses use the same one.
CYMANGUM_PATH = str(Path(cymangum.__file__).resolve().parent.parent)

# Event sources of cymangum's CLI (cli_events.SOURCES) a template's resources stand for.
HTTP_SOURCES = {"HttpApi": "http", "Api": "rest"}
LAMBDA_RUNTIMES = {f"python3.{minor}" for minor in range(10, 15)}


# ---------------------------------------------------------------------------------------------------------------
# Templates


def load_template(path: Path) -> dict[str, Any]:
    """The template as plain data; CloudFormation's short-form tags (!Ref, !GetAtt, ...) become {tag: value}."""
    import yaml  # a dependency of cfn-lint

    class Loader(yaml.SafeLoader):
        pass

    def tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {suffix: value}

    Loader.add_multi_constructor("!", tagged)
    with path.open(encoding="utf-8") as f:
        data = yaml.load(f, Loader=Loader)  # a SafeLoader subclass
    assert isinstance(data, dict), f"{path}: not a mapping"
    return data


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each AWS::Serverless::Function's properties, with the template's Globals applied."""
    globals_ = template.get("Globals", {}).get("Function", {})
    found = {}
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            found[name] = {**globals_, **resource.get("Properties", {})}
    return found


def declared_sources(template: dict[str, Any]) -> dict[str, set[str]]:
    """For each function, the cymangum event sources (cli_events.SOURCES) its template wires to it."""
    sources: dict[str, set[str]] = {name: set() for name in functions(template)}
    for name, props in functions(template).items():
        for event in props.get("Events", {}).values():
            if event.get("Type") in HTTP_SOURCES:
                sources[name].add(HTTP_SOURCES[event["Type"]])
        if "FunctionUrlConfig" in props:
            sources[name].add("url")
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != "AWS::ElasticLoadBalancingV2::TargetGroup":
            continue
        props = resource.get("Properties", {})
        if props.get("TargetType") != "lambda":
            continue
        attributes = {a["Key"]: a["Value"] for a in props.get("TargetGroupAttributes", [])}
        multi = str(attributes.get("lambda.multi_value_headers.enabled", "false")).lower() == "true"
        for target in props.get("Targets", []):
            function_name = target["Id"]["GetAtt"].split(".")[0]
            sources[function_name].add("alb-multi" if multi else "alb")
    return sources


def test_there_are_templates_to_check() -> None:
    assert SAM_TEMPLATE in TEMPLATES


@pytest.mark.one_impl
def test_templates_pass_cfn_lint(tmp_path: Path) -> None:
    """cfn-lint (with the SAM transform applied) finds nothing in the templates, and does find the error in a
    broken copy (so this test can fail: the transform runs and the ALB target group is checked)."""
    broken = tmp_path / "template.yaml"
    broken.write_text(
        SAM_TEMPLATE.read_text(encoding="utf-8").replace("TargetType: lambda", "TargetType: lambada"),
        encoding="utf-8",
    )
    runner = "import sys; from cfnlint.runner import main; sys.exit(main())"
    proc = subprocess.run(
        [sys.executable, "-c", runner, "--format", "parseable", "--", *map(str, TEMPLATES), str(broken)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    if "No module named 'cfnlint'" in proc.stderr:
        pytest.fail("cfn-lint is not installed: it is part of the test extra (pip install cfn-lint)")
    # Exit status: a bit mask, 2 errors, 4 warnings, 8 informational; 1 a failure of cfn-lint itself.
    assert proc.returncode == 2, f"cfn-lint exit status {proc.returncode}:\n{proc.stdout}{proc.stderr}"
    findings = [line for line in proc.stdout.splitlines() if line.strip()]
    about_examples = [line for line in findings if not line.startswith(str(broken))]
    assert about_examples == [], "\n".join(about_examples)
    assert any(":E" in line and "lambada" in line for line in findings), proc.stdout


@pytest.mark.one_impl
def test_sam_template_declares_what_the_example_promises() -> None:
    template = load_template(SAM_TEMPLATE)
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    funcs = functions(template)
    architectures = set()
    for name, props in funcs.items():
        assert props["Runtime"] in LAMBDA_RUNTIMES, name
        assert props["Handler"] == "app.handler", name
        assert (SAM / props["CodeUri"] / "app.py").is_file(), name
        architectures.update(props.get("Architectures", ["x86_64"]))
    assert architectures == {"arm64", "x86_64"}

    sources = declared_sources(template)
    assert set().union(*sources.values()) == {"http", "rest", "url", "alb-multi"}

    # The REST API has a named stage, and the function behind it gets BASE_PATH (api_gateway_base_path).
    rest_apis = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Api"]
    assert rest_apis and all(api["Properties"].get("StageName") for api in rest_apis)
    for name, props in funcs.items():
        if "rest" in sources[name]:
            assert "BASE_PATH" in props["Environment"]["Variables"], name

    # The ALB may invoke the function its target group names.
    resources = template["Resources"]
    permissions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    assert any(p["Properties"]["Principal"] == "elasticloadbalancing.amazonaws.com" for p in permissions)

    requirements = (SAM / "app" / "requirements.txt").read_text(encoding="utf-8").split()
    assert {"cymangum", "fastapi"} <= {re.split(r"[<>=!~\[;]", line)[0].lower() for line in requirements}


# ---------------------------------------------------------------------------------------------------------------
# The example apps, in-process and through `cymangum invoke`


def example_apps() -> list[tuple[Path, set[str]]]:
    """(app.py, the event sources its deployment declares) for every example."""
    template = load_template(SAM_TEMPLATE)
    sam_sources = set().union(*declared_sources(template).values())
    # The container image is meant for a Function URL, API Gateway or an ALB alike.
    return [(SAM / "app" / "app.py", sam_sources), (CONTAINER / "app.py", {"url", "http", "rest", "alb"})]


APP_CASES = [
    pytest.param(path, source, id=f"{path.parent.relative_to(EXAMPLES)}-{source}")
    for path, sources in example_apps()
    for source in sorted(sources)
]


@pytest.fixture
def import_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Import an example's app.py afresh (under a private name), as Lambda's init phase would."""
    saved_sigterm = signal.getsignal(signal.SIGTERM)
    handlers: list[Any] = []

    def load(path: Path, **environ: str) -> ModuleType:
        for key, value in environ.items():
            monkeypatch.setenv(key, value)
        name = f"_cymangum_example_{len(handlers)}_{path.parent.name}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handlers.append(module.handler)
        return module

    yield load
    for handler in handlers:
        handler.shutdown()  # the lifespan started at import (lifespan_once="init")
    signal.signal(signal.SIGTERM, saved_sigterm)


def call(handler: Any, source: str, path: str, *, method: str = "GET", body: bytes | None = None) -> Any:
    request = cli_events.request_from_options(method=method, path=path, body=body)
    event = cli_events.build_event(source, request)
    result = handler(event, cli_events.LambdaContext())
    return cli_events.decode_result(result), result


@pytest.mark.parametrize(("app_path", "source"), APP_CASES)
def test_example_app_in_process(import_app: Any, app_path: Path, source: str) -> None:
    module = import_app(app_path)
    handler = module.handler
    assert isinstance(handler, cymangum.Mangum)
    assert handler.lifespan_once == "init"
    assert handler._environment_lifespan is not None, "lifespan startup should run at import time"

    response, _ = call(handler, source, "/")
    assert response.status == 200
    assert json.loads(response.body)["message"] == "hello from cymangum"

    response, result = call(handler, source, "/items/3?q=x")
    assert response.status == 200
    assert json.loads(response.body) == {"item_id": 3, "q": "x"}
    if source == "alb-multi":
        assert "multiValueHeaders" in result and "headers" not in result

    response, _ = call(handler, source, "/items", method="POST", body=b'{"name": "widget"}')
    assert response.status == 200
    assert json.loads(response.body) == {"created": {"name": "widget"}}

    response, _ = call(handler, source, "/items/not-a-number")
    assert response.status == 422


def test_example_app_strips_base_path_from_environment(import_app: Any) -> None:
    """BASE_PATH (a REST API custom-domain base path mapping) becomes api_gateway_base_path."""
    module = import_app(SAM / "app" / "app.py", BASE_PATH="/v1")
    response, _ = call(module.handler, "rest", "/v1/items/7")
    assert response.status == 200
    assert json.loads(response.body) == {"item_id": 7, "q": None}


def run_cli(cwd: Path, *args: str, environ: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(environ or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [CYMANGUM_PATH, env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "cymangum", "invoke", "app:handler", "--json", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )


# Every source runs in-process above; here, one subprocess per example and the environment variable.
CLI_CASES = [
    pytest.param(SAM / "app", "alb-multi", {}, "/items/3?q=x", {"item_id": 3, "q": "x"}, id="sam-alb-multi"),
    pytest.param(
        SAM / "app",
        "rest",
        {"BASE_PATH": "/v1"},
        "/v1/items/3",
        {"item_id": 3, "q": None},
        id="sam-rest-base",
    ),
    pytest.param(CONTAINER, "url", {}, "/items/5", {"item_id": 5, "q": None}, id="container-url"),
]


@pytest.mark.one_impl
@pytest.mark.parametrize(("cwd", "source", "environ", "path", "expected"), CLI_CASES)
def test_example_app_through_cymangum_invoke(
    cwd: Path, source: str, environ: dict[str, str], path: str, expected: dict[str, Any]
) -> None:
    proc = run_cli(cwd, "--source", source, "--path", path, environ=environ)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == expected


# ---------------------------------------------------------------------------------------------------------------
# The container image


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments and blank lines dropped, continuation lines joined."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, arguments = line.partition(" ")
            found.append((instruction.upper(), arguments.strip()))
    return found


@pytest.mark.one_impl
def test_dockerfile_from_and_cmd() -> None:
    instructions = dockerfile_instructions(CONTAINER / "Dockerfile")
    froms = [args for instr, args in instructions if instr == "FROM"]
    assert len(froms) == 1
    # No --platform in FROM: `docker buildx build --platform linux/arm64|linux/amd64` chooses the architecture
    # of the multi-arch base image.
    match = re.fullmatch(r"public\.ecr\.aws/lambda/python:(3\.\d+)", froms[0])
    assert match, froms[0]
    assert f"python{match.group(1)}" in LAMBDA_RUNTIMES

    cmds = [args for instr, args in instructions if instr == "CMD"]
    assert len(cmds) == 1
    cmd = json.loads(cmds[0])  # exec form: a JSON array
    assert cmd == ["app.handler"]
    module, attr = cmd[0].rsplit(".", 1)
    assert re.search(rf"^{attr} = Mangum\(", (CONTAINER / f"{module}.py").read_text(encoding="utf-8"), re.M)

    for instr, args in instructions:
        if instr == "COPY":
            *sources, _ = args.split()
            for source in sources:
                assert (CONTAINER / source).exists(), f"COPY {source}: not in the build context"
    requirements = (CONTAINER / "requirements.txt").read_text(encoding="utf-8").split()
    assert "cymangum" in {re.split(r"[<>=!~\[;]", line)[0].lower() for line in requirements}


# ---------------------------------------------------------------------------------------------------------------
# Wheels: pip must choose the compiled manylinux2014 wheel (Lambda's python3.10/3.11 run on glibc 2.26)


def wheelhouse_versions(arch: str) -> list[str]:
    """The CPython versions ("3.11") with a manylinux2014 `arch` wheel of cymangum in wheelhouse/."""
    if not WHEELHOUSE.is_dir():
        return []
    versions = set()
    for wheel in WHEELHOUSE.glob(f"cymangum-*-cp3*-cp3*-*manylinux2014_{arch}*.whl"):
        tag = wheel.name.split("-")[2]  # cp311
        versions.add(f"{tag[2]}.{tag[3:]}")
    return sorted(versions)


@pytest.mark.one_impl
@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_pip_chooses_the_manylinux2014_wheel(arch: str, tmp_path: Path) -> None:
    versions = wheelhouse_versions(arch)
    if not versions:
        pytest.skip(
            f"no cymangum manylinux2014_{arch} wheels in {WHEELHOUSE}: they are built by .ci/wheels.sh "
            "(cibuildwheel), which runs this check in CI"
        )
    for version in versions:
        dest = tmp_path / version
        command = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet"]
        command += ["--no-index", "--find-links", str(WHEELHOUSE), "--platform", f"manylinux2014_{arch}"]
        command += ["--python-version", version, "--implementation", "cp", "--only-binary=:all:"]
        command += ["--no-deps", "cymangum", "-d", str(dest)]
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        chosen = [p.name for p in dest.iterdir()]
        assert len(chosen) == 1, chosen
        cp = "cp" + version.replace(".", "")
        assert re.fullmatch(rf"cymangum-[^-]+-{cp}-{cp}-\S*manylinux2014_{arch}\S*\.whl", chosen[0]), chosen
