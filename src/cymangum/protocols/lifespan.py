"""The ASGI lifespan cycle: startup and shutdown around the app's lifetime (SPEC 6)."""

from __future__ import annotations

import asyncio
import enum
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .. import _runner
from ..exceptions import LifespanFailure, LifespanUnsupported, UnexpectedMessage

if TYPE_CHECKING:
    from ..types import ASGI, LifespanMode, Message

_logger = logging.getLogger("mangum.lifespan")
_LIFESPAN_MESSAGES = frozenset(
    (
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
        "lifespan.startup.failed",
        "lifespan.shutdown.failed",
    )
)


class LifespanCycleState(enum.Enum):
    """CONNECTING until the app first receives; then STARTUP, SHUTDOWN; FAILED or UNSUPPORTED on problems."""

    CONNECTING = enum.auto()
    STARTUP = enum.auto()
    SHUTDOWN = enum.auto()
    FAILED = enum.auto()
    UNSUPPORTED = enum.auto()


# Read through module names: an enum member lookup costs as much as a Python call on 3.11.
_CONNECTING, _STARTUP, _SHUTDOWN, _FAILED, _UNSUPPORTED = LifespanCycleState


class LifespanCycle:
    """Runs the app's lifespan protocol.

    Synchronous use, as in Mangum: `with LifespanCycle(app, "auto"):` runs startup on enter and shutdown on exit.
    The adapter instead awaits `startup()` and `shutdown()` inside its own single drive of the loop.
    """

    def __init__(self, app: ASGI, lifespan: LifespanMode) -> None:
        self.app = app
        self.lifespan = lifespan
        self.state = _CONNECTING
        self.exception: BaseException | None = None
        self.logger = _logger
        self.lifespan_state: dict[str, Any] = {}
        self._messages: list[Message] = []
        self._message_waiter: asyncio.Future[None] | None = None
        self._startup_done: asyncio.Future[None] | None = None
        self._shutdown_done: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return _runner.thread_loop()

    def __enter__(self) -> None:
        _runner.run(self.startup())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _runner.run(self.shutdown())

    async def run(self) -> None:
        """Await the app with the lifespan scope; its failures are recorded or logged, never raised."""
        scope = {
            "type": "lifespan",
            "asgi": {"spec_version": "2.0", "version": "3.0"},
            "state": self.lifespan_state,
        }
        try:
            await self.app(scope, self.receive, self.send)
        except LifespanUnsupported:
            self.logger.info("ASGI 'lifespan' protocol appears unsupported.")
        except (LifespanFailure, UnexpectedMessage) as exc:
            self.exception = exc
        except BaseException:
            self.logger.error("Exception in 'lifespan' protocol.", exc_info=True)
        finally:
            _set(self._startup_done)
            _set(self._shutdown_done)

    async def receive(self) -> Message:
        if self.state is _CONNECTING:
            self.state = _STARTUP
        elif self.state is _STARTUP:
            self.state = _SHUTDOWN
        while not self._messages:
            self._message_waiter = asyncio.get_running_loop().create_future()
            await self._message_waiter
        return self._messages.pop(0)

    async def send(self, message: Message) -> None:
        message_type = message["type"]
        self.logger.info("%s:  '%s' event received from application.", self.state, message_type)
        if self.state is _CONNECTING:
            if self.lifespan == "on":
                raise LifespanFailure("Lifespan connection failed during startup and lifespan is 'on'.")
            self.state = _UNSUPPORTED
            raise LifespanUnsupported("Lifespan protocol appears unsupported.")
        if message_type not in _LIFESPAN_MESSAGES:
            self.state = _FAILED
            raise UnexpectedMessage(f"Unexpected '{message_type}' event received.")
        if self.state is _STARTUP:
            if message_type == "lifespan.startup.complete":
                _set(self._startup_done)
            elif message_type == "lifespan.startup.failed":
                self.state = _FAILED
                _set(self._startup_done)
                raise LifespanFailure(f"Lifespan startup failure. {message.get('message', '')}")
        elif self.state is _SHUTDOWN:
            if message_type == "lifespan.shutdown.complete":
                _set(self._shutdown_done)
            elif message_type == "lifespan.shutdown.failed":
                self.state = _FAILED
                _set(self._shutdown_done)
                raise LifespanFailure(f"Lifespan shutdown failure. {message.get('message', '')}")

    def _put(self, message: Message) -> None:
        self._messages.append(message)
        _set(self._message_waiter)

    async def startup(self) -> None:
        """Start the app's lifespan task, send lifespan.startup, wait for the answer (or the task's end)."""
        loop = asyncio.get_running_loop()
        self._startup_done = loop.create_future()
        self._shutdown_done = loop.create_future()
        # The task starts before the startup message is queued, so an app that sends first is CONNECTING.
        self._task = loop.create_task(self.run())
        self.logger.info("Waiting for application startup.")
        self._put({"type": "lifespan.startup"})
        await self._startup_done
        if self.state is _FAILED:
            raise LifespanFailure(self.exception)
        if not self.exception:
            self.logger.info("Application startup complete.")
        else:
            self.logger.info("Application startup failed.")

    def cancel(self) -> None:
        """Stop the app's lifespan task if it is still waiting (after a failed startup)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def shutdown(self) -> None:
        """Send lifespan.shutdown and wait for the answer (or the task's end)."""
        self.logger.info("Waiting for application shutdown.")
        self._put({"type": "lifespan.shutdown"})
        assert self._shutdown_done is not None, "shutdown() before startup()"
        await self._shutdown_done
        if self.state is _FAILED:
            raise LifespanFailure(self.exception)


def _set(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)
