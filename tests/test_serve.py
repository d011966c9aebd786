"""``rnnapps serve``'s REST API, on real exports of every task, in process.

The application runs under Starlette's test client (real ASGI requests, no
socket): TensorFlow Serving's request and response formats, the answers
against the exports called directly, new versions picked up while serving,
the limits, and the bad-request catalogue. docs/serve.md shows the catalogue
as a table (``python tests/test_serve.py`` prints it); a test keeps the two
the same. The real process in a real browser is ``test_serve_page.py``.
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from rnnapps.export import open_export  # noqa: E402
from rnnapps.serve.app import make_app  # noqa: E402
from rnnapps.serve.models import ModelStore  # noqa: E402
from rnnapps.serve.rest import Limits  # noqa: E402
from rnnapps.tasks.regression import RegressionConfig  # noqa: E402

pytestmark = pytest.mark.xdist_group("serve")  # one worker trains the exports once
DOC = Path(__file__).resolve().parents[1] / "docs" / "serve.md"
NAMES = {"sentiment": "reviews", "classify": "tickets", "textgen": "poems",
         "regression": "signal"}
WINDOW = [[0.1 * i] for i in range(12)]  # the tiny regression model reads 12 rows of 1 value
GENERATE = {"seed_texts": ["Shall I"], "length": 30, "num_samples": 2, "temperature": 0.8,
            "top_k": 0, "top_p": 1.0, "seed": 3}


@pytest.fixture(scope="module")
def client(served_exports):
    store = ModelStore({NAMES[task]: path for task, path in served_exports.items()})
    with TestClient(make_app(store, Limits(max_request_bytes=200_000, max_batch=16),
                             poll=False)) as http:
        yield http


def loaded(served_exports, task):
    """The export called directly (kept loaded: a SavedModel's functions need it alive)."""
    return open_export(served_exports[task] / "1", task).loaded


def test_status_and_metadata_are_tf_servings(client):
    assert client.get("/v1/models/tickets").json() == {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK",
                                                          "error_message": ""}}]}
    meta = client.get("/v1/models/tickets/versions/1/metadata").json()
    assert meta["model_spec"] == {"name": "tickets", "signature_name": "", "version": "1"}
    signature = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["inputs"]["texts"]["dtype"] == "DT_STRING"
    assert signature["inputs"]["texts"]["tensor_shape"]["dim"] == [{"size": "-1", "name": ""}]
    assert set(signature["outputs"]) == {"label", "probability", "probabilities"}
    assert client.get("/healthz").json() == {"status": "ok", "models": {
        "reviews": 1, "tickets": 1, "poems": 1, "signal": 1}}


def test_text_predictions_match_the_export_in_both_formats(client, served_exports):
    texts = ["my printer is on fire", "the invoice is wrong", "!!!", ""]
    rows = client.post("/v1/models/tickets:predict", json={"instances": texts}).json()
    columns = client.post("/v1/models/tickets:predict", json={"inputs": texts}).json()
    direct = loaded(served_exports, "classify").classify(tf.constant(texts))
    np.testing.assert_allclose([r["probabilities"] for r in rows["predictions"]],
                               direct["probabilities"].numpy(), atol=1e-6)
    assert [r["label"] for r in rows["predictions"]] == [
        label.decode() for label in direct["label"].numpy()]
    np.testing.assert_allclose(columns["outputs"]["probabilities"],
                               direct["probabilities"].numpy(), atol=1e-6)
    # one output: predictions are the values themselves; texts with no token get one
    reviews = client.post("/v1/models/reviews:predict",
                          json={"instances": ["a wonderful film", "!!!", ""]}).json()
    assert len(reviews["predictions"]) == 3
    assert all(0 < p < 1 for p in reviews["predictions"])


def test_strings_may_come_in_base64(client):
    encoded = base64.b64encode("a wonderful film".encode()).decode()
    plain = client.post("/v1/models/reviews:predict", json={"instances": ["a wonderful film"]})
    binary = client.post("/v1/models/reviews:predict",
                         json={"instances": [{"b64": encoded}]})
    assert binary.json() == plain.json()


def test_generation_is_seeded_and_matches_the_export(client, served_exports):
    body = {"signature_name": "generate_batch", "inputs": GENERATE}
    first = client.post("/v1/models/poems:predict", json=body).json()["outputs"]
    again = client.post("/v1/models/poems:predict", json=body).json()["outputs"]
    direct = loaded(served_exports, "textgen").generate_batch(
        tf.constant(GENERATE["seed_texts"]), tf.constant(30), tf.constant(2),
        tf.constant(0.8), tf.constant(0), tf.constant(1.0), tf.constant(3, tf.int64))
    assert first == again == [[t.decode() for t in direct["texts"].numpy()[0]]]
    assert all(len(sample) == 30 for sample in first[0])
    single = client.post("/v1/models/poems:predict", json={"inputs": {
        "seed_text": "Shall I", "length": 30, "temperature": 0.8, "top_k": 0, "seed": 3}})
    assert single.json()["outputs"] == first[0][0]  # generate: generate_batch's first sample


def test_forecasts_match_the_export_with_their_quantiles(client, served_exports):
    answer = client.post("/v1/models/signal:predict",
                         json={"instances": [WINDOW, WINDOW[::-1]]}).json()["predictions"]
    direct = loaded(served_exports, "regression").forecast(tf.constant([WINDOW, WINDOW[::-1]],
                                                                       tf.float32))
    np.testing.assert_allclose([a["forecast"] for a in answer], direct["forecast"].numpy(),
                               rtol=1e-6)
    assert np.array([a["quantiles"] for a in answer]).shape == (2, 1, 3)
    # one epoch of training crosses the levels; the export sorts them (rearrangement)
    windows = np.random.default_rng(0).normal(0, 50, (16, 12, 1)).round(3).tolist()
    far = client.post("/v1/models/signal:predict", json={"instances": windows}).json()
    quantiles = np.array([a["quantiles"] for a in far["predictions"]])
    assert np.all(np.diff(quantiles, axis=-1) >= 0)


def test_the_page_api_describes_each_model_and_forecasts_pasted_rows(client):
    models = {m["name"]: m for m in client.get("/ui/models").json()["models"]}
    assert models["tickets"]["classes"] == ["billing", "hardware", "network"]
    assert models["signal"] == {**models["signal"], "kind": "forecast", "columns": ["value"],
                                "window": 12, "horizon": 1, "quantiles": [0.1, 0.5, 0.9]}
    assert models["poems"]["kind"] == "generate" and models["reviews"]["kind"] == "classify"
    numbers = "\n".join(str(v) for v in range(20))
    answer = client.post("/ui/models/signal:forecast", json={"csv": numbers}).json()
    assert answer["history"]["values"] == [float(v) for v in range(8, 20)]
    assert len(answer["forecast"]) == 1 and set(answer["quantiles"]) == {"0.1", "0.5", "0.9"}
    as_csv = client.post("/ui/models/signal:forecast", json={"csv": "value\n" + numbers}).json()
    assert as_csv["forecast"] == answer["forecast"]


def test_a_model_of_several_series_forecasts_each_by_name(tmp_path):
    from rnnapps import registry
    from rnnapps.testing import STORES, write_store_sales

    sales = write_store_sales(tmp_path / "sales.csv", days=120)
    config = RegressionConfig().replace(csv=str(sales), target="sales", features="promo",
                                        date_column="date", series_column="store", window=14,
                                        epochs=1, units=8, calendar="dayofweek")
    registry.get_task("regression").train(config, run_dir=tmp_path / "run",
                                           export_dir=tmp_path / "models", verbose=0)
    store = ModelStore({"stores": tmp_path / "models" / "regression"})
    with TestClient(make_app(store, poll=False)) as http:
        info = http.get("/ui/models").json()["models"][0]
        assert info["columns"] == ["sales", "promo", "date", "store"]
        lines = sales.read_text().splitlines()
        recent = "\n".join(lines[:1] + lines[-60:])  # the header and 20 days of each store
        answer = http.post("/ui/models/stores:forecast", json={"csv": recent}).json()
        assert set(answer["series"]) == set(STORES)
        south = answer["series"]["south"]
        assert len(south["history"]["values"]) == 14 and south["times"][0] > \
            south["history"]["times"][-1]
        assert 2_000 < south["forecast"][0] < 6_000  # in the store's own units
        inputs = {"values": [[[4_000.0, 0.0]] * 14], "series": ["south"],
                  "times": [list(range(0, 15 * 86_400, 86_400))]}
        served = http.post("/v1/models/stores:predict", json={"inputs": inputs}).json()
        assert len(served["outputs"][0]) == 1
        unknown = http.post("/v1/models/stores:predict",
                            json={"inputs": {**inputs, "series": ["east"]}})
        assert unknown.status_code == 400 and "rejected the inputs" in unknown.json()["error"]


def test_a_new_version_serves_without_a_restart_and_a_broken_one_is_reported(
        served_exports, tmp_path):
    base = tmp_path / "classify"
    shutil.copytree(served_exports["classify"] / "1", base / "1")
    store = ModelStore({"tickets": base}, poll_seconds=0.1)
    with TestClient(make_app(store)) as http:  # the polling thread runs
        body = {"instances": ["my printer is on fire"]}
        assert http.post("/v1/models/tickets:predict", json=body).status_code == 200
        shutil.copytree(served_exports["classify"] / "1", base / ".tmp-2")
        (base / ".tmp-2").rename(base / "2")  # as an export lands: renamed into place
        (base / "3").mkdir()
        (base / "3" / "saved_model.pb").write_bytes(b"not a model")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and store.get("tickets").current.number != 2:
            time.sleep(0.1)
        assert http.post("/v1/models/tickets/versions/2:predict", json=body).status_code == 200
        assert http.post("/v1/models/tickets/versions/1:predict", json=body).status_code == 404
        status = http.get("/v1/models/tickets").json()["model_version_status"]
        assert [(s["version"], s["state"]) for s in status] == [("2", "AVAILABLE"), ("3", "END")]
        assert "config.json" in status[1]["status"]["error_message"]


# -------------------------------------------------------- the catalogue
# (id, method, path, JSON body or raw bytes, status, part of the error message)
LONG = "word " * 50_000
BAD_REQUESTS = [
    ("not-json", "POST", "/v1/models/tickets:predict", b"{texts: [}", 400,
     "the body is not JSON"),
    ("json-not-an-object", "POST", "/v1/models/tickets:predict", ["a text"], 400,
     'either "instances" (row format) or "inputs"'),
    ("both-formats", "POST", "/v1/models/tickets:predict",
     {"instances": ["a"], "inputs": ["a"]}, 400, 'either "instances" (row format) or "inputs"'),
    ("unknown-field", "POST", "/v1/models/tickets:predict",
     {"instances": ["a"], "examples": []}, 400, "unknown request field(s): examples"),
    ("empty-instances", "POST", "/v1/models/tickets:predict", {"instances": []}, 400,
     '"instances" must be a non-empty list'),
    ("wrong-signature", "POST", "/v1/models/tickets:predict",
     {"signature_name": "predict", "instances": ["a"]}, 400,
     "'predict' not found in signature def; this model has: classify, serving_default"),
    ("signature-name-not-a-string", "POST", "/v1/models/tickets:predict",
     {"signature_name": ["classify"], "instances": ["a"]}, 400,
     "['classify'] not found in signature def"),
    ("too-deeply-nested", "POST", "/v1/models/tickets:predict",
     b'{"instances": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 400, "the body is not JSON"),
    ("number-for-a-string", "POST", "/v1/models/tickets:predict", {"instances": [42]}, 400,
     "input 'texts' must hold strings"),
    ("nested-texts", "POST", "/v1/models/tickets:predict", {"instances": [["a", "b"]]}, 400,
     "input 'texts' has shape [1, 2]; the signature takes [-1]"),
    ("bad-base64", "POST", "/v1/models/tickets:predict", {"instances": [{"b64": "%%"}]}, 400,
     "a b64 value is not valid base64"),
    ("window-too-short", "POST", "/v1/models/signal:predict", {"instances": [WINDOW[:3]]},
     400, "input 'values' has shape [1, 3, 1]; the signature takes [-1, 12, 1]"),
    ("ragged-windows", "POST", "/v1/models/signal:predict",
     {"instances": [WINDOW, WINDOW[:3]]}, 400, "input 'values' is a ragged list"),
    ("text-for-a-number", "POST", "/v1/models/signal:predict",
     {"instances": [[["x"]] * 12]}, 400, "input 'values' must hold numbers"),
    ("fraction-for-an-integer", "POST", "/v1/models/poems:predict",
     {"signature_name": "generate_batch", "inputs": {**GENERATE, "length": 2.5}}, 400,
     "input 'length' must hold integers"),
    ("missing-input", "POST", "/v1/models/poems:predict",
     {"signature_name": "generate_batch", "inputs": {"seed_texts": ["a"]}}, 400,
     "lacks input 'length'"),
    ("unknown-input", "POST", "/v1/models/poems:predict",
     {"signature_name": "generate_batch", "inputs": {**GENERATE, "colour": 1}}, 400,
     "has unknown input 'colour'"),
    ("scalar-in-row-format", "POST", "/v1/models/poems:predict",
     {"signature_name": "generate_batch", "instances": [GENERATE]}, 400,
     "is a scalar, which the row format cannot send"),
    ("negative-length", "POST", "/v1/models/poems:predict",
     {"signature_name": "generate_batch", "inputs": {**GENERATE, "length": -1}}, 400,
     "input 'length' must be at least 0, got -1"),
    ("too-much-generation", "POST", "/v1/models/poems:predict",
     {"signature_name": "generate_batch", "inputs": {**GENERATE, "length": 10 ** 6}}, 400,
     "asks for 2,000,000 generated characters; this server generates at most 100,000"),
    ("batch-too-large", "POST", "/v1/models/tickets:predict", {"instances": ["a"] * 17}, 400,
     "holds 17 examples; this server takes at most 16 per request"),
    ("body-too-large", "POST", "/v1/models/tickets:predict", {"instances": [LONG]}, 413,
     "the body is over 200,000 bytes"),
    ("unknown-model", "POST", "/v1/models/nobody:predict", {"instances": ["a"]}, 404,
     "Servable not found for request: Latest(nobody)"),
    ("unknown-version", "POST", "/v1/models/tickets/versions/7:predict",
     {"instances": ["a"]}, 404, "Servable not found for request: Specific(tickets, 7)"),
    ("version-not-a-number", "GET", "/v1/models/tickets/versions/latest", None, 400,
     "version must be a whole number, got 'latest'"),
    ("predict-by-get", "GET", "/v1/models/tickets:predict", None, 405,
     "predict takes POST"),
    ("unknown-route", "GET", "/v2/models", None, 404, "no route GET /v2/models"),
    ("forecast-of-a-text-model", "POST", "/ui/models/tickets:forecast", {"csv": "1\n2"}, 400,
     "tickets is a classify model, not a forecasting one"),
    ("forecast-too-few-rows", "POST", "/ui/models/signal:forecast", {"csv": "1\n2\n3"}, 400,
     "the model reads 12 rows, the given data has 3"),
    ("forecast-without-csv", "POST", "/ui/models/signal:forecast", {"rows": "1"}, 400,
     'a JSON object with a string "csv"'),
]


def send(http, method, path, body):
    if method == "GET":
        return http.get(path)
    if isinstance(body, bytes):
        return http.post(path, content=body, headers={"content-type": "application/json"})
    return http.post(path, json=body)


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=[c[0] for c in BAD_REQUESTS])
def test_a_bad_request_gets_a_json_error_and_the_server_goes_on(client, case):
    _, method, path, body, status, message = case
    response = send(client, method, path, body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
    assert client.get("/healthz").status_code == 200


def markdown() -> str:
    """The catalogue as a Markdown table (what the tests above check)."""
    rows = ["| # | mistake | request | status | error (start) |",
            "|---|---|---|---|---|"]
    for i, (name, method, path, body, status, message) in enumerate(BAD_REQUESTS, 1):
        shown = "" if body is None else (body.decode() if isinstance(body, bytes)
                                         else json.dumps(body))
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        request = f"`{method} {path}`" + (f" `{shown}`" if shown else "")
        rows.append(f"| {i} | {name} | {request.replace('|', '/')} | {status} | "
                    f"{message.replace('|', '/')} |")
    return "\n".join(rows) + "\n"


def test_the_docs_table_is_the_catalogue():
    text = DOC.read_text(encoding="utf-8")
    assert markdown() in text, "regenerate it: python tests/test_serve.py"


if __name__ == "__main__":
    sys.stdout.write(markdown())
