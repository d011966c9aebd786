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
        Route(model + ":predict", _predict, methods=["POST"]),
        Route(version + ":predict", _predict, methods=["POST"]),
        Route(model, _status, methods=["GET"]),
        Route(version, _status, methods=["GET"]),
        Route(model + "/metadata", _metadata, methods=["GET"]),
        Route(version + "/metadata", _metadata, methods=["GET"]),
        Route("/healthz", _health, methods=["GET"]),
        Route("/", lambda request: FileResponse(STATIC / "index.html"), methods=["GET"]),
        Route("/ui/models", _models, methods=["GET"]),
        Route("/ui/models/{name}:forecast", _forecast, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    handlers = {rest.RestError: _error, NotFound: _error, HTTPException: _error,
                Exception: _error}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.store, app.state.limits = store, limits
    return app


# ------------------------------------------------------------ the routes
async def _predict(request: Request) -> JSON:
    _, version = _version(request)
    limits = request.app.state.limits
    body = await _body(request, limits.max_request_bytes)
    return JSON(await run_in_threadpool(
        lambda: rest.respond(rest.parse(body, version.signatures, limits))))


async def _status(request: Request) -> JSON:
    name = request.path_params["name"]
    if name.endswith(":predict"):
        raise rest.RestError("predict takes POST, with a JSON body", status=405)
    return JSON(request.app.state.store.get(name).status(_number(request)))


async def _metadata(request: Request) -> JSON:
    model, version = _version(request)
    return JSON(model.metadata(version.number))


async def _health(request: Request) -> JSON:
    return JSON({"status": "ok", "models": {
        name: model.current.number for name, model in request.app.state.store.models.items()}})


async def _models(request: Request) -> JSON:
    """What the page shows of each model: its task's ``page_info`` and its signatures."""
    described = []
    for name, model in request.app.state.store.models.items():
        version = model.current
        described.append({"name": name, "task": version.task, "version": version.number,
                          "signatures": sorted(version.signatures),
                          **_serving(version.task).page_info(version.export)})
    return JSON({"models": described})


async def _forecast(request: Request) -> JSON:
    """The forecast after rows given as text, by the task's ``predict_text``."""
    _, version = _version(request)
    serving = _serving(version.task)
    if not hasattr(serving, "predict_text"):
        raise rest.RestError(f"{request.path_params['name']} is a {version.task} model, "
                             "not a forecasting one")
    text = _field(await _body(request, request.app.state.limits.max_request_bytes), "csv")
    try:
        return JSON(await run_in_threadpool(serving.predict_text, version.export.path, text))
    except UsageError as err:
        raise rest.RestError(str(err)) from None


def _serving(task: str):
    """A task's ``serving`` module (imported on first use)."""
    return importlib.import_module(registry.TASKS[task] + ".serving")


def _version(request: Request) -> tuple[ServedModel, Version]:
    """The model the URL names and its served version (checked against the URL's)."""
    model = request.app.state.store.get(request.path_params["name"])
    return model, model.version(_number(request))


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
