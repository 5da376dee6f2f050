"""The methods on the embedded default model and fresh shapes images: do the maps find the shape?

The scores are printed for the closing note (run with -s to see them).
"""

from __future__ import annotations

import numpy as np
import pytest

import cnnviz_widgets as cw
from cnnviz_widgets.methods import deletion_auc, grad_cam, insertion_auc, occlusion, pointing_game

# the methods' quality on the default model: under JAX every method's map equals TensorFlow's
# (tests/backends, in the TensorFlow suite)
pytestmark = pytest.mark.default_backend

SEED = 424242


@pytest.fixture(scope="module")
def fresh(default_inspector):
    batch = cw.generate_shapes(160, size=96, seed=SEED)
    x = default_inspector.preprocess(batch.images.astype(np.float32))
    predicted = np.array(default_inspector.model(x)).argmax(1)
    correct = predicted == batch.labels
    return x[correct], batch.labels[correct], batch.masks[correct], correct.mean()


def centre_baseline(masks):
    heat = np.zeros(masks.shape, np.float32)
    heat[:, masks.shape[1] // 2, masks.shape[2] // 2] = 1
    return pointing_game(heat, masks).mean()


FEWER = {"score_cam": 64, "rise": 32}
"""Images for the expensive methods, to keep the suite short (the others get 160)."""
LIGHTER = {"rise": {"masks": 300}}


def _methods():
    for name, spec in cw.methods.HEATMAP_METHODS.items():
        threshold = 0.8 if spec.family == "cam" and spec.uses_gradients or name in ("score_cam", "ablation_cam") \
            else 0.5
        yield pytest.param(spec.label, lambda m, x, c, name=name: cw.heatmap(m, x, name, c, **LIGHTER.get(name, {})),
                           FEWER.get(name, 160), threshold, id=name)
    yield pytest.param("occlusion 12/6", lambda m, x, c: occlusion(m, x, c, patch=12, stride=6), 48, 0.8,
                       id="occlusion")


@pytest.mark.parametrize("name,method,n,threshold", list(_methods()))
def test_maps_point_inside_the_true_shape_far_above_the_centre_baseline(default_inspector, fresh, name, method, n,
                                                                         threshold):
    """Every declared method: the CAMs that use the class's gradient or score find the shape on
    80 % of the images, the input-gradient and class-agnostic maps on 50 %; all beat the
    centre baseline by 0.3 or more."""
    x, labels, masks = (a[:n] for a in fresh[:3])
    accuracy = fresh[3]
    heat = method(default_inspector, x, labels)
    score = pointing_game(heat, masks).mean()
    baseline = centre_baseline(masks)
    print(f"\n{name}: pointing {score:.3f} on {len(x)} correctly classified images "
          f"(accuracy {accuracy:.3f}); centre baseline {baseline:.3f}")
    assert score >= threshold and score >= baseline + 0.3


def test_grad_cam_deletes_faster_and_inserts_faster_than_a_random_heatmap(default_inspector, fresh):
    x, labels, _, _ = fresh
    x, labels = x[:48], labels[:48]
    cams = grad_cam(default_inspector, x, labels)
    noise = np.random.default_rng(0).random(cams.shape).astype(np.float32)
    deletion = deletion_auc(default_inspector, x, cams, labels).mean()
    deletion_random = deletion_auc(default_inspector, x, noise, labels).mean()
    insertion = insertion_auc(default_inspector, x, cams, labels).mean()
    insertion_random = insertion_auc(default_inspector, x, noise, labels).mean()
    print(f"\ndeletion AUC Grad-CAM {deletion:.3f} vs random {deletion_random:.3f}; "
          f"insertion AUC {insertion:.3f} vs random {insertion_random:.3f}")
    assert deletion < deletion_random - 0.03
    assert insertion > insertion_random + 0.2
