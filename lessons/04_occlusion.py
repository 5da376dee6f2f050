# %% [markdown]
# # 4. Occlusion: hide a patch, watch the probability
#
# *Replaces the occlusion tutorial*, which slides a grey square over the image, predicts each
# occluded copy one at a time, and plots the drop of the class probability as a heatmap. It needs
# no gradients, so it works for any model, and it is the easiest method to explain to a student.

# %%
import numpy as np
import cnnviz_widgets as cw

inspector = cw.ModelInspector()
sweeper = cw.OcclusionSweeper(inspector, patch=16, stride=8)
sweeper

# %% [markdown]
# Red is where hiding the patch costs the most probability. The right-hand picture is the
# tutorial's mask view. The *fill* list chooses what the patch is filled with: the image's mean
# colour (default), grey, a blurred copy or any colour.
#
# ## Step through the sweep
# The slider (and Play) moves the patch one position at a time; the curve shows the probability of
# the class at every position, with the intact image's level as a line. Every step comes from one
# batched computation, cached, so stepping costs nothing.

# %%
sweep = sweeper.sweep
worst = int(np.argmin(sweep.probabilities[0]))
sweeper.step = worst
sweeper.wait()
row, col = np.unravel_index(worst, sweep.probabilities[0].shape)
print(f"intact probability {sweep.intact[0]:.3f}; lowest {sweep.probabilities[0].min():.3f} "
      f"with the patch at (top={sweep.rows[row]}, left={sweep.cols[col]})")
sweeper

# %% [markdown]
# ## Patch size and the map
# The patch size is the one choice that matters. Below: the star, swept with patches of 6, 12, 24
# and 48 pixels (stride half the patch). The columns: the largest fall of the probability at any
# position, the map's mean on the shape and off it (as a fraction of the map's peak), and whether
# the peak lies on the shape.

# %%
from IPython.display import Image

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
Image(cw.render.to_png(cw.render.tile_grid(np.stack(tiles), per_row=4, labels=[f"patch {p}" for p in patches])))

# %% [markdown]
# What the numbers say:
# - **Small patches** (6, 12) hide too little: the model still sees enough of the star, the
#   probability hardly moves (a few hundredths at most) and the map is faint, though what there is
#   lies on the shape.
# - **Large patches** (48, half the image) always hide something important: the probability
#   collapses, and the map is a blurry blob that spills well off the shape.
# - In between, at 24, the drop is large but the coarse 7x7 grid can put its peak next to the
#   shape rather than on it. Occlusion maps are only as fine as the stride.
# The star has five points: hiding one of them is not enough to change the model's mind. That is
# redundancy, and occlusion is the method that shows it.
#
# ## Try
# - `sweeper.patch = 8` and `sweeper.stride = 4`: finer, four times the forward passes.
# - `sweeper.fill = "blur"`: a blurred patch removes detail but not colour; does the model rely on colour?
# - Pick another class (`sweeper.class_index = 0`) to see what argues *for* a circle in this image.
