"""The single switchable import point: which ``Mangum`` the handler modules wrap their apps in.

``RIC_APPS_ADAPTER=cymangum`` (the default) or ``RIC_APPS_ADAPTER=mangum`` (the reference, used by the
benchmark side by side with cymangum). The test process passes its own value to the runtime processes it starts,
so both sides always run the same adapter.
"""

from __future__ import annotations

import os

ADAPTER = os.environ.get("RIC_APPS_ADAPTER", "cymangum")

if ADAPTER == "cymangum":
    from cymangum import Mangum
elif ADAPTER == "mangum":
    from mangum import Mangum
else:  # pragma: no cover - a typo in the environment
    raise ImportError(f"RIC_APPS_ADAPTER must be 'cymangum' or 'mangum', not {ADAPTER!r}")

__all__ = ["ADAPTER", "Mangum"]
