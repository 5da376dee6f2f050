# %% [markdown]
# # What does a convolutional network see?
#
# This page runs a small network trained to tell six shapes apart (circle, square, triangle, star,
# cross, stripes) on cluttered backgrounds. Nothing here needs code: pick an image at the top (a
# *sample*, an *Upload* or a path with *Open*), click a bar of the top predictions to choose the
# class to explain, and move between the tabs.

# %%
import cnnviz_widgets as cw

cw.explore()

# %% [markdown]
# ## What to try
#
# **Feature maps.** Every channel of one layer for this image. The first layers look like the
# picture seen through edge and colour filters; move the *channel* slider to see which edges each
# channel picks. Choose a deeper layer in the *layer* list: the maps get smaller and blurrier. The
# chart counts the blank channels of each layer; click a bar to open that layer.
#
# **Filters.** What each filter of a layer looks for. Switch to *patterns*: the page grows, for each
# filter, a picture that excites it as much as possible.
#
# **Class heatmaps.** Where the network looked to pick the class. The colour bar beside the map says
# what the colours are worth: with *same as top class*, a class the network does not see stays dark.
# Try other methods in the *method* list, and click another bar to ask where the *star* is.
#
# **Occlusion.** Hide one patch at a time and measure how much the probability of the class falls.
# The colour bar is in percentage points; red areas are the ones the network cannot do without.
# Press Play to move the patch over the picture and follow the marker on the probability curve.
