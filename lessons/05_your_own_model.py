# %% [markdown]
# # 5. Your own model
#
# Every widget takes a `ModelInspector`, and the inspector takes any Keras 3 model: an object or a
# file, functional or `Sequential` (with or without an `Input`), with nested base networks (transfer
# learning), from `keras.applications` or your own. This notebook runs offline: it builds its models
# with `weights=None`, except one clearly marked cell at the end that uses ImageNet weights when the
# network allows it.

# %%
import tempfile
from pathlib import Path

import cnnviz_widgets as cw     # first: it imports TensorFlow without its start-up log lines
import keras

folder = Path(tempfile.mkdtemp())
star = cw.sample_images()[3]["image"]

# %% [markdown]
# ## A model saved to `.keras` and to `.h5`
# Pass the path. `.keras` files and legacy `.h5` files load in Keras' safe mode (a file with a
# `Lambda` layer is refused unless you pass `safe_mode=False` for a file you trust).

# %%
import logging
logging.getLogger("absl").setLevel(logging.ERROR)   # Keras warns that .h5 is a legacy format; we know

model = cw.load_default_model()
model.save(folder / "shapes.keras")
model.save(folder / "shapes.h5")
for path in (folder / "shapes.keras", folder / "shapes.h5"):
    loaded = cw.ModelInspector(path, class_names=cw.SHAPE_CLASS_NAMES)
    loaded.set_image(star)
    print(f"{path.name:13s} preprocessing={loaded.preprocessing!r:12s} top: {loaded.top_k(1)[0]}")

# %%
cw.explore(folder / "shapes.h5", star, class_names=cw.SHAPE_CLASS_NAMES)

# %% [markdown]
# ## A `Sequential` without an `Input` (the tutorials' way)
# The tutorials build their convnet as a `Sequential` list of layers and call
# `model.build((None, 128, 128, 3))`. In Keras 3 such a model has no `model.output`, which breaks
# their feature-map code; the inspector re-traces the layers and handles it. So that the pictures
# mean something without a long training run, this `Sequential` reuses the trained layers of the
# default model behind a `Rescaling` layer (it takes raw pixels in [0, 255]).

# %%
trained = cw.load_default_model()
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
cw.CamOverlay(small)

# %% [markdown]
# ## Transfer learning: a nested base network
# The usual transfer-learning model puts a whole `keras.applications` network inside a small
# classifier. Its inner layers are reached by qualified names such as `vgg16/block5_conv3`; the CAM
# layer is found inside the nested network. (Untrained weights here, so the maps show the
# machinery, not knowledge. They are seeded, so every run draws the same maps: on random weights
# about one channel in twenty of `block2_conv1` is blank, and the chart under the browser counts them.)

# %%
keras.utils.set_random_seed(1)                    # the same untrained weights on every run
base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(96, 96, 3))
inputs = keras.Input((96, 96, 3))
features = base(inputs)
pooled = keras.layers.GlobalAveragePooling2D()(features)
outputs = keras.layers.Dense(6, activation="softmax")(pooled)
transfer = keras.Model(inputs, outputs, name="transfer")

nested = cw.ModelInspector(transfer, preprocess="vgg16", class_names=cw.SHAPE_CLASS_NAMES)
nested.set_image(star)
print("CAM layer:", cw.default_cam_layer(nested))
print("a few layers:", [record.name for record in nested.layers][:5], "...")
cw.LayerBrowser(nested, layer="vgg16/block2_conv1")

# %% [markdown]
# ## `keras.applications` models
# The tutorials use VGG16 and ResNet50V2. Built with `weights=None` they work offline (untrained);
# the inspector recognises them and picks their preprocessing and CAM layer by itself.

# %%
for build in (keras.applications.VGG16, keras.applications.ResNet50V2):
    network = build(weights=None)
    inspector = cw.ModelInspector(network)
    inspector.set_image(star)
    layer, reason = cw.default_cam_layer(inspector)
    heat = cw.grad_cam(inspector, inspector.batch)
    print(f"{network.name:12s} input {inspector.batch.shape[1:3]} preprocessing={inspector.preprocessing!r:12s} "
          f"CAM layer {layer} -> heatmap {heat.shape}")

# %% [markdown]
# ## ImageNet weights (needs the network)
# **This cell needs internet access.** It downloads VGG16's ImageNet weights (528 MB, once; Keras
# caches them in `~/.keras/models`, and Binder caches them when it builds the image) and a photo of
# an elephant, then explains the top ImageNet classes with their names. Without a network it says so
# and the rest of the notebook is unaffected.

# %% tags=["needs-network"]
# NEEDS NETWORK (ImageNet weights and a photo; cached after the first run)
try:
    vgg = keras.applications.VGG16(weights="imagenet")
    photo = keras.utils.get_file("african_elephant.jpg", "https://i.imgur.com/Bvro0YD.png")
except Exception as error:  # noqa: BLE001 - no network, a proxy, a full disk...
    print(f"Skipped the ImageNet example: the download failed ({type(error).__name__}: {error}).")
    print("Everything else in this notebook runs offline. With internet (or on Binder, where the "
          "weights are cached at build time) this cell shows VGG16's top-5 ImageNet classes and their Grad-CAM.")
else:
    imagenet = cw.ModelInspector(vgg, class_names="imagenet")
    imagenet.set_image(photo)
    for index, name, probability in imagenet.top_k(5):
        print(f"{probability:6.1%}  {name} ({index})")
    from IPython.display import display

    display(cw.CamOverlay(imagenet))
