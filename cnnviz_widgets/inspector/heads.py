"""Classifier heads: how a model's output becomes per-class scores and probabilities.

Every method explains a *class score* (what gradients start from) and reads a *class
probability* (what occlusion, Score-CAM and the top-k chart show). Both are (N, K) tensors
built once on the traced graph, so every method works the same way for every head:

==============  ==========================  ==============================  =====================
head            model output                score of class k (N, K)         probability (N, K)
==============  ==========================  ==============================  =====================
``softmax``     K > 1 exclusive classes     the logit z_k (pre-softmax)     softmax(z), sums to 1
``binary``      one unit (sigmoid or logit) class 1: z; class 0: -z         (1 - p, p), p = sigmoid(z)
``multilabel``  K > 1 independent sigmoids  the logit z_k (pre-sigmoid)     sigmoid(z_k), not summing to 1
``score``       K raw values (regression)   the output itself               the output itself
==============  ==========================  ==============================  =====================

The binary head gives two classes from one unit: class 0 is explained through the negated
logit -z, whose gradient is the mirror of class 1's.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from cnnviz_widgets.errors import ArgumentError

HEADS: dict[str, str] = {
    "softmax": "exclusive classes: probabilities are a softmax of the logits and sum to 1",
    "binary": "one sigmoid/logit unit read as two classes: p(1) = sigmoid(z), p(0) = 1 - p(1); class 0's score is -z",
    "multilabel": "independent sigmoid labels: each probability stands alone and they need not sum to 1",
    "score": "raw outputs (regression-style) explained as they are; no probabilities",
}
"""Head names and what each means (the ``head=`` argument also takes ``"auto"``)."""


def resolve_head(head: str, n_outputs: int, activation: str) -> tuple[str, str]:
    """Turn the ``head`` argument into (head name, reason) for an output of ``n_outputs`` units.

    ``activation`` is ``"softmax"``, ``"sigmoid"`` or ``"none"``: what the model applies last.

    Raises:
        ArgumentError: an unknown head, or one that does not fit the output.
    """
    if not isinstance(head, str) or (head != "auto" and head not in HEADS):
        raise ArgumentError(f"head must be 'auto' or one of {list(HEADS)}; got {head!r}")
    if head == "auto":
        if n_outputs == 1:
            chosen = "score" if activation == "softmax" else "binary"
        elif activation == "sigmoid":
            chosen = "multilabel"
        else:
            chosen = "softmax"
        unit = "unit" if n_outputs == 1 else "units"
        return chosen, f"auto: {n_outputs} output {unit}, last activation {activation!r}"
    if head == "binary" and n_outputs != 1:
        raise ArgumentError(f"head='binary' needs one output unit; this output has {n_outputs}")
    if head == "softmax" and n_outputs == 1:
        raise ArgumentError("head='softmax' needs two or more output units; this output has 1 (use 'binary')")
    return head, "given by the caller"


def class_count(head: str, n_outputs: int) -> int:
    """Number of classes a head shows for an output of ``n_outputs`` units."""
    return 2 if head == "binary" else n_outputs


def head_tensors(head: str, output: Any, logits: Any | None, activation: str) -> tuple[Any, Any]:
    """(score, probability) symbolic tensors, each (N, K classes), for ``head``.

    ``logits`` are the pre-activation values of ``output`` when the model ends in a softmax or
    sigmoid (None when they could not be found or there is no such activation).
    """
    ops = keras.ops
    z = logits if logits is not None else output
    if head == "score":
        return output, output
    if head == "binary":
        score = ops.concatenate([-z, z], axis=-1)
        return score, ops.sigmoid(score)
    if head == "multilabel":
        return z, output if activation == "sigmoid" else ops.sigmoid(z)
    return z, output if activation == "softmax" else ops.softmax(z, axis=-1)


NEAR_UNIFORM_ENTROPY = 0.98
"""Predictions whose entropy is at least this fraction of the largest possible (all classes equal)
are *near uniform*: the model does not prefer any class (untrained, or broken)."""


def near_uniform(probabilities: Any, head: str) -> bool:
    """Whether one image's class probabilities (K,) are close to uniform for an exclusive head
    (``softmax`` or ``binary``): entropy >= :data:`NEAR_UNIFORM_ENTROPY` x log K. Independent
    labels and raw scores have no uniform reference, so they never are."""
    p = np.asarray(probabilities, np.float64).reshape(-1)
    if head not in ("softmax", "binary") or p.size < 2 or not np.all(np.isfinite(p)):
        return False
    p = np.clip(p / max(p.sum(), 1e-12), 1e-12, 1.0)
    return float(-(p * np.log(p)).sum() / np.log(p.size)) >= NEAR_UNIFORM_ENTROPY
