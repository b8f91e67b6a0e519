"""HTTP cycle details that frameworks rely on."""

from __future__ import annotations

import asyncio
import contextvars
import sys
from typing import Any

import mangum
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

import cymangum
from tests.events import load_event


def event() -> dict[str, Any]:
    return load_event("powertools/apiGatewayProxyV2Event.json")


def test_streaming_that_checks_is_disconnected_is_not_cancelled() -> None:
    async def sse(request: Request) -> StreamingResponse:
        async def stream() -> Any:
            for i in range(3):
                if await request.is_disconnected():
                    break
                yield f"data: {i}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")

    app = Starlette(routes=[Route("/my/path", sse, methods=["GET", "POST"])])
    ours = cymangum.Mangum(app, lifespan="off")(event(), None)
    assert ours == {
        "statusCode": 200,
        "body": "data: 0\n\ndata: 1\n\ndata: 2\n\n",
        "headers": {"content-type": "text/event-stream; charset=utf-8"},
        "isBase64Encoded": False,
    }


def test_a_cancelled_receive_does_not_cancel_other_waiters() -> None:
    outcome: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        waiter = asyncio.ensure_future(receive())
        cancelled = asyncio.ensure_future(receive())
        await asyncio.sleep(0)
        cancelled.cancel()
        await asyncio.sleep(0)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        outcome.append((await waiter)["type"])

    assert cymangum.Mangum(app, lifespan="off")(event(), None)["statusCode"] == 200
    assert outcome == ["http.disconnect"]


def test_a_task_spawned_by_the_request_runs_before_shutdown_as_with_mangum() -> None:
    def make_app(order: list[str]) -> Any:
        async def record() -> None:
            await asyncio.sleep(0)
            order.append("task")

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "lifespan":
                while True:
                    message = await receive()
                    order.append(message["type"].split(".")[1])
                    await send({"type": message["type"] + ".complete"})
                    if message["type"] == "lifespan.shutdown":
                        return
            app.task = asyncio.ensure_future(record())  # type: ignore[attr-defined]
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        return app

    ours: list[str] = []
    theirs: list[str] = []
    cymangum.Mangum(make_app(ours))(event(), None)
    mangum.Mangum(make_app(theirs))(event(), None)
    assert ours == theirs == ["startup", "task", "shutdown"]


def test_the_turn_before_shutdown_is_skipped_only_when_nothing_else_is_ready() -> None:
    from cymangum import _runner

    async def probe() -> list[bool]:
        seen = [_runner.others_ready()]
        asyncio.get_running_loop().call_soon(lambda: None)
        seen.append(_runner.others_ready())
        await asyncio.sleep(0)
        seen.append(_runner.others_ready())
        await asyncio.sleep(0.001)  # a timer: the rest runs under run_until_complete, which keeps every turn
        seen.append(_runner.others_ready())
        return seen

    expected = [False, True, False, True] if _runner.FAST_LOOP_ENABLED else [True, True, True, True]
    assert _runner.run(probe()) == expected
    assert _runner.others_ready()


def test_an_app_that_never_waits_is_driven_without_run_until_complete(monkeypatch: Any) -> None:
    from cymangum import _runner

    if not _runner.FAST_LOOP_ENABLED:
        return  # CYMANGUM_NO_FAST_LOOP=1: the other half of the matrix
    loop = _runner.thread_loop()
    calls: list[object] = []
    original = loop.run_until_complete
    monkeypatch.setattr(loop, "run_until_complete", lambda future: calls.append(future) or original(future))

    async def quick(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert asyncio.current_task() is not None and asyncio.get_running_loop() is loop
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def waits(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await asyncio.sleep(0.001)
        await quick(scope, receive, send)

    assert cymangum.Mangum(quick)(event(), None)["statusCode"] == 200
    assert calls == []
    assert cymangum.Mangum(waits, lifespan="off")(event(), None)["statusCode"] == 200
    assert len(calls) == 1, "a timer must hand the task to run_until_complete"
    assert not loop.is_running()


def test_callbacks_and_spawned_tasks_run_in_mangums_order() -> None:
    """The fast drive (the task's first step taken at its creation) runs callbacks and tasks in the order
    Mangum's run_until_complete gives: with and without a callback already queued before the invocation."""
    from cymangum import _runner

    def make_app(order: list[str]) -> Any:
        async def grandchild() -> None:
            order.append("grandchild")

        async def child() -> None:
            order.append("child")
            tasks.append(asyncio.ensure_future(grandchild()))

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            task = asyncio.current_task()
            order.append(f"app: current task {task is not None}, listed {task in asyncio.all_tasks()}")
            asyncio.get_running_loop().call_soon(order.append, "soon")
            tasks.append(asyncio.ensure_future(child()))
            await send({"type": "http.response.start", "status": 204, "headers": []})
            order.append("started")
            await send({"type": "http.response.body", "body": b""})

        return app

    tasks: list[asyncio.Future[None]] = []
    loop = _runner.thread_loop()
    # Both adapters on the same loop, as in a Lambda environment (another test may have set a different one
    # for this thread since cymangum adopted its loop; Mangum would run on that one).
    previous = _runner._current_loop()
    asyncio.set_event_loop(loop)
    try:
        for queued_before in (False, True):
            orders = []
            for adapter in (cymangum, mangum):
                order: list[str] = []
                if queued_before:
                    loop.call_soon(order.append, "queued before")
                assert adapter.Mangum(make_app(order), lifespan="off")(event(), None)["statusCode"] == 204
                order.append("returned")
                loop.run_until_complete(
                    asyncio.sleep(0.001)
                )  # what is left runs now, before the next adapter
                orders.append(order)
            assert orders[0] == orders[1], (queued_before, orders)
            assert orders[0][0 + queued_before] == "app: current task True, listed True"
            assert "grandchild" in orders[0]
            assert "call_soon" not in vars(loop), "the loop keeps no stand-in for call_soon"
    finally:
        asyncio.set_event_loop(previous)
    assert all(task.done() for task in tasks)


def test_a_failing_task_creation_leaves_the_loop_as_it_was() -> None:
    from cymangum import _runner

    loop = _runner.thread_loop()
    with pytest.raises(TypeError):
        _runner.run(object())  # type: ignore[arg-type]
    assert "call_soon" not in vars(loop)
    assert not loop.is_running() and asyncio._get_running_loop() is None


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12+ create the task with eager_start=True")
def test_the_call_soon_stand_in_keeps_the_first_call_and_passes_on_the_others() -> None:
    """3.10/3.11: a finalizer run by a garbage collection inside the Task's constructor may call loop.call_soon
    too; that call must reach the loop, not replace the Task's step."""
    from cymangum import _runner

    loop = _runner.thread_loop()
    calls: list[str] = []
    stand_in = _runner._FirstStep()
    stand_in.loop = loop
    before = stand_in(calls.append, "no context")  # not a Task's call: passed on
    assert stand_in(calls.append, "step", context=contextvars.copy_context()) is None
    after = stand_in(calls.append, "other", context=contextvars.copy_context())
    assert (stand_in.callback, stand_in.args) == (calls.append, ("step",))
    assert before in loop._ready and after in loop._ready
    loop.run_until_complete(asyncio.sleep(0))
    assert calls == ["no context", "other"]


def test_the_first_step_runs_in_the_tasks_own_context() -> None:
    """As with run_until_complete: the app's context is a copy, its changes do not leak into the caller's."""

    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="caller")
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(var.get())
        var.set("app")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    var.set("invoker")
    for _ in range(2):
        assert cymangum.Mangum(app, lifespan="off")(event(), None)["statusCode"] == 204
    assert seen == ["invoker", "invoker"] and var.get() == "invoker"
