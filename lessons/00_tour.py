# %% [markdown]
# # cnnviz-widgets: a tour
#
# This notebook runs offline on the **embedded default model**: a small convnet trained by this
# package to recognise six shapes (circle, square, triangle, star, cross, stripes) on cluttered
# backgrounds. Every cell works without a network connection.
#
# One call opens the dashboard. Pick an image at the top (a sample, an upload or a path), click a
# bar of the top predictions to choose the class to explain, and move between the tabs.

# %%
import cnnviz_widgets as cw

dashboard = cw.explore()   # the embedded default model and its first sample image
dashboard

# %% [markdown]
# ## What the tabs show, and what to try
#
# **Feature maps.** Every channel of one layer for this image, as a grid, and one channel large with
# its mean, maximum and how many of its positions are zero; the colour bar beside it gives the
# activation values. The first layers (`stem_conv`, `block1_conv1`) look like the photo seen through
# edge and colour filters; move the *channel* slider and see which edges each one picks. Then choose
# `block3_conv2` in the *layer* list: the maps are 12x12, blurry and mostly dark. The bar chart on
# the right counts the blank channels per layer; click a bar to open that layer.
#
# **Filters.** The kernels of a convolution layer. For the first layer they are small colour
# patches, for the others one grey tile per input channel. Switch the mode to *patterns*: for each
# filter the toolkit grows an image that excites it as much as possible (gradient ascent), one page
# of filters at a time. Early layers give stripes and colour blobs, deep layers textures.
#
# **Class heatmaps.** Where the model looked to pick the class. Grad-CAM is the default; try the
# other methods in the *method* list and see where they agree. Click another bar of the top
# predictions (or type a class name) to ask "where is the *star* in this picture?" even when the
# model picked a circle. The colour bar says what the colours are worth: with the *same as top
# class* scale, a class the model does not see stays dark instead of lighting up like the top
# class. The *Deletion / insertion AUC* button measures how faithful the map is.
#
# **Occlusion.** The brute-force check: hide one patch of the image at a time and measure how much
# the probability of the class falls, in percentage points (the colour bar). Red areas are the
# ones the model cannot do without; a class whose probability never drops by a point stays dark.
# Press Play to watch the patch move over the image while a marker follows the probability curve;
# change the *patch* size and the map gets coarser or finer.
#
# **Across a dataset.** `cw.explore(dataset=cw.shapes_dataset(2000, difficulty="hard"))` adds a
# *Dataset* tab: the confusion matrix of a whole dataset, scanned once in the background. Click a
# cell to see the images the model confused, most confident first, and click one to explain it in
# the other tabs; the feature-map tab then also shows, for each channel, the image patches that
# excite it most. Notebook 06 walks through it.
#
# All of them read from one `ModelInspector`: one forward pass gives every layer's activation for
# the image, cached, so moving a slider redraws at once. The same dashboard runs as an app without
# code, for a class: `voila notebooks/app.ipynb`.

# %%
inspector = dashboard.inspector
inspector

# %% [markdown]
# ## Each widget on its own
# The same widgets work alone, bound to the same inspector.

# %%
cams = cw.CamOverlay(inspector, compare=("grad_cam", "grad_cam_plus_plus", "score_cam", "smoothgrad"))
cams

# %%
browser = cw.LayerBrowser(inspector, layer="block1_conv1")
browser

# %% [markdown]
# ## The layers
# Every layer with its kind and output shape (batch axis left out).

# %%
for record in inspector.layers:
    print(f"{record.name:14s} {record.kind:13s} {str(record.output_shape):16s} kernel {record.kernel_shape}")

# %%
print(inspector.top_k(3))
print(inspector.cache_info)

# %% [markdown]
# ## Keep a picture
# Every widget has a **Save PNG** button (it writes the file next to the notebook and offers a
# download link) and the same as a call: `cams.save_png("cam.png")`. To hand the whole notebook to
# someone without a kernel, `cw.export_html("00_tour.ipynb", "tour.html")` runs it and writes an
# HTML page with the widgets' state embedded.
