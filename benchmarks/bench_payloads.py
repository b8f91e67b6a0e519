"""Large bodies end to end (REST event, lifespan off), cymangum beside Mangum 0.22.

- ``png-64k-response``: the app answers 64 KiB of image/png, which leaves base64-encoded (``isBase64Encoded``).
- ``base64-1m-request``: the event carries a 1 MiB binary upload base64-encoded; the app reads it all.
- ``json-1m-response``: the app answers 1 MiB of application/json text (decoded to the result's ``body`` str).

The apps send prebuilt bytes, so the difference is the adapter's body handling. Nothing asserts a time.
"""

from __future__ import annotations

from typing import Any

import pytest

import workloads


@pytest.mark.parametrize("adapter", ["cymangum", "mangum"])
@pytest.mark.parametrize("case", list(workloads.PAYLOADS))
def test_payload(benchmark: Any, case: str, adapter: str) -> None:
    if adapter == "mangum":
        pytest.importorskip("mangum")
    make_app, make_event = workloads.PAYLOADS[case]
    call = workloads.invocation(adapter, make_app(), make_event(), "off")
    workloads.check_result(call())
    benchmark.group = f"payload: {workloads.PAYLOAD_LABELS[case]}"
    benchmark.extra_info.update(case=case, adapter=adapter)
    benchmark(call)
