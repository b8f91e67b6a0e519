"""A FastAPI app behind API Gateway (HTTP API and REST API), a Function URL and an ALB, through cymangum.

Lambda imports this module during its init phase and calls `handler(event, context)` per invocation.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request

from cymangum import Mangum


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    # Open clients / pools here. With lifespan_once="init" this runs once, during Lambda's init phase.
    yield {"greeting": os.environ.get("GREETING", "hello")}
    # Close them here: runs when the execution environment shuts down (SIGTERM).


app = FastAPI(title="cymangum example", lifespan=lifespan)


@app.get("/")
async def root(request: Request) -> dict[str, Any]:
    return {
        "message": f"{request.state.greeting} from cymangum",
        "path": request.url.path,
        "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local"),
    }


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None) -> dict[str, Any]:
    return {"item_id": item_id, "q": q}


@app.post("/items")
async def create_item(item: dict[str, Any]) -> dict[str, Any]:
    return {"created": item}


# BASE_PATH: the part of the path API Gateway passes on that the app should not see, e.g. "/v1" for a REST API
# custom-domain base path mapping. "/" (the default) strips nothing.
handler = Mangum(app, lifespan_once="init", api_gateway_base_path=os.environ.get("BASE_PATH", "/"))
