"""TensorFlow Serving's REST predict protocol, checked against a signature.

A request names a signature (``signature_name``, default ``serving_default``)
and gives its inputs in one of two formats:

* row format, ``{"instances": [...]}``: one item per example, the input's
  value (a signature of one input) or an object of every input; answered
  with ``{"predictions": [...]}``, one item per example (a value, or an
  object of every output);
* columnar format, ``{"inputs": value-or-object}``: whole tensors, which may
  be scalars (textgen's ``length``); answered with ``{"outputs": ...}``.

Strings may be sent as ``{"b64": "..."}``; outputs whose name ends in
``_bytes`` are returned that way. Every check raises ``RestError``, which
the application answers with ``{"error": message}`` and the error's status.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from typing import Any

import numpy as np
import tensorflow as tf

from rnnapps.errors import first_line
from rnnapps.serve.limits import Limits

DEFAULT_SIGNATURE = "serving_default"


class RestError(Exception):
    """A request the server refuses: ``status`` (400 by default) and a message."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclasses.dataclass(frozen=True)
class Request:
    """A checked predict request: the signature, its input tensors, the format."""

    signature: Any
    tensors: dict[str, tf.Tensor]
    rows: bool


def parse(body: bytes, signatures: dict[str, Any], limits: Limits = Limits()) -> Request:
    """Reads a predict request's JSON body.

    Args:
        body: The raw body.
        signatures: The served version's signatures by name.
        limits: What the request may ask for.

    Returns:
        The request, checked: every input present, of the signature's dtype
        and shape, within the limits.

    Raises:
        RestError: On anything else, with a message naming the problem.
    """
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise RestError(f"the body is not JSON: {err}") from None
    if not isinstance(request, dict) or ("instances" in request) == ("inputs" in request):
        raise RestError('the body must be a JSON object with either "instances" (row format) '
                        'or "inputs" (columnar format)')
    unknown = set(request) - {"signature_name", "instances", "inputs"}
    if unknown:
        raise RestError(f"unknown request field(s): {', '.join(sorted(unknown))}")
    name = request.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(name, str) or name not in signatures:
        raise RestError(f"Serving signature name: {name!r} not found in signature def; "
                        f"this model has: {', '.join(sorted(signatures))}")
    signature = signatures[name]
    specs = signature.structured_input_signature[1]
    rows = "instances" in request
    columns = (_columns_of_rows(request["instances"], specs) if rows
               else _columns_of_inputs(request["inputs"], specs))
    tensors = {key: _tensor(key, value, specs[key], limits.max_batch)
               for key, value in columns.items()}
    _check_generation(tensors, limits.max_generated_chars)
    return Request(signature, tensors, rows)


def _columns_of_rows(instances: Any, specs: dict) -> dict[str, list]:
    """Row format -> one list per input (each example's value, in order)."""
    if not isinstance(instances, list) or not instances:
        raise RestError('"instances" must be a non-empty list, one item per example')
    scalars = [key for key, spec in specs.items() if spec.shape.rank == 0]
    if scalars:
        raise RestError(f"input {scalars[0]!r} is a scalar, which the row format cannot send: "
                        'send this signature its "inputs" (columnar format)')
    if len(specs) == 1 and not all(isinstance(item, dict) and not _is_b64(item)
                                   for item in instances):
        return {next(iter(specs)): instances}
    for i, item in enumerate(instances):
        if not isinstance(item, dict):
            raise RestError(f"instance {i} must be an object of the inputs "
                            f"{', '.join(specs)}")
        _check_names(item, specs, f"instance {i}")
    return {key: [item[key] for item in instances] for key in specs}


def _columns_of_inputs(inputs: Any, specs: dict) -> dict[str, Any]:
    """Columnar format -> the value of each input."""
    if len(specs) == 1 and not (isinstance(inputs, dict) and set(inputs) == set(specs)):
        return {next(iter(specs)): inputs}
    if not isinstance(inputs, dict):
        raise RestError(f'"inputs" must be an object of the inputs {", ".join(specs)}')
    _check_names(inputs, specs, '"inputs"')
    return {key: inputs[key] for key in specs}


def _check_names(given: dict, specs: dict, where: str) -> None:
    missing, unknown = set(specs) - set(given), set(given) - set(specs)
    if missing or unknown:
        what = (f"lacks input {sorted(missing)[0]!r}" if missing
                else f"has unknown input {sorted(unknown)[0]!r}")
        raise RestError(f"{where} {what}; the signature takes {', '.join(specs)}")


def _tensor(key: str, value: Any, spec: tf.TensorSpec, max_batch: int) -> tf.Tensor:
    """One input's JSON value as a tensor of the signature's dtype and shape."""
    try:
        array = np.array(_decode_strings(value) if spec.dtype == tf.string else value)
    except ValueError:  # numpy: "inhomogeneous shape" for ragged lists
        raise RestError(f"input {key!r} is a ragged list: every row must have the same "
                        "length") from None
    shape = spec.shape
    if not shape.is_compatible_with(array.shape):
        raise RestError(f"input {key!r} has shape {list(array.shape)}; the signature takes "
                        f"{[-1 if d is None else d for d in shape.as_list()]} (-1: any size)")
    if array.ndim and shape.as_list()[0] is None and len(array) > max_batch:
        raise RestError(f"input {key!r} holds {len(array)} examples; this server takes at "
                        f"most {max_batch} per request (--max-batch)")
    kinds = {"string": "SU", "bool": "b"}.get(spec.dtype.name,
                                               "iu" if spec.dtype.is_integer else "iuf")
    if array.size and array.dtype.kind not in kinds:
        expected = "strings" if spec.dtype == tf.string else (
            "integers" if spec.dtype.is_integer else "numbers")
        raise RestError(f"input {key!r} must hold {expected} ({spec.dtype.name})")
    try:
        return tf.constant(array, spec.dtype)
    except (TypeError, ValueError, OverflowError) as err:
        raise RestError(f"input {key!r}: {err}") from None


def _decode_strings(value: Any) -> Any:
    """Strings (and ``{"b64": ...}`` objects) -> bytes, in nested lists."""
    if isinstance(value, list):
        return [_decode_strings(v) for v in value]
    if isinstance(value, str):
        return value.encode("utf-8")
    if _is_b64(value):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except binascii.Error:
            raise RestError("a b64 value is not valid base64") from None
    return value  # a number or null: the dtype check names the input


def _is_b64(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str)


def _check_generation(tensors: dict[str, tf.Tensor], max_chars: int) -> None:
    if "length" not in tensors:
        return
    count = 1
    for key, least in (("length", 0), ("num_samples", 1), ("seed_texts", 0)):
        if key in tensors:
            value = tensors[key]
            n = int(value.shape[0]) if value.shape.rank else int(value.numpy())
            if n < least:
                raise RestError(f"input {key!r} must be at least {least}, got {n}")
            count *= n
    if count > max_chars:
        raise RestError(f"the request asks for {count:,} generated characters; this server "
                        f"generates at most {max_chars:,} per request (--max-generated-chars)")


def respond(request: Request) -> dict:
    """Calls the signature and shapes its outputs as TF Serving does.

    Raises:
        RestError: If the model rejects the inputs (TensorFlow's
            ``InvalidArgumentError``, e.g. a series name the model does not know).
    """
    try:
        outputs = request.signature(**request.tensors)
    except (tf.errors.InvalidArgumentError, ValueError, TypeError) as err:
        raise RestError(f"the model rejected the inputs: {first_line(err)}") from None
    values = {key: _json_value(key, np.asarray(tensor.numpy()))
              for key, tensor in outputs.items()}
    if not request.rows:
        return {"outputs": next(iter(values.values())) if len(values) == 1 else values}
    if len(values) == 1:
        return {"predictions": next(iter(values.values()))}
    batch = len(next(iter(values.values())))
    return {"predictions": [{key: value[i] for key, value in values.items()}
                            for i in range(batch)]}


def _json_value(key: str, array: np.ndarray) -> Any:
    if array.dtype.kind in "SO":
        binary = key.endswith("_bytes")
        encode = ((lambda b: {"b64": base64.b64encode(b).decode("ascii")}) if binary
                  else (lambda b: b.decode("utf-8", errors="replace")))
        return np.vectorize(encode, otypes=[object])(array).tolist() if array.ndim else \
            encode(array.item())
    return array.tolist()


