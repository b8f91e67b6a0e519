"""A handler that kills its own process the first time it sees an event with ``"crash": true``.

The first runtime process creates the marker file named by ``RIC_APPS_CRASH_MARKER`` and exits abruptly while it
holds the event (no answer is posted); a second process finds the marker and answers. Used to check that the
Runtime API emulator hands the event back.
"""

from __future__ import annotations

import os
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    marker = os.environ["RIC_APPS_CRASH_MARKER"]
    if event.get("crash") and not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        os._exit(17)
    return {"pid": os.getpid(), "request_id": context.aws_request_id, "event": event}
