# %% [markdown]
# # 3. Class activation maps: where did the model look?
#
# *Replaces the Grad-CAM parts of the source tutorials* (a `GradientTape` around a two-output model,
# pooled gradients, a weighted sum of the last conv layer's maps, resized and blended over the
# image). `CamOverlay` does this for every method in `cw.HEATMAP_METHODS` (each declared once,
# with its options and a sentence on when to distrust it), on any class, with the target layer
# chosen automatically.

# %%
import numpy as np
import cnnviz_widgets as cw

inspector = cw.ModelInspector()
methods = tuple(cw.methods.HEATMAP_METHODS)
cam = cw.CamOverlay(inspector, compare=methods)
cam

# %%
print("target layer and why:", cw.default_cam_layer(inspector))
for name, spec in cw.methods.HEATMAP_METHODS.items():
    options = ", ".join(f"{o.name}={o.default}" for o in spec.options)
    print(f"{name:22s} {spec.label:22s} {spec.family:12s} {options}")

# %% [markdown]
# ## Every method on several images
# One row per method, one column per sample image (each explains its own top class). The calls are
# the same as the widget's: `cw.heatmap(model, x, method)`.

# %%
from IPython.display import Image

samples = cw.sample_images()
x = np.concatenate([inspector.preprocess(s["image"][None].astype("float32")) for s in samples])
images = np.stack([s["image"] for s in samples])
masks = np.stack([s["mask"] for s in samples])
heatmaps = {name: cw.heatmap(inspector, x, name) for name in methods}

tiles = [cw.render.overlay(images[i], heatmaps[name][i], alpha=0.5) for name in methods for i in range(len(samples))]
labels = [cw.methods.HEATMAP_METHODS[name].label for name in methods for _ in samples]
Image(cw.render.to_png(cw.render.tile_grid(np.stack(tiles), per_row=len(samples), margin=2, labels=labels)))

# %% [markdown]
# ## How good are they? The numbers
# On 24 fresh shapes images (generated with their masks, never seen in training):
# - **Pointing game**: is the heatmap's peak on the shape?
# - **Deletion**: remove pixels in the order of the heatmap and measure the probability's area under
#   the curve; lower is better (the important pixels went first).
# - **Insertion**: reveal pixels in that order starting from a blurred image; higher is better.
# A random heatmap and a centre blob (the peak in the middle of the image) are the baselines.
# The next cell runs every method on every image: the slowest cell of the lessons, over a minute on
# a 2-core CPU.

# %%
fresh = cw.generate_shapes(24, size=96, seed=2024)
fx = inspector.preprocess(fresh.images.astype("float32"))
rng = np.random.default_rng(0)
yy, xx = np.mgrid[:96, :96]
centre = np.exp(-((yy - 47.5) ** 2 + (xx - 47.5) ** 2) / (2 * 20.0 ** 2)).astype("float32")
candidates = {name: cw.heatmap(inspector, fx, name, fresh.labels) for name in methods}
candidates["random (baseline)"] = rng.random((len(fx), 96, 96)).astype("float32")
candidates["centre (baseline)"] = np.repeat(centre[None], len(fx), axis=0)
print(f"{'method':22s} {'pointing':>9s} {'deletion':>9s} {'insertion':>10s}")
for name, maps in candidates.items():
    hits = cw.pointing_game(maps, fresh.masks)
    deletion = cw.deletion_auc(inspector, fx, maps, fresh.labels).mean()
    insertion = cw.insertion_auc(inspector, fx, maps, fresh.labels).mean()
    print(f"{name:22s} {hits.mean():9.0%} {deletion:9.3f} {insertion:10.3f}")

# %% [markdown]
# ## The sanity check: does the map depend on what the model learned?
# Adebayo et al. (2018, "Sanity Checks for Saliency Maps") randomise a network's weights layer by
# layer from the top and watch the maps. A map that still looks the same after the weights are
# destroyed shows the image (its edges), not the model. `cw.sanity_check` does this on a copy of
# the model (yours is untouched) and reports, for each depth, the Spearman rank correlation with
# the trained model's map: each row means "every layer from the top down to this one is random".

# %%
from IPython.display import Image as Picture

report = cw.sanity_check(inspector, x, ["grad_cam", "guided_backprop", "saliency", "smoothgrad",
                                        "integrated_gradients", "guided_grad_cam"])
print(report.table())
for name in ("grad_cam", "guided_backprop"):
    print(f"{name} rho from the top down: " + " ".join(f"{rho:.2f}" for _, rho in report.spearman(name)))
Picture(report.to_png())

# %% [markdown]
# The paper's finding, reproduced on the embedded model: **Grad-CAM decorrelates as soon as
# the top layer is randomised** (its rank correlation falls to about zero), while **Guided
# Backpropagation's maps stay similar until the first layers are randomised**: they mostly
# reconstruct the image's edges. Saliency and SmoothGrad sit between. The *randomise weights*
# toggle of `CamOverlay` shows the same thing for one map at a time.

# %% [markdown]
# ## Any class, not just the top one
# Click a bar of the top-k chart in the widget, or set the class in code: "where is the evidence
# for *triangle* in this picture of a circle?" A good method shows little; the probabilities tell
# you how much to believe any of it.

# %%
cam.compare = ()
cam.class_index = cw.SHAPE_CLASS_NAMES.index("triangle")
cam.wait()
print(inspector.top_k(3))
cam

# %%
scores = cam.evaluate()    # the widget's own deletion/insertion numbers for what it shows
print({k: round(v, 3) for k, v in scores.items()})

# %% [markdown]
# ## How the methods differ, and when to distrust them
# Each method's declaration carries one sentence on what its map shows and one on when to distrust
# it; the list below is printed from them, so it always covers every method.

# %%
for spec in cw.methods.HEATMAP_METHODS.values():
    print(f"{spec.label} ({spec.family}): {spec.shows}.")
    print(f"    distrust it when: {spec.distrust}.")

# %% [markdown]
# In general, distrust a map when the class probability is low (it explains a guess), when
# methods disagree, when the deletion score is no better than the random baseline, when it
# survives the sanity check's randomisation, or when it lights up the background, which can be a
# real shortcut the model learned (a watermark, the snow behind a wolf). A heatmap explains this
# model on this image; it is not a segmentation.
