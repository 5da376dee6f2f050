# %% [markdown]
# # 1. Feature maps: what each layer sees
#
# *Replaces the activation-visualisation parts of the source tutorials (Chollet's "visualizing what
# convnets learn", the feature-map walkthroughs).* Those tutorials build a second `Model` whose
# outputs are the intermediate layers, call `predict`, then loop over channels with matplotlib. Here
# one widget does it, on any Keras model; this notebook uses the embedded default model (six shapes
# on cluttered backgrounds, 96x96 pixels), so it runs offline.

# %%
import numpy as np
import cnnviz_widgets as cw

inspector = cw.ModelInspector()            # the embedded default model, first sample image
browser = cw.LayerBrowser(inspector, layer="block1_conv1")
browser

# %% [markdown]
# Move the **channel** slider: each channel of `block1_conv1` is a filtered copy of the image,
# some lit up on vertical edges, some on one colour, some on the background texture. Choose a deeper
# layer in the list and compare. The bar chart on the right is clickable.

# %% [markdown]
# ## The tutorials' observations, measured
# The tutorials (on VGG16 and ImageNet) observe three things: the first layer acts as a set of edge
# detectors and keeps almost all of the picture; deeper activations become more abstract and carry
# more information about the class than about the picture; and they become sparser, more and more
# channels being blank. Here are the same questions asked of the small default model, with numbers.
#
# **Edges first.** The eight most active channels of the first convolution and of the last one, for
# the star: the first layer's maps are recognisably the picture, outlines and colour regions; the
# last layer's are coarse 12x12 blobs where the shape is.

# %%
from IPython.display import Image

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
labels = [f"{first} #{c}" for c in cw.channel_statistics(inspector.activations(first)).top(8)] + \
         [f"{deepest} #{c}" for c in cw.channel_statistics(inspector.activations(deepest)).top(8)]
Image(cw.render.to_png(cw.render.tile_grid(np.stack(tiles), per_row=8, labels=labels)))

# %% [markdown]
# **More abstract, more about the class.** How much does each layer know about the class? For
# 240 fresh images, each layer's channels are max-pooled to one vector per image, and a test image
# gets the class whose average vector (from the other images) is closest. Chance is 1 in 6 (17 %).

# %%
data = cw.generate_shapes(240, seed=11)
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
    print(f"{name:14s} nearest-class-centroid accuracy {class_accuracy[name]:5.0%}")

# %% [markdown]
# The first layers know next to nothing about the class (close to chance): they describe the
# picture. Accuracy climbs block by block and the last convolution separates the six shapes
# almost perfectly, with a plain average and no training: the class has become explicit.
#
# **Sparser deeper?** The fraction of zero activations and of blank (all-zero) channels per layer,
# averaged over the six sample images:

# %%
zero = np.zeros((len(samples), len(layers)))
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
print(f"zero activations, first -> last spatial layer: {zero[:, 0].mean():.0%} -> {zero[:, -1].mean():.0%}")

# %% [markdown]
# Here the third observation does **not** hold: about half of the activations are zero in every
# layer and almost no channel is blank, deep or not. The default model is small (three blocks, 96
# channels at most) and every one of its deep channels is needed for six classes. In VGG16 trained
# on ImageNet, `block5` has 512 channels for 1,000 classes, and for one image most of them see no
# pattern of theirs: that is where the tutorials' blank channels come from. Try it with your own
# model (notebook 05): the table above is one loop over `cw.channel_statistics`.
#
# The widget shows the same thing: in the last layer with the *shared* normalisation (every channel
# on one scale) a few channels stand out for the star.

# %%
inspector.set_image(samples[3]["image"])
browser.layer = deepest
browser.normalization = "shared"
browser.wait()
print("most active channels of", deepest, "for the star:", browser.statistics().top(5).tolist())
browser

# %% [markdown]
# ## Try
# - Pick another sample image in a `cw.ImagePicker(inspector)` and watch the browser follow.
# - Compare `per_channel` and `shared` normalisation: per channel, every map is stretched to its own
#   range, so a nearly empty channel looks as bright as a busy one.
# - The tutorials' VGG16 works the same way: `cw.LayerBrowser(cw.ModelInspector(keras.applications.VGG16()))`
#   (see notebook 05 for your own models).
