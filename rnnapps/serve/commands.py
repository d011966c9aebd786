"""``rnnapps serve``: the command line of the server."""

from __future__ import annotations

import logging
import re
import socket

from rnnapps import cli
from rnnapps.errors import UsageError
from rnnapps.serve.limits import Limits

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
LIMITS = Limits()  # the defaults of the options


def register(subcommands) -> None:
    """Adds ``rnnapps serve`` to the ``rnnapps`` parser."""
    parser = subcommands.add_parser(
        "serve", help="serve exports over TensorFlow Serving's REST API, with a page per model",
        description="Serve exported models over TensorFlow Serving's REST API (a client "
                    "written for TF Serving works unchanged), with a page at / to try each "
                    "one. A directory of versions serves its newest and picks up new ones "
                    "while running; a version directory serves only itself. Needs the "
                    "serve extra: pip install 'rnnapps[serve]'.",
        epilog=cli.epilog(
            "rnnapps serve --model sentiment=saved_models/sentiment",
            "rnnapps serve --model tickets=saved_models/classify --model "
            "shakespeare=saved_models/textgen/3 --port 8080",
            "curl -d '{\"instances\": [\"a fine film\"]}' "
            "localhost:8501/v1/models/sentiment:predict"))
    parser.add_argument("--model", action="append", required=True, metavar="NAME=DIR",
                        help="a model to serve, under NAME in the URL (repeat for more)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8501,
                        help="port (default: 8501, TF Serving's REST port; 0: any free one)")
    parser.add_argument("--max-request-bytes", type=int, default=LIMITS.max_request_bytes,
                        metavar="N",
                        help=f"largest request body accepted (default: {LIMITS.max_request_bytes})")
    parser.add_argument("--max-batch", type=int, default=LIMITS.max_batch, metavar="N",
                        help=f"most examples in one request (default: {LIMITS.max_batch})")
    parser.add_argument("--max-generated-chars", type=int, default=LIMITS.max_generated_chars,
                        metavar="N", help="most characters one generation request may ask "
                                          f"for (default: {LIMITS.max_generated_chars})")
    parser.add_argument("--poll-seconds", type=float, default=2.0, metavar="S",
                        help="how often to look for new versions (default: 2)")
    parser.set_defaults(run=run)


def model_paths(specs: list[str]) -> dict[str, str]:
    """``NAME=DIR`` arguments -> ``{name: dir}``.

    Raises:
        UsageError: On a malformed or repeated name.
    """
    paths = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not path or not _NAME.fullmatch(name):
            raise UsageError(f"--model takes NAME=DIR (NAME of letters, digits, '_', '.', "
                             f"'-'), got {spec!r}")
        if name in paths:
            raise UsageError(f"--model {name} is given twice")
        paths[name] = path
    return paths


def run(args) -> None:
    """Loads the models, binds the port and serves until interrupted."""
    paths = model_paths(args.model)
    for option in ("max_request_bytes", "max_batch", "max_generated_chars", "poll_seconds"):
        if getattr(args, option) <= 0:
            raise UsageError(f"--{option.replace('_', '-')} must be positive, "
                             f"got {getattr(args, option)}")
    try:
        import uvicorn
    except ImportError:
        raise UsageError("rnnapps serve needs the serve extra: "
                         "pip install 'rnnapps[serve]'") from None
    _log_to_stderr()
    with _listen(args.host, args.port) as sock:
        app_module = cli.load("rnnapps.serve.app")
        store = app_module.ModelStore(paths, args.poll_seconds)
        limits = Limits(args.max_request_bytes, args.max_batch, args.max_generated_chars)
        for name, model in store.models.items():
            print(f"{name}: {model.current.task} model, version {model.current.number}, "
                  f"from {model.base}")
        host, port = sock.getsockname()[:2]
        url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        print(f"serving on {url}/ (page) and {url}/v1/models/NAME", flush=True)
        config = uvicorn.Config(app_module.make_app(store, limits), log_level="warning")
        uvicorn.Server(config).run(sockets=[sock])


def _log_to_stderr() -> None:
    """The server's own lines (a new version served, one that failed, a bug's
    traceback) on stderr with their time; uvicorn's access log stays off."""
    log = logging.getLogger("rnnapps.serve")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, bound before the models load (a busy port fails at once)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except (OSError, OverflowError) as err:
        raise UsageError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    return sock
