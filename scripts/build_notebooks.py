"""Write the notebooks in notebooks/ from the cell sources below (keeps them reviewable, output-free).

Usage: python scripts/build_notebooks.py
"""

from __future__ import annotations

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

TOUR = [
    ("markdown", """# cnnviz-widgets: a tour

This notebook runs offline on the **embedded default model**: a small convnet trained by this
package to recognise six shapes (circle, square, triangle, star, cross, stripes) on cluttered
backgrounds. Every cell works without a network connection.

One call opens the dashboard. Pick an image at the top (a sample, an upload or a path), click a
bar of the top predictions to choose the class to explain, and move between the tabs."""),
    ("code", """import cnnviz_widgets as cw

dashboard = cw.explore()   # the embedded default model and its first sample image
dashboard"""),
    ("markdown", """## What the tabs show, and what to try

**Feature maps.** Every channel of one layer for this image, as a grid, and one channel large with
its mean, maximum and how many of its positions are zero. The first layers (`stem_conv`,
`block1_conv1`) look like the photo seen through edge and colour filters; move the channel slider
and see which edges each one picks. Then choose `block3_conv2` in the layer list: the maps are
12x12, blurry and mostly dark. The bar chart on the right counts the blank channels per layer;
click a bar to open that layer.

**Filters.** The kernels of a convolution layer. For the first layer they are small colour
patches, for the others one grey tile per input channel. Switch the mode to *patterns*: for each
filter the toolkit grows an image that excites it as much as possible (gradient ascent), one page
of filters at a time. Early layers give stripes and colour blobs, deep layers textures.

**Class heatmaps.** Where the model looked to pick the class. Grad-CAM is the default; try the
other methods in the list and see where they agree. Click another bar of the top predictions (or
type a class name) to ask "where is the *star* in this picture?" even when the model picked a
circle. The *evaluate* button measures how faithful the map is (deletion and insertion scores).

**Occlusion.** The brute-force check: hide one patch of the image at a time and measure how much
the probability of the class falls. Red areas are the ones the model cannot do without. Press
Play to watch the patch move over the image while the probability curve is drawn; change the
patch size and the map gets coarser or finer.

**Across a dataset.** `cw.explore(dataset=cw.shapes_dataset(2000, difficulty="hard"))` adds a
*Dataset* tab: the confusion matrix of a whole dataset, scanned once in the background. Click a
cell to see the images the model confused, most confident first, and click one to explain it in
the other tabs; the feature-map tab then also shows, for each channel, the image patches that
excite it most. Notebook 06 walks through it.

All of them read from one `ModelInspector`: one forward pass gives every layer's activation for
the image, cached, so moving a slider redraws at once. The same dashboard runs as an app without
code cells: `voila notebooks/00_tour.ipynb`."""),
    ("code", """inspector = dashboard.inspector
inspector"""),
    ("markdown", "## Each widget on its own\nThe same widgets work alone, bound to the same inspector."),
    ("code", """cams = cw.CamOverlay(inspector, compare=("grad_cam", "grad_cam_plus_plus", "score_cam", "smoothgrad"))
cams"""),
    ("code", """browser = cw.LayerBrowser(inspector, layer="block1_conv1")
browser"""),
    ("markdown", "## The layers\nEvery layer with its kind and output shape (batch axis left out)."),
    ("code", """for record in inspector.layers:
    print(f"{record.name:14s} {record.kind:13s} {str(record.output_shape):16s} kernel {record.kernel_shape}")"""),
    ("code", """print(inspector.top_k(3))
print(inspector.cache_info)"""),
    ("markdown", """## Keep a picture
Every widget has a **Save PNG** button (it writes the file next to the notebook and offers a
download link) and the same as a call: `cams.save_png("cam.png")`. To hand the whole notebook to
someone without a kernel, `cw.export_html("00_tour.ipynb", "tour.html")` runs it and writes an
HTML page with the widgets' state embedded."""),
]

FEATURE_MAPS = [
    ("markdown", """# 1. Feature maps: what each layer sees

*Replaces the activation-visualisation parts of the source tutorials (Chollet's "visualizing what
convnets learn", the feature-map walkthroughs).* Those tutorials build a second `Model` whose
outputs are the intermediate layers, call `predict`, then loop over channels with matplotlib. Here
one widget does it, on any Keras model; this notebook uses the embedded default model (six shapes
on cluttered backgrounds, 96x96 pixels), so it runs offline."""),
    ("code", """import numpy as np
import cnnviz_widgets as cw

inspector = cw.ModelInspector()            # the embedded default model, first sample image
browser = cw.LayerBrowser(inspector, layer="block1_conv1")
browser"""),
    ("markdown", """Move the **channel** slider: each channel of `block1_conv1` is a filtered copy of the image,
some lit up on vertical edges, some on one colour, some on the background texture. Choose a deeper
layer in the list and compare. The bar chart on the right is clickable."""),
    ("markdown", """## The tutorials' observations, measured
The tutorials (on VGG16 and ImageNet) observe three things: the first layer acts as a set of edge
detectors and keeps almost all of the picture; deeper activations become more abstract and carry
more information about the class than about the picture; and they become sparser, more and more
channels being blank. Here are the same questions asked of the small default model, with numbers.

**Edges first.** The eight most active channels of the first convolution and of the last one, for
the star: the first layer's maps are recognisably the picture, outlines and colour regions; the
last layer's are coarse 12x12 blobs where the shape is."""),
    ("code", """from IPython.display import Image

samples = cw.sample_images()
layers = list(browser.blank_fractions())          # every layer with a spatial output, in order
first, deepest = layers[0], layers[-1]
inspector.set_image(samples[3]["image"])          # the star
tiles = []
for name in (first, deepest):
    maps = inspector.activations(name)
    top = cw.channel_statistics(maps).top(8)
    coloured = cw.render.colorize(cw.render.normalize_channels(maps[..., top]))   # (H, W, 8, 3)
    tiles += [cw.render.resize(coloured[:, :, i], (96, 96), "nearest") for i in range(8)]
labels = [f"{first} #{c}" for c in cw.channel_statistics(inspector.activations(first)).top(8)] + \\
         [f"{deepest} #{c}" for c in cw.channel_statistics(inspector.activations(deepest)).top(8)]
Image(cw.render.to_png(cw.render.tile_grid(np.stack(tiles), per_row=8, labels=labels)))"""),
    ("markdown", """**More abstract, more about the class.** How much does each layer know about the class? For
240 fresh images, each layer's channels are max-pooled to one vector per image, and a test image
gets the class whose average vector (from the other images) is closest. Chance is 1 in 6 (17 %)."""),
    ("code", """data = cw.generate_shapes(240, seed=11)
pooled = {name: [] for name in layers}
for image in data.images:
    inspector.set_image(image)                     # one cached forward pass gives every layer
    for name in layers:
        pooled[name].append(inspector.activations(name).max(axis=(0, 1)))
train = np.arange(len(data.labels)) < 160
class_accuracy = {}
for name in layers:
    features = np.stack(pooled[name])
    features /= np.linalg.norm(features, axis=1, keepdims=True) + 1e-9
    centroids = np.stack([features[train & (data.labels == c)].mean(axis=0) for c in range(6)])
    guess = np.argmax(features[~train] @ centroids.T, axis=1)
    class_accuracy[name] = float((guess == data.labels[~train]).mean())
    print(f"{name:14s} nearest-class-centroid accuracy {class_accuracy[name]:5.0%}")"""),
    ("markdown", """The first layers know next to nothing about the class (close to chance): they describe the
picture. Accuracy climbs block by block and the last convolution separates the six shapes
almost perfectly, with a plain average and no training: the class has become explicit.

**Sparser deeper?** The fraction of zero activations and of blank (all-zero) channels per layer,
averaged over the six sample images:"""),
    ("code", """zero = np.zeros((len(samples), len(layers)))
blank = np.zeros_like(zero)
for i, sample in enumerate(samples):
    inspector.set_image(sample["image"])
    stats = [cw.channel_statistics(inspector.activations(name)) for name in layers]
    zero[i] = [float(s.sparsity.mean()) for s in stats]
    blank[i] = [s.blank_fraction for s in stats]

print(f"{'layer':14s} {'shape':>14s} {'zero activations':>18s} {'blank channels':>16s}")
for j, name in enumerate(layers):
    shape = inspector.activations(name).shape
    print(f"{name:14s} {str(shape):>14s} {zero[:, j].mean():17.0%} {blank[:, j].mean():15.0%}")
print(f"zero activations, first -> last spatial layer: {zero[:, 0].mean():.0%} -> {zero[:, -1].mean():.0%}")"""),
    ("markdown", """Here the third observation does **not** hold: about half of the activations are zero in every
layer and almost no channel is blank, deep or not. The default model is small (three blocks, 96
channels at most) and every one of its deep channels is needed for six classes. In VGG16 trained
on ImageNet, `block5` has 512 channels for 1,000 classes, and for one image most of them see no
pattern of theirs: that is where the tutorials' blank channels come from. Try it with your own
model (notebook 05): the table above is one loop over `cw.channel_statistics`.

The widget shows the same thing: in the last layer with the *shared* normalisation (every channel
on one scale) a few channels stand out for the star."""),
    ("code", """inspector.set_image(samples[3]["image"])
browser.layer = deepest
browser.normalization = "shared"
browser.wait()
print("most active channels of", deepest, "for the star:", browser.statistics().top(5).tolist())
browser"""),
    ("markdown", """## Try
- Pick another sample image in a `cw.ImagePicker(inspector)` and watch the browser follow.
- Compare `per_channel` and `shared` normalisation: per channel, every map is stretched to its own
  range, so a nearly empty channel looks as bright as a busy one.
- The tutorials' VGG16 works the same way: `cw.LayerBrowser(cw.ModelInspector(keras.applications.VGG16()))`
  (see notebook 05 for your own models)."""),
]

FILTERS = [
    ("markdown", """# 2. Filters: the kernels and the patterns they respond to

*Replaces the filter parts of the source tutorials:* plotting the first layer's kernels
(`layer.get_weights()`, normalised and shown as small colour squares), and the gradient-ascent
"what does this filter respond to" images, stitched into one big grid and saved as a PNG."""),
    ("code", """import cnnviz_widgets as cw

inspector = cw.ModelInspector()
gallery = cw.FilterGallery(inspector, layer="stem_conv")
gallery"""),
    ("markdown", """The first layer reads RGB directly, so each 3x3 kernel is shown as a colour tile: bright
where the filter adds that colour, dark where it subtracts it. Deeper layers read many channels;
the *input ch.* slider picks which slice of their kernels is shown (in grey).

## Patterns: gradient ascent
In *patterns* mode each tile is an image optimised to excite one filter. The tutorials' recipe
(**classic**: normalised gradient steps from grey noise) gives noisy, high-frequency patterns;
the **robust** recipe (default) adds a colour-decorrelated Fourier parametrisation and random
jitter, scale and rotation at every step, which gives patterns a person can read. Pages are
computed in one batch, with a progress bar, and cached."""),
    ("code", """patterns = cw.FilterGallery(inspector, layer="block2_conv1", mode="patterns", page_size=8)
patterns.wait()
patterns"""),
    ("markdown", """The same filters with both recipes, as plain calls (the widget calls the same function):
robust on the top row, classic below."""),
    ("code", """import numpy as np
from IPython.display import Image

robust = cw.filter_patterns(inspector, "block2_conv1", range(8), recipe="robust")
classic = cw.filter_patterns(inspector, "block2_conv1", range(8), recipe="classic")
grid = cw.render.tile_grid(np.concatenate([robust, classic]), per_row=8, margin=3)
Image(cw.render.to_png(grid))"""),
    ("code", """# how strongly each pattern excites its own filter, per recipe (mean activation, borders excluded)
import keras
probe = keras.Model(inspector.model.inputs, inspector.model.get_layer("block2_conv1").output)
for name, images in (("robust", robust), ("classic", classic)):
    out = probe([inspector.preprocess(images.astype("float32"))]).numpy()
    own = [out[i, 2:-2, 2:-2, i].mean() for i in range(8)]
    print(f"{name:8s} mean activation of the targeted filter: {np.mean(own):.2f}")"""),
    ("markdown", """Both recipes excite their filters strongly (the classic one slightly more, since it
optimises raw pixels with no constraint); the robust one trades a little of that for patterns
without high-frequency noise, which is what a person can read.

## Save a stitched atlas
The tutorials end by stitching every pattern of a layer into one image with black margins and
saving it. One call does it (`whole_layer=True` for every filter of the layer, not just the page):"""),
    ("code", """path = patterns.export_atlas("block2_conv1_patterns.png")
from PIL import Image as PILImage
print(path, PILImage.open(path).size)"""),
    ("markdown", """## Try
- Set `patterns.layer = "block3_conv2"`: deeper filters respond to larger, more shape-like textures.
- Change `patterns.steps` or the recipe and compare.
- On VGG16 the same gallery reproduces the tutorials' `block1_conv1` ... `block5_conv1` figures (slower
  on a CPU: about a minute a page at 224 pixels)."""),
]

CAMS = [
    ("markdown", """# 3. Class activation maps: where did the model look?

*Replaces the Grad-CAM parts of the source tutorials* (a `GradientTape` around a two-output model,
pooled gradients, a weighted sum of the last conv layer's maps, resized and blended over the
image). `CamOverlay` does this for every method in `cw.HEATMAP_METHODS` (each declared once,
with its options and a sentence on when to distrust it), on any class, with the target layer
chosen automatically."""),
    ("code", """import numpy as np
import cnnviz_widgets as cw

inspector = cw.ModelInspector()
methods = tuple(cw.methods.HEATMAP_METHODS)
cam = cw.CamOverlay(inspector, compare=methods)
cam"""),
    ("code", """print("target layer and why:", cw.default_cam_layer(inspector))
for name, spec in cw.methods.HEATMAP_METHODS.items():
    options = ", ".join(f"{o.name}={o.default}" for o in spec.options)
    print(f"{name:22s} {spec.label:22s} {spec.family:12s} {options}")"""),
    ("markdown", """## Every method on several images
One row per method, one column per sample image (each explains its own top class). The calls are
the same as the widget's: `cw.heatmap(model, x, method)`."""),
    ("code", """from IPython.display import Image

samples = cw.sample_images()
x = np.concatenate([inspector.preprocess(s["image"][None].astype("float32")) for s in samples])
images = np.stack([s["image"] for s in samples])
masks = np.stack([s["mask"] for s in samples])
heatmaps = {name: cw.heatmap(inspector, x, name) for name in methods}

tiles = [cw.render.overlay(images[i], heatmaps[name][i], alpha=0.5) for name in methods for i in range(len(samples))]
labels = [cw.methods.HEATMAP_METHODS[name].label for name in methods for _ in samples]
Image(cw.render.to_png(cw.render.tile_grid(np.stack(tiles), per_row=len(samples), margin=2, labels=labels)))"""),
    ("markdown", """## How good are they? The numbers
On 24 fresh shapes images (generated with their masks, never seen in training):
- **Pointing game**: is the heatmap's peak on the shape?
- **Deletion**: remove pixels in the order of the heatmap and measure the probability's area under
  the curve; lower is better (the important pixels went first).
- **Insertion**: reveal pixels in that order starting from a blurred image; higher is better.
A random heatmap and a centre blob (the peak in the middle of the image) are the baselines."""),
    ("code", """fresh = cw.generate_shapes(24, size=96, seed=2024)
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
    print(f"{name:22s} {hits.mean():9.0%} {deletion:9.3f} {insertion:10.3f}")"""),
    ("markdown", """## The sanity check: does the map depend on what the model learned?
Adebayo et al. (2018, "Sanity Checks for Saliency Maps") randomise a network's weights layer by
layer from the top and watch the maps. A map that still looks the same after the weights are
destroyed shows the image (its edges), not the model. `cw.sanity_check` does this on a copy of
the model (yours is untouched) and reports, for each depth, the Spearman rank correlation with
the trained model's map: each row means "every layer from the top down to this one is random"."""),
    ("code", """from IPython.display import Image as Picture

report = cw.sanity_check(inspector, x, ["grad_cam", "guided_backprop", "saliency", "smoothgrad",
                                        "integrated_gradients", "guided_grad_cam"])
print(report.table())
for name in ("grad_cam", "guided_backprop"):
    print(f"{name} rho from the top down: " + " ".join(f"{rho:.2f}" for _, rho in report.spearman(name)))
Picture(report.to_png())"""),
    ("markdown", """The paper's finding, reproduced on the embedded model: **Grad-CAM decorrelates as soon as
the top layer is randomised** (its rank correlation falls to about zero), while **Guided
Backpropagation's maps stay similar until the first layers are randomised**: they mostly
reconstruct the image's edges. Saliency and SmoothGrad sit between. The *randomise weights*
toggle of `CamOverlay` shows the same thing for one map at a time."""),
    ("markdown", """## Any class, not just the top one
Click a bar of the top-k chart in the widget, or set the class in code: "where is the evidence
for *triangle* in this picture of a circle?" A good method shows little; the probabilities tell
you how much to believe any of it."""),
    ("code", """cam.compare = ()
cam.class_index = cw.SHAPE_CLASS_NAMES.index("triangle")
cam.wait()
print(inspector.top_k(3))
cam"""),
    ("code", """scores = cam.evaluate()    # the widget's own deletion/insertion numbers for what it shows
print({k: round(v, 3) for k, v in scores.items()})"""),
    ("markdown", """## How the methods differ, and when to distrust them
Each method's declaration carries one sentence on what its map shows and one on when to distrust
it; the list below is printed from them, so it always covers every method."""),
    ("code", """for spec in cw.methods.HEATMAP_METHODS.values():
    print(f"{spec.label} ({spec.family}): {spec.shows}.")
    print(f"    distrust it when: {spec.distrust}.")"""),
    ("markdown", """In general, distrust a map when the class probability is low (it explains a guess), when
methods disagree, when the deletion score is no better than the random baseline, when it
survives the sanity check's randomisation, or when it lights up the background, which can be a
real shortcut the model learned (a watermark, the snow behind a wolf). A heatmap explains this
model on this image; it is not a segmentation."""),
]

OCCLUSION = [
    ("markdown", """# 4. Occlusion: hide a patch, watch the probability

*Replaces the occlusion tutorial*, which slides a grey square over the image, predicts each
occluded copy one at a time, and plots the drop of the class probability as a heatmap. It needs
no gradients, so it works for any model, and it is the easiest method to explain to a student."""),
    ("code", """import numpy as np
import cnnviz_widgets as cw

inspector = cw.ModelInspector()
sweeper = cw.OcclusionSweeper(inspector, patch=16, stride=8)
sweeper"""),
    ("markdown", """Red is where hiding the patch costs the most probability. The right-hand picture is the
tutorial's mask view. The *fill* list chooses what the patch is filled with: the image's mean
colour (default), grey, a blurred copy or any colour.

## Step through the sweep
The slider (and Play) moves the patch one position at a time; the curve shows the probability of
the class at every position, with the intact image's level as a line. Every step comes from one
batched computation, cached, so stepping costs nothing."""),
    ("code", """sweep = sweeper.sweep
worst = int(np.argmin(sweep.probabilities[0]))
sweeper.step = worst
sweeper.wait()
row, col = np.unravel_index(worst, sweep.probabilities[0].shape)
print(f"intact probability {sweep.intact[0]:.3f}; lowest {sweep.probabilities[0].min():.3f} "
      f"with the patch at (top={sweep.rows[row]}, left={sweep.cols[col]})")
sweeper"""),
    ("markdown", """## Patch size and the map
The patch size is the one choice that matters. Below: the star, swept with patches of 6, 12, 24
and 48 pixels (stride half the patch). The columns: the largest fall of the probability at any
position, the map's mean on the shape and off it (as a fraction of the map's peak), and whether
the peak lies on the shape."""),
    ("code", """from IPython.display import Image

star = cw.sample_images()[3]
inspector.set_image(star["image"])
x = inspector.batch
patches = (6, 12, 24, 48)
tiles, rows = [], []
for patch in patches:
    sweep = cw.occlusion_sweep(inspector, x, patch=patch, stride=patch // 2)
    heat = sweep.heatmap[0]
    inside = heat[star["mask"]].mean() / max(heat.max(), 1e-6)
    outside = heat[~star["mask"]].mean() / max(heat.max(), 1e-6)
    hit = cw.pointing_game(sweep.heatmap, star["mask"][None])[0]
    rows.append((patch, sweep.grid.shape[1:], sweep.intact[0] - sweep.probabilities[0].min(), inside, outside, hit))
    tiles.append(cw.render.overlay(star["image"], cw.render.normalize(np.clip(heat, 0, None))))
print(f"{'patch':>5s} {'grid':>8s} {'largest drop':>13s} "
      f"{'mean on shape':>14s} {'off shape':>10s} {'peak on shape':>14s}")
for patch, grid, drop, inside, outside, hit in rows:
    print(f"{patch:5d} {str(grid):>8s} {drop:13.3f} {inside:14.2f} {outside:10.2f} {str(bool(hit)):>14s}")
Image(cw.render.to_png(cw.render.tile_grid(np.stack(tiles), per_row=4, labels=[f"patch {p}" for p in patches])))"""),
    ("markdown", """What the numbers say:
- **Small patches** (6, 12) hide too little: the model still sees enough of the star, the
  probability hardly moves (a few hundredths at most) and the map is faint, though what there is
  lies on the shape.
- **Large patches** (48, half the image) always hide something important: the probability
  collapses, and the map is a blurry blob that spills well off the shape.
- In between, at 24, the drop is large but the coarse 7x7 grid can put its peak next to the
  shape rather than on it. Occlusion maps are only as fine as the stride.
The star has five points: hiding one of them is not enough to change the model's mind. That is
redundancy, and occlusion is the method that shows it.

## Try
- `sweeper.patch = 8` and `sweeper.stride = 4`: finer, four times the forward passes.
- `sweeper.fill = "blur"`: a blurred patch removes detail but not colour; does the model rely on colour?
- Pick another class (`sweeper.class_index = 0`) to see what argues *for* a circle in this image."""),
]
OWN_MODEL = [
    ("markdown", """# 5. Your own model

Every widget takes a `ModelInspector`, and the inspector takes any Keras 3 model: an object or a
file, functional or `Sequential` (with or without an `Input`), with nested base networks (transfer
learning), from `keras.applications` or your own. This notebook runs offline: it builds its models
with `weights=None`, except one clearly marked cell at the end that uses ImageNet weights when the
network allows it."""),
    ("code", """import tempfile
from pathlib import Path

import cnnviz_widgets as cw     # first: it imports TensorFlow without its start-up log lines
import keras
import numpy as np

folder = Path(tempfile.mkdtemp())
star = cw.sample_images()[3]["image"]"""),
    ("markdown", """## A model saved to `.keras` and to `.h5`
Pass the path. `.keras` files and legacy `.h5` files load in Keras' safe mode (a file with a
`Lambda` layer is refused unless you pass `safe_mode=False` for a file you trust)."""),
    ("code", """import logging
logging.getLogger("absl").setLevel(logging.ERROR)   # Keras warns that .h5 is a legacy format; we know

model = cw.load_default_model()
model.save(folder / "shapes.keras")
model.save(folder / "shapes.h5")
for path in (folder / "shapes.keras", folder / "shapes.h5"):
    loaded = cw.ModelInspector(path, class_names=cw.SHAPE_CLASS_NAMES)
    loaded.set_image(star)
    print(f"{path.name:13s} preprocessing={loaded.preprocessing!r:12s} top: {loaded.top_k(1)[0]}")"""),
    ("code", """cw.explore(folder / "shapes.h5", star, class_names=cw.SHAPE_CLASS_NAMES)"""),
    ("markdown", """## A `Sequential` without an `Input` (the tutorials' way)
The tutorials build their convnet as a `Sequential` list of layers and call
`model.build((None, 128, 128, 3))`. In Keras 3 such a model has no `model.output`, which breaks
their feature-map code; the inspector re-traces the layers and handles it. So that the pictures
mean something without a long training run, this `Sequential` reuses the trained layers of the
default model behind a `Rescaling` layer (it takes raw pixels in [0, 255])."""),
    ("code", """trained = cw.load_default_model()
sequential = keras.Sequential(
    [keras.layers.Rescaling(1 / 255)]
    + [layer for layer in trained.layers if not isinstance(layer, keras.layers.InputLayer)]
)
sequential.build((None, 96, 96, 3))               # no Input: Keras 3 leaves sequential.output undefined

small = cw.ModelInspector(sequential, class_names=cw.SHAPE_CLASS_NAMES)
small.set_image(star)
print("preprocessing:", small.preprocessing, "-", small.preprocessing_reason)
print("top:", small.top_k(1)[0])
print("CAM layer:", cw.default_cam_layer(small))
cw.CamOverlay(small)"""),
    ("markdown", """## Transfer learning: a nested base network
The usual transfer-learning model puts a whole `keras.applications` network inside a small
classifier. Its inner layers are reached by qualified names such as `vgg16/block5_conv3`; the CAM
layer is found inside the nested network. (Untrained weights here, so the maps show the
machinery, not knowledge.)"""),
    ("code", """base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(96, 96, 3))
inputs = keras.Input((96, 96, 3))
features = base(inputs)
pooled = keras.layers.GlobalAveragePooling2D()(features)
outputs = keras.layers.Dense(6, activation="softmax")(pooled)
transfer = keras.Model(inputs, outputs, name="transfer")

nested = cw.ModelInspector(transfer, preprocess="vgg16", class_names=cw.SHAPE_CLASS_NAMES)
nested.set_image(star)
print("CAM layer:", cw.default_cam_layer(nested))
print("a few layers:", [record.name for record in nested.layers][:5], "...")
cw.LayerBrowser(nested, layer="vgg16/block2_conv1")"""),
    ("markdown", """## `keras.applications` models
The tutorials use VGG16 and ResNet50V2. Built with `weights=None` they work offline (untrained);
the inspector recognises them and picks their preprocessing and CAM layer by itself."""),
    ("code", """for build in (keras.applications.VGG16, keras.applications.ResNet50V2):
    network = build(weights=None)
    inspector = cw.ModelInspector(network)
    inspector.set_image(star)
    layer, reason = cw.default_cam_layer(inspector)
    heat = cw.grad_cam(inspector, inspector.batch)
    print(f"{network.name:12s} input {inspector.batch.shape[1:3]} preprocessing={inspector.preprocessing!r:12s} "
          f"CAM layer {layer} -> heatmap {heat.shape}")"""),
    ("markdown", """## ImageNet weights (needs the network)
**This cell needs internet access.** It downloads VGG16's ImageNet weights (528 MB, once; Keras
caches them in `~/.keras/models`, and Binder caches them when it builds the image) and a photo of
an elephant, then explains the top ImageNet classes with their names. Without a network it says so
and the rest of the notebook is unaffected."""),
    ("code", """# NEEDS NETWORK (ImageNet weights and a photo; cached after the first run)
try:
    vgg = keras.applications.VGG16(weights="imagenet")
    photo = keras.utils.get_file("african_elephant.jpg", "https://i.imgur.com/Bvro0YD.png")
except Exception as error:  # no network, a proxy, a full disk...
    print(f"Skipped the ImageNet example: the download failed ({type(error).__name__}: {error}).")
    print("Everything else in this notebook runs offline. With internet (or on Binder, where the "
          "weights are cached at build time) this cell shows VGG16's top-5 ImageNet classes and their Grad-CAM.")
else:
    imagenet = cw.ModelInspector(vgg, class_names="imagenet")
    imagenet.set_image(photo)
    for index, name, probability in imagenet.top_k(5):
        print(f"{probability:6.1%}  {name} ({index})")
    display(cw.CamOverlay(imagenet))"""),
]

DATASETS = [
    ("markdown", """# 06 · Across a dataset: where the model errs, and what each channel fires on

One image at a time shows *how* the model looked at that image. A dataset shows *what it has
learned*: which classes it confuses, which images fool it most, and which images excite each
channel. `cw.scan` runs the data through the model once, keeping for every channel only its
strongest and weakest images (not the activations), so memory stays flat however much data
there is.

This notebook uses the **hard** shapes: smaller shapes with a part hidden, more clutter. The
embedded model was trained on the easy ones, so it makes mistakes here worth looking at."""),
    ("code", """import cnnviz_widgets as cw
import numpy as np

inspector = cw.ModelInspector()
data = cw.shapes_dataset(2000, seed=0, difficulty="hard")
result = cw.scan(inspector, data)
print(result)
for name, accuracy in zip(result.class_names, result.class_accuracy):
    print(f"{name:9s} accuracy {accuracy:.1%}")"""),
    ("markdown", """## The confusion matrix, and the mistakes it hides
Rows are the true class, columns the prediction. Click a cell to list its images, most confident
first; click one (or pick it in the list) and it becomes the inspector's image, so every other
widget below explains it. The cell opened here holds the model's most confident mistake."""),
    ("code", """index, true_class, predicted, probability = result.confident_errors(1)[0]
print(f"most confident mistake: image #{index}, a {result.class_names[true_class]} taken for a "
      f"{result.class_names[predicted]} with p = {probability:.1%}")
browser = cw.DatasetBrowser(inspector, result, data=data)
browser.show_cell(true_class, predicted)
browser.image_index = index
browser"""),
    ("markdown", """## Why it erred
The class heatmap of the picked image, for the class the model chose. Often the hidden part of
the shape or a clutter line is where it looked: a circle with a corner cut away can look like a
square. Pick the true class in the chart to compare."""),
    ("code", """cam = cw.CamOverlay(inspector)
cam"""),
    ("markdown", """## What a channel fires on
For each channel the scan kept the images that excite it most and least. Here is the channel of
`block3_conv2` that is most selective for stars: its mean activation on stars compared with its
mean on every other class. Its top patches (each cropped to the part of the image that the unit
at the maximum sees, its receptive field) show what it responds to."""),
    ("code", """layer = "block3_conv2"
star = result.class_names.index("star")
channels = result.layer_shapes[layer][2]
selectivity = np.stack([result.class_selectivity(layer, c) for c in range(channels)])   # (channels, classes)
others = np.delete(selectivity, star, axis=1).mean(axis=1)
channel = int(np.argmax(selectivity[:, star] - others))
print(f"channel {channel} of {layer} fires most on star: mean {selectivity[channel, star]:.2f} on stars "
      f"against {others[channel]:.2f} on the other classes")
features = cw.LayerBrowser(inspector, layer=layer, channel=channel, scan=result, data=data)
features"""),
    ("markdown", """## Larger data, and more than one machine
`cw.scan(model, "path/to/folder", store="scan-folder")` reads class sub-folders as labels, skips and
lists files it cannot read, and writes its results to the store as it goes: an interrupted scan
resumes from its last checkpoint, and `cw.load_scan("scan-folder")` reopens it at once.
`engine="ray"` runs the same scan on a Ray cluster (`pip install "cnnviz-widgets[ray]"`);
`cw.explore(model, dataset=...)` adds all of this as a Dataset tab of the dashboard."""),
]

NOTEBOOKS = {
    "00_tour.ipynb": TOUR,
    "01_feature_maps.ipynb": FEATURE_MAPS,
    "02_filters.ipynb": FILTERS,
    "03_class_activation_maps.ipynb": CAMS,
    "04_occlusion.ipynb": OCCLUSION,
    "05_your_own_model.ipynb": OWN_MODEL,
    "06_datasets.ipynb": DATASETS,
}

NETWORK_TAG = "needs-network"
"""Tag of the cells that need internet access (the notebook test skips only those)."""


def build(cells, path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source in cells:
        if kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
            continue
        cell = nbformat.v4.new_code_cell(source)
        if source.startswith("# NEEDS NETWORK"):
            cell.metadata["tags"] = [NETWORK_TAG]
        nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n")
    print("wrote", path.relative_to(ROOT))


if __name__ == "__main__":
    for filename, cells in NOTEBOOKS.items():
        build(cells, ROOT / "notebooks" / filename)
