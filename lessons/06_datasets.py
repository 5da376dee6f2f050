# %% [markdown]
# # 06 · Across a dataset: where the model errs, and what each channel fires on
#
# One image at a time shows *how* the model looked at that image. A dataset shows *what it has
# learned*: which classes it confuses, which images fool it most, and which images excite each
# channel. `cw.scan` runs the data through the model once, keeping for every channel only its
# strongest and weakest images (not the activations), so memory stays flat however much data
# there is.
#
# This notebook uses the **hard** shapes: smaller shapes with a part hidden, more clutter. The
# embedded model was trained on the easy ones, so it makes mistakes here worth looking at.

# %%
import cnnviz_widgets as cw
import numpy as np

inspector = cw.ModelInspector()
data = cw.shapes_dataset(2000, seed=0, difficulty="hard")
result = cw.scan(inspector, data)
print(result)
for name, accuracy in zip(result.class_names, result.class_accuracy, strict=True):
    print(f"{name:9s} accuracy {accuracy:.1%}")

# %% [markdown]
# ## The confusion matrix, and the mistakes it hides
# Rows are the true class, columns the prediction. Click a cell to list its images, most confident
# first; click one (or pick it in the list) and it becomes the inspector's image, so every other
# widget below explains it. The cell opened here holds the model's most confident mistake.

# %%
index, true_class, predicted, probability = result.confident_errors(1)[0]
print(f"most confident mistake: image #{index}, a {result.class_names[true_class]} taken for a "
      f"{result.class_names[predicted]} with p = {probability:.1%}")
browser = cw.DatasetBrowser(inspector, result, data=data)
browser.show_cell(true_class, predicted)
browser.image_index = index
browser

# %% [markdown]
# ## Why it erred
# The class heatmap of the picked image, for the class the model chose. Often the hidden part of
# the shape or a clutter line is where it looked: a circle with a corner cut away can look like a
# square. Pick the true class in the chart to compare.

# %%
cam = cw.CamOverlay(inspector)
cam

# %% [markdown]
# ## What a channel fires on
# For each channel the scan kept the images that excite it most and least. Here is the channel of
# `block3_conv2` that is most selective for stars: its mean activation on stars compared with its
# mean on every other class. Its top patches (each cropped to the part of the image that the unit
# at the maximum sees, its receptive field) show what it responds to.

# %%
layer = "block3_conv2"
star = result.class_names.index("star")
channels = result.layer_shapes[layer][2]
selectivity = np.stack([result.class_selectivity(layer, c) for c in range(channels)])   # (channels, classes)
others = np.delete(selectivity, star, axis=1).mean(axis=1)
channel = int(np.argmax(selectivity[:, star] - others))
print(f"channel {channel} of {layer} fires most on star: mean {selectivity[channel, star]:.2f} on stars "
      f"against {others[channel]:.2f} on the other classes")
features = cw.LayerBrowser(inspector, layer=layer, channel=channel, scan=result, data=data)
features

# %% [markdown]
# ## Larger data, and more than one machine
# `cw.scan(model, "path/to/folder", store="scan-folder")` reads class sub-folders as labels, skips and
# lists files it cannot read, and writes its results to the store as it goes: an interrupted scan
# resumes from its last checkpoint, and `cw.load_scan("scan-folder")` reopens it at once.
# `engine="ray"` runs the same scan on a Ray cluster (`pip install "cnnviz-widgets[ray]"`);
# `cw.explore(model, dataset=...)` adds all of this as a Dataset tab of the dashboard.
