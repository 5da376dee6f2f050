# %% [markdown]
# # 2. Filters: the kernels and the patterns they respond to
#
# *Replaces the filter parts of the source tutorials:* plotting the first layer's kernels
# (`layer.get_weights()`, normalised and shown as small colour squares), and the gradient-ascent
# "what does this filter respond to" images, stitched into one big grid and saved as a PNG.

# %%
import cnnviz_widgets as cw

inspector = cw.ModelInspector()
gallery = cw.FilterGallery(inspector, layer="stem_conv")
gallery

# %% [markdown]
# The first layer reads RGB directly, so each 3x3 kernel is shown as a colour tile: bright
# where the filter adds that colour, dark where it subtracts it. Deeper layers read many channels;
# the *input ch.* slider picks which slice of their kernels is shown (in grey).
#
# ## Patterns: gradient ascent
# In *patterns* mode each tile is an image optimised to excite one filter. The tutorials' recipe
# (**classic**: normalised gradient steps from grey noise) gives noisy, high-frequency patterns;
# the **robust** recipe (default) adds a colour-decorrelated Fourier parametrisation and random
# jitter, scale and rotation at every step, which gives patterns a person can read. Pages are
# computed in one batch, with a progress bar, and cached.

# %%
patterns = cw.FilterGallery(inspector, layer="block2_conv1", mode="patterns", page_size=8)
patterns.wait()
patterns

# %% [markdown]
# The same filters with both recipes, as plain calls (the widget calls the same function):
# robust on the top row, classic below.

# %%
import numpy as np
from IPython.display import Image

robust = cw.filter_patterns(inspector, "block2_conv1", range(8), recipe="robust")
classic = cw.filter_patterns(inspector, "block2_conv1", range(8), recipe="classic")
grid = cw.render.tile_grid(np.concatenate([robust, classic]), per_row=8, margin=3)
Image(cw.render.to_png(grid))

# %%
# how strongly each pattern excites its own filter, per recipe (mean activation, borders excluded)
import keras
probe = keras.Model(inspector.model.inputs, inspector.model.get_layer("block2_conv1").output)
for name, images in (("robust", robust), ("classic", classic)):
    out = probe([inspector.preprocess(images.astype("float32"))]).numpy()
    own = [out[i, 2:-2, 2:-2, i].mean() for i in range(8)]
    print(f"{name:8s} mean activation of the targeted filter: {np.mean(own):.2f}")

# %% [markdown]
# Both recipes excite their filters strongly (the classic one slightly more, since it
# optimises raw pixels with no constraint); the robust one trades a little of that for patterns
# without high-frequency noise, which is what a person can read.
#
# ## Save a stitched atlas
# The tutorials end by stitching every pattern of a layer into one image with black margins and
# saving it. One call does it (`whole_layer=True` for every filter of the layer, not just the page):

# %%
path = patterns.export_atlas("block2_conv1_patterns.png")
from PIL import Image as PILImage
print(path, PILImage.open(path).size)

# %% [markdown]
# ## Try
# - Set `patterns.layer = "block3_conv2"`: deeper filters respond to larger, more shape-like textures.
# - Change `patterns.steps` or the recipe and compare.
# - On VGG16 the same gallery reproduces the tutorials' `block1_conv1` ... `block5_conv1` figures (slower
#   on a CPU: about a minute a page at 224 pixels).
