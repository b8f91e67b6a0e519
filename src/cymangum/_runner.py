"""Running a coroutine to completion on the calling thread's persistent event loop.

One loop per thread, created once and never closed, so loop-bound clients survive between invocations (users
rely on this, see SPEC 7.2). `run()` first tries a fast drive: the loop is marked running exactly as
`run_forever` marks it, and ready callbacks are run without polling the selector, which is what an app that
never waits on I/O or timers needs; when nothing else is ready, the task takes its first step as it is created
(eager start). As soon as nothing is ready but the task is not done (the app waits on a socket or a timer),
the same task is handed to `run_until_complete`, which does the rest the ordinary way.
Anything unusual (another loop class, debug mode, an unknown Python) goes straight to `run_until_complete`.
CYMANGUM_NO_FAST_LOOP=1 turns the fast drive off.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import warnings
from asyncio import events
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_local = threading.local()
# The thread in the fast drive. One global rather than a thread-local (cheaper to set per invocation): when two
# threads drive at once, others_ready() may answer True where False would do, never the reverse.
_driving_thread: int | None = None


def _standard_loop_class() -> type[asyncio.AbstractEventLoop]:
    if sys.platform == "win32":  # pragma: no cover - Lambda is Linux
        return asyncio.ProactorEventLoop
    from asyncio import unix_events

    return unix_events._UnixSelectorEventLoop


# The standard loop on this platform; the fast drive relies on its private attributes.
_STANDARD_LOOP = _standard_loop_class()
# Only on the Pythons whose asyncio internals it was checked against (3.14 changed how the current task is
# tracked and could not be tested here); elsewhere every call takes run_until_complete.
FAST_LOOP_ENABLED = (
    os.environ.get("CYMANGUM_NO_FAST_LOOP", "") in ("", "0") and (3, 10) <= sys.version_info[:2] <= (3, 13)
)


def thread_loop() -> asyncio.AbstractEventLoop:
    """The calling thread's loop: the one already set for the thread, or a new one that is then set."""
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is not None and not (loop._closed if type(loop) is _STANDARD_LOOP else loop.is_closed()):  # type: ignore[attr-defined]
        return loop
    loop = _current_loop()
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
    _local.loop = loop
    return loop


def _current_loop() -> asyncio.AbstractEventLoop | None:
    """The loop set for this thread, if any, without the DeprecationWarning newer Pythons give."""
    running = events._get_running_loop()
    if running is not None:
        return running
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return asyncio.get_event_loop()
        except RuntimeError:
            return None


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run coro to completion on this thread's loop and return its result (or raise its exception)."""
    loop = thread_loop()
    if events._get_running_loop() is not None:
        coro.close()
        raise RuntimeError(
            "cymangum cannot be called from a running event loop: the handler drives its own loop "
            "(call it from synchronous code, e.g. through loop.run_in_executor)"
        )
    # The standard loop's _debug is read directly: this runs once per invocation.
    if not (FAST_LOOP_ENABLED and type(loop) is _STANDARD_LOOP and not loop._debug):  # type: ignore[attr-defined]
        return loop.run_until_complete(coro)
    task = _drive(loop, coro)
    if task.done():
        return task.result()
    return loop.run_until_complete(task)


def others_ready() -> bool:
    """Whether one loop turn now (asyncio.sleep(0)) could run anything besides the caller: always, except in the
    fast drive when no other callback is ready, where the turn would only requeue the caller (the fast drive
    does not poll the selector, so there is no I/O for the turn to pick up either)."""
    if _driving_thread != threading.get_ident():
        return True
    return bool(events._get_running_loop()._ready)  # type: ignore[union-attr]


def _drive(loop: Any, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Run ready callbacks with the loop marked running until the task is done or must wait for I/O."""
    global _driving_thread
    old_hooks = sys.get_asyncgen_hooks()
    loop._thread_id = _driving_thread = threading.get_ident()
    # Positional: keyword arguments cost this call twice as much.
    sys.set_asyncgen_hooks(loop._asyncgen_firstiter_hook, loop._asyncgen_finalizer_hook)
    events._set_running_loop(loop)
    try:
        ready = loop._ready
        popleft = ready.popleft
        task: asyncio.Task[T]
        if loop._task_factory is not None:
            task = loop.create_task(coro)
        elif not ready:
            # The task takes its first step now, one loop callback less. Only when nothing else is ready, so
            # that the step comes exactly where run_until_complete would run it; the app sees its running loop
            # and current_task() either way.
            if _HAS_EAGER_START:
                task = asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]
            else:
                task = _eager_task(loop, coro)
        else:
            # The Task itself, as loop.create_task makes it when no task factory is set (one call less).
            task = asyncio.Task(coro, loop=loop)
        # A task that finished in its eager first step has had the step that run_until_complete's first
        # batch would give it: one more batch follows, as below.
        finished = task.done()
        while ready:
            # One batch: the callbacks that are ready now, not those they schedule (as _run_once does).
            for _ in range(len(ready)):
                handle = popleft()
                if not handle._cancelled:
                    handle._run()
            if finished:
                break
            # After the task completes, one more batch, as run_until_complete gives, so that tasks the app
            # spawned get started.
            finished = task.done()
        return task
    finally:
        _driving_thread = None
        events._set_running_loop(None)
        loop._thread_id = None
        sys.set_asyncgen_hooks(*old_hooks)


_HAS_EAGER_START = sys.version_info >= (3, 12)
if not _HAS_EAGER_START:

    class _FirstStep:
        """Stands in for loop.call_soon while a Task is created, to keep the step the Task schedules.

        Only the first call is kept: any other one (a finalizer that a garbage collection runs in the middle of
        the constructor could call loop.call_soon) goes to the loop's own call_soon, so nothing is lost.
        """

        callback: Any = None  # until the first call (a class default: no __init__ call per invocation)
        loop: Any

        def __call__(self, callback: Any, *args: Any, context: Any = None) -> Any:
            # The Task's own call always passes the Task's context.
            if self.callback is not None or context is None:
                return _STANDARD_LOOP.call_soon(self.loop, callback, *args, context=context)
            self.callback, self.args, self.context = callback, args, context
            return None

    def _eager_task(loop: Any, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """3.12's eager_start for 3.10 and 3.11: the Task's first step is run now instead of being queued.

        A Task schedules its first step with loop.call_soon, looked up on the loop; for the Task's constructor
        only, an instance attribute stands in for it and keeps the step, which then runs in the Task's context
        as the loop's Handle would run it. (Both Pythons only get security fixes: this cannot change under us.)
        """
        first_step = _FirstStep()
        first_step.loop = loop
        loop.call_soon = first_step
        try:
            task = asyncio.Task(coro, loop=loop)
        finally:
            del loop.call_soon
        if first_step.callback is not None:
            first_step.context.run(first_step.callback, *first_step.args)
        return task
