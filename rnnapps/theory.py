r"""The vanilla RNN and backpropagation through time, in plain NumPy.

This module is the reference the TensorFlow code is checked against: every
line is the textbook math, with no framework in between.

The model
---------
For inputs ``x_1 .. x_T`` (a batch of them, shape ``[batch, T, n_in]``)::

    z_t = x_t W_xh + h_{t-1} W_hh + b_h        pre-activation
    h_t = tanh(z_t)                            hidden state, h_0 given (zeros)
    o_t = h_t W_hy + b_y                       output pre-activation (logits)
    y_t = g(o_t)                               g = identity or softmax

Vectors are rows (the batch is the leading axis), so ``W_xh`` has shape
``[n_in, n_hidden]`` -- the transpose of the column-vector notation
``W_xh x_t`` and exactly the layout of Keras's ``kernel``,
``recurrent_kernel`` and ``bias`` in ``SimpleRNN`` and ``rnnapps.cells.ElmanCell``.

The loss is a sum over time steps, averaged over the batch::

    L = (1/B) sum_b sum_t l(y_t, target_t)

with ``l = 1/2 ||y - target||^2`` for the identity output and cross-entropy
``-log y_t[target]`` for softmax. Both pair so that ``dL/do_t = (y_t - target_t) / B``
(the target one-hot for softmax), which is why ``bptt`` starts from ``dL/do_t``:
any other loss (e.g. one on the last step only) just passes its own.

Backpropagation through time
----------------------------
``h_t`` influences the loss directly through ``o_t`` and indirectly through
every later state, so its *total* gradient runs backwards in time::

    dL/dh_t = dL/do_t W_hy^T  +  dL/dz_{t+1} W_hh^T       (second term 0 at t = T)
    dL/dz_t = dL/dh_t * (1 - h_t^2)                        (tanh' = 1 - tanh^2)

and each weight, shared by all steps, sums its per-step contributions::

    dL/dW_hy = sum_t h_t^T dL/do_t          dL/db_y = sum_t sum_batch dL/do_t
    dL/dW_xh = sum_t x_t^T dL/dz_t          dL/db_h = sum_t sum_batch dL/dz_t
    dL/dW_hh = sum_t h_{t-1}^T dL/dz_t

Why gradients vanish or explode
-------------------------------
Unrolling the recursion, a loss at step T reaches ``h_k`` through the product
of Jacobians ``dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh^T``::

    dL/dh_k = dL/dh_T  prod_{t=k+1..T} diag(1 - h_t^2) W_hh^T

so ``||dL/dh_k|| <= ||dL/dh_T|| (gamma * sigma_max(W_hh))^(T-k)`` with
``gamma = max tanh' <= 1``. If ``sigma_max(W_hh) < 1`` the bound shrinks
geometrically with the distance ``T - k``: the gradient *vanishes*, and the
network cannot learn that step T depends on step k. If the largest
eigenvalue of the product exceeds 1 it can *explode*. LSTM and GRU replace
the product by an additive, gated path (``c_t = f_t * c_{t-1} + ...``) whose
Jacobian is close to the identity when the forget gate is open; gradient
clipping by global norm caps the exploding case. ``rnnapps.diagnostics``
measures both on real Keras layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OUTPUTS = ("identity", "softmax")
"""The output functions ``g`` supported by ``forward``."""


@dataclass
class RNNParams:
    """The five parameter arrays of the vanilla RNN (row-vector layout).

    Attributes:
        W_xh: Input to hidden, ``[n_in, n_hidden]`` (Keras ``kernel``).
        W_hh: Hidden to hidden, ``[n_hidden, n_hidden]`` (``recurrent_kernel``).
        b_h: Hidden bias, ``[n_hidden]`` (``bias``).
        W_hy: Hidden to output, ``[n_hidden, n_out]`` (a ``Dense`` kernel).
        b_y: Output bias, ``[n_out]``.
    """

    W_xh: np.ndarray
    W_hh: np.ndarray
    b_h: np.ndarray
    W_hy: np.ndarray
    b_y: np.ndarray

    NAMES = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")

    def as_dict(self) -> dict[str, np.ndarray]:
        """Returns ``{name: array}`` in the order of ``NAMES``."""
        return {name: getattr(self, name) for name in self.NAMES}


@dataclass
class Forward:
    """Everything the forward pass computed (BPTT reuses it).

    Attributes:
        x: The inputs, ``[batch, T, n_in]``.
        h0: The initial state, ``[batch, n_hidden]``.
        h: The hidden states ``h_1 .. h_T``, ``[batch, T, n_hidden]``.
        o: The output pre-activations ``o_t``, ``[batch, T, n_out]``.
        y: The outputs ``y_t = g(o_t)``, ``[batch, T, n_out]``.
    """

    x: np.ndarray
    h0: np.ndarray
    h: np.ndarray
    o: np.ndarray
    y: np.ndarray


@dataclass
class Gradients:
    """What ``bptt`` returns: the gradient of the loss w.r.t. everything.

    Attributes:
        params: ``dL/dW_xh .. dL/db_y``, each shaped like its parameter.
        h: The total ``dL/dh_t`` for ``t = 1 .. T``, ``[batch, T, n_hidden]``.
        h0: ``dL/dh_0``, ``[batch, n_hidden]``.
        x: ``dL/dx_t``, ``[batch, T, n_in]``.
    """

    params: RNNParams
    h: np.ndarray
    h0: np.ndarray
    x: np.ndarray


def init_params(n_in: int, n_hidden: int, n_out: int, *, seed: int = 0,
                recurrent_scale: float = 1.0, dtype=np.float64) -> RNNParams:
    """Draws small random parameters (biases random too, so tests see them).

    ``W_hh`` is a random orthogonal matrix times ``recurrent_scale``, so its
    singular values all equal the scale: below 1 the gradients vanish.

    Args:
        n_in: Input size.
        n_hidden: Hidden-state size.
        n_out: Output size.
        seed: Seed of the NumPy generator.
        recurrent_scale: Every singular value of ``W_hh``.
        dtype: Floating dtype of the arrays.

    Returns:
        The parameters.
    """
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((n_hidden, n_hidden)))
    orthogonal = q * np.sign(np.diag(r))  # sign fix makes Q uniformly distributed
    return RNNParams(
        W_xh=rng.normal(0, 1 / np.sqrt(n_in), (n_in, n_hidden)).astype(dtype),
        W_hh=(recurrent_scale * orthogonal).astype(dtype),
        b_h=rng.normal(0, 0.1, n_hidden).astype(dtype),
        W_hy=rng.normal(0, 1 / np.sqrt(n_hidden), (n_hidden, n_out)).astype(dtype),
        b_y=rng.normal(0, 0.1, n_out).astype(dtype),
    )


def softmax(o: np.ndarray) -> np.ndarray:
    """The softmax over the last axis (shifted by the max, so it cannot overflow)."""
    e = np.exp(o - o.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def forward(params: RNNParams, x: np.ndarray, h0: np.ndarray | None = None,
            output: str = "identity") -> Forward:
    """Runs the RNN over a batch of sequences.

    Args:
        params: The weights.
        x: Inputs, ``[batch, T, n_in]``.
        h0: Initial state ``[batch, n_hidden]``; zeros if None (as in Keras).
        output: ``"identity"`` (regression) or ``"softmax"`` (classification).

    Returns:
        The states and outputs at every step.

    Raises:
        ValueError: On an unknown ``output`` or an ``x`` that is not 3-D.
    """
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(OUTPUTS)}; got {output!r}")
    if x.ndim != 3:
        raise ValueError(f"x must be [batch, time, features], got shape {x.shape}")
    batch, steps, _ = x.shape
    h_prev = np.zeros((batch, params.W_hh.shape[0]), x.dtype) if h0 is None else h0
    h = np.empty((batch, steps, params.W_hh.shape[0]), x.dtype)
    first = h_prev
    for t in range(steps):
        h_prev = np.tanh(x[:, t] @ params.W_xh + h_prev @ params.W_hh + params.b_h)
        h[:, t] = h_prev
    o = h @ params.W_hy + params.b_y
    y = softmax(o) if output == "softmax" else o
    return Forward(x=x, h0=first, h=h, o=o, y=y)


def loss(fwd: Forward, targets: np.ndarray, output: str = "identity") -> tuple[float, np.ndarray]:
    """The loss summed over time, averaged over the batch, and ``dL/do_t``.

    Args:
        fwd: The forward pass.
        targets: ``[batch, T, n_out]`` values for ``"identity"`` (squared
            error, halved) or ``[batch, T]`` class ids for ``"softmax"``
            (cross-entropy).
        output: The output function ``forward`` used.

    Returns:
        ``(L, dL/do)`` with ``dL/do`` shaped like ``fwd.o``.
    """
    batch = fwd.o.shape[0]
    if output == "softmax":
        onehot = np.eye(fwd.o.shape[-1], dtype=fwd.o.dtype)[targets]
        value = -np.sum(onehot * np.log(fwd.y)) / batch
        return float(value), (fwd.y - onehot) / batch
    diff = fwd.y - targets
    return float(0.5 * np.sum(diff ** 2) / batch), diff / batch


def bptt(params: RNNParams, fwd: Forward, d_o: np.ndarray) -> Gradients:
    """Backpropagation through time, written out step by step.

    Args:
        params: The weights the forward pass used.
        fwd: The forward pass.
        d_o: ``dL/do_t`` for every step, shaped like ``fwd.o`` (zeros where
            a step has no loss, e.g. all but the last for a last-step loss).

    Returns:
        The gradients of every parameter, of each ``h_t`` (total, through
        all later steps), of ``h_0`` and of each ``x_t``.
    """
    d_h_direct = d_o @ params.W_hy.T                 # through o_t only
    d_h = np.empty_like(fwd.h)
    d_z = np.empty_like(fwd.h)
    d_h_next = np.zeros_like(fwd.h0)                 # dL/dz_{t+1} W_hh^T, 0 after T
    for t in reversed(range(fwd.h.shape[1])):
        d_h[:, t] = d_h_direct[:, t] + d_h_next
        d_z[:, t] = d_h[:, t] * (1.0 - fwd.h[:, t] ** 2)
        d_h_next = d_z[:, t] @ params.W_hh.T
    h_prev = np.concatenate([fwd.h0[:, None], fwd.h[:, :-1]], axis=1)  # h_{t-1}
    grads = RNNParams(
        W_xh=np.einsum("bti,btj->ij", fwd.x, d_z),
        W_hh=np.einsum("bti,btj->ij", h_prev, d_z),
        b_h=d_z.sum(axis=(0, 1)),
        W_hy=np.einsum("bti,btj->ij", fwd.h, d_o),
        b_y=d_o.sum(axis=(0, 1)),
    )
    return Gradients(params=grads, h=d_h, h0=d_h_next, x=d_z @ params.W_xh.T)


def numerical_gradients(params: RNNParams, x: np.ndarray, targets: np.ndarray,
                        output: str = "identity", eps: float = 1e-6) -> RNNParams:
    """Central finite differences ``(L(p + eps) - L(p - eps)) / 2 eps``, entry by entry.

    Slow (two forward passes per parameter entry) and only for checking
    ``bptt`` on small models, in float64.

    Args:
        params: The weights (perturbed in place and restored).
        x: Inputs, ``[batch, T, n_in]``.
        targets: As for ``loss``.
        output: The output function.
        eps: The step.

    Returns:
        The estimated gradients, shaped like the parameters.
    """
    def total(p):
        return loss(forward(p, x, output=output), targets, output)[0]

    estimates = {}
    for name, array in params.as_dict().items():
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + eps
            plus = total(params)
            array[index] = saved - eps
            grad[index] = (plus - total(params)) / (2 * eps)
            array[index] = saved
        estimates[name] = grad
    return RNNParams(**estimates)


def gradient_norms_by_distance(grads: Gradients) -> np.ndarray:
    """``||dL/dh_t||`` (Frobenius over the batch) ordered by distance ``T - t``.

    Args:
        grads: The output of ``bptt``.

    Returns:
        Array of length T; entry ``k`` is the norm at ``h_{T-k}``.
    """
    return np.linalg.norm(grads.h, axis=(0, 2))[::-1]
