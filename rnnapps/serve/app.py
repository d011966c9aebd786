"""The ASGI application: TensorFlow Serving's REST routes, the health check and the page.

Routes (``NAME`` is a served model, ``V`` a version number):

* ``POST /v1/models/NAME[/versions/V]:predict`` -- ``rest.parse`` / ``rest.respond``;
* ``GET /v1/models/NAME[/versions/V]`` -- status; ``.../metadata`` -- signatures;
* ``GET /healthz`` -- 200 and the served versions while every model serves;
* ``GET /`` -- the page: a form per model (``static/``), which calls the
  REST routes above, and ``GET /ui/models`` for what each form shows;
* ``POST /ui/models/NAME:forecast`` -- a forecasting model's forecast after
  rows given as CSV text (the page's paste box and upload).

Every error is JSON, ``{"error": message}``: 400 for a bad request, 404 for
an unknown model, version or route, 413 for a body over the size limit, 500
for a bug (logged with its traceback; the server keeps serving).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rnnapps import registry
from rnnapps.errors import UsageError
from rnnapps.serve import rest
from rnnapps.serve.models import ModelStore, NotFound, ServedModel, Version

STATIC = Path(__file__).parent / "static"
LOG = logging.getLogger("rnnapps.serve")


class JSON(JSONResponse):
    """JSON that may hold NaN and Infinity, as TensorFlow Serving's responses may."""

    def render(self, content) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def make_app(store: ModelStore, limits: rest.Limits = rest.Limits(), poll: bool = True):
    """The application serving ``store``'s models.

    Args:
        store: The models.
        limits: What one request may ask for.
        poll: Look for new versions while the application runs.

    Returns:
        A Starlette application (run it with uvicorn).
    """
    def version_of(request: Request) -> tuple[ServedModel, Version]:
        model = store.get(request.path_params["name"])
        return model, model.version(_number(request))

    async def predict(request: Request) -> JSON:
        _, version = version_of(request)
        body = await _body(request, limits.max_request_bytes)
        answer = await run_in_threadpool(
            lambda: rest.respond(rest.parse(body, version.signatures, limits)))
        return JSON(answer)

    async def status(request: Request) -> JSON:
        if request.path_params["name"].endswith(":predict"):
            raise rest.RestError("predict takes POST, with a JSON body", status=405)
        return JSON(store.get(request.path_params["name"]).status(_number(request)))

    async def metadata(request: Request) -> JSON:
        model, version = version_of(request)
        return JSON(model.metadata(version.number))

    async def health(request: Request) -> JSON:
        return JSON({"status": "ok", "models": {
            name: model.current.number for name, model in store.models.items()}})

    async def models(request: Request) -> JSON:
        return JSON({"models": [_describe(name, model.current)
                                for name, model in store.models.items()]})

    async def forecast(request: Request) -> JSON:
        _, version = version_of(request)
        if version.task != "regression":
            raise rest.RestError(f"{request.path_params['name']} is a {version.task} model, "
                                 "not a forecasting one")
        body = await _body(request, limits.max_request_bytes)
        text = _field(body, "csv")
        serving = importlib.import_module(registry.TASKS["regression"] + ".serving")
        try:
            return JSON(await run_in_threadpool(serving.predict_text, version.export.path, text))
        except UsageError as err:
            raise rest.RestError(str(err)) from None

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if poll:
            store.start()
        yield
        if poll:
            store.stop()

    model = "/v1/models/{name}"
    version = model + "/versions/{version}"
    routes = [
        Route(model + ":predict", predict, methods=["POST"]),
        Route(version + ":predict", predict, methods=["POST"]),
        Route(model, status, methods=["GET"]),
        Route(version, status, methods=["GET"]),
        Route(model + "/metadata", metadata, methods=["GET"]),
        Route(version + "/metadata", metadata, methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
        Route("/", lambda request: FileResponse(STATIC / "index.html"), methods=["GET"]),
        Route("/ui/models", models, methods=["GET"]),
        Route("/ui/models/{name}:forecast", forecast, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    handlers = {rest.RestError: _error, NotFound: _error, HTTPException: _error,
                Exception: _error}
    return Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)


def _number(request: Request) -> int | None:
    """The version number in the URL, if any."""
    number = request.path_params.get("version")
    if number is not None and not number.isdigit():
        raise rest.RestError(f"version must be a whole number, got {number!r}")
    return None if number is None else int(number)


async def _error(request: Request, err: Exception) -> JSON:
    """Every error as ``{"error": message}`` with its status."""
    if isinstance(err, rest.RestError):
        return JSON({"error": str(err)}, status_code=err.status)
    if isinstance(err, NotFound):
        return JSON({"error": str(err)}, status_code=404)
    if isinstance(err, HTTPException):
        message = {404: f"no route {request.method} {request.url.path}",
                   405: f"{request.method} is not allowed on {request.url.path}"}
        return JSON({"error": message.get(err.status_code, str(err.detail))},
                    status_code=err.status_code)
    LOG.exception("error serving %s %s", request.method, request.url.path)
    return JSON({"error": f"internal error: {type(err).__name__}: {err}"}, status_code=500)


async def _body(request: Request, max_bytes: int) -> bytes:
    """The request body, refused (413) as soon as it passes ``max_bytes``."""
    declared = request.headers.get("content-length", "")
    too_large = rest.RestError(f"the body is over {max_bytes:,} bytes, this server's limit "
                               "(--max-request-bytes)", status=413)
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _field(body: bytes, key: str) -> str:
    """A string field of a JSON object body."""
    try:
        value = json.loads(body).get(key)
    except (ValueError, UnicodeDecodeError, AttributeError):
        value = None
    if not isinstance(value, str):
        raise rest.RestError(f'the body must be a JSON object with a string "{key}"')
    return value


def _describe(name: str, version: Version) -> dict:
    """What the page shows of one model: its task's ``page_info`` and its signatures."""
    serving = importlib.import_module(registry.TASKS[version.task] + ".serving")
    return {"name": name, "task": version.task, "version": version.number,
            "signatures": sorted(version.signatures), **serving.page_info(version.export)}
