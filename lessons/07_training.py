# %% [markdown]
# # 7. Watch it learn: a training run on a time axis
#
# Every other lesson shows a finished network. This one trains a small network on the shapes
# pictures while you watch, and then lets you scrub through its training: the first-layer filters
# going from noise to edges and colour blobs, one picture's heatmap moving onto the shape, the
# confusion matrix filling its diagonal, and channels that die.
#
# A Keras callback, `cw.TrainingRecorder`, saves a *snapshot* of the weights before training, at
# steps 1, 2, 4, 8... of the first epoch (where most of the visible change happens) and at the end
# of every epoch. The dashboard shows any snapshot; your model keeps its own weights.

# %%
import cnnviz_widgets as cw  # first: it keeps TensorFlow's start-up lines out of the notebook

import keras

SIZE = 64
train = cw.generate_shapes(6000, size=SIZE, seed=0)      # pictures with their labels
probe = cw.generate_shapes(120, size=SIZE, seed=1)       # a small fixed set, followed at every snapshot
print(f"{len(train.images)} training pictures of {SIZE}x{SIZE}; classes: {', '.join(cw.SHAPE_CLASS_NAMES)}")

# %% [markdown]
# ## A small network, untrained
# Four convolutions with batch normalisation, a global max pool and six outputs. Its weights are
# random: for now it answers about 1 in 6 at random.

# %%
keras.utils.set_random_seed(0)
layers = keras.layers


def conv(x, filters, kernel, name):
    x = layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


pixels = keras.Input((SIZE, SIZE, 3), name="image")
x = layers.Rescaling(1 / 255, name="scale")(pixels)
x = layers.MaxPooling2D(2, name="pool1")(conv(x, 16, 5, "conv1"))
x = layers.MaxPooling2D(2, name="pool2")(conv(x, 32, 3, "conv2"))
x = conv(conv(x, 64, 3, "conv3"), 64, 3, "conv4")
x = layers.GlobalMaxPooling2D(name="global_pool")(x)
model = keras.Model(pixels, layers.Dense(6, activation="softmax", name="classes")(x), name="shapes_student")
EPOCHS, BATCH = 6, 32
schedule = keras.optimizers.schedules.CosineDecay(3e-3, EPOCHS * len(train.images) // BATCH)
model.compile(keras.optimizers.Adam(schedule), "sparse_categorical_crossentropy", metrics=["accuracy"])

# %% [markdown]
# ## Record while it trains, and watch
# The recorder writes into the folder `runs/shapes_student`. The dashboard follows the latest
# snapshot: run the next two cells and look at the *Training* tab while `fit` runs. The curves
# grow at every snapshot; the filmstrips are drawn when training ends.

# %%
import shutil

shutil.rmtree("runs/shapes_student", ignore_errors=True)      # a fresh run each time the lesson runs
recorder = cw.TrainingRecorder("runs/shapes_student", steps="log", probe=(probe.images, probe.labels))
dashboard = cw.explore(model, probe.images[0], run=recorder, class_names=cw.SHAPE_CLASS_NAMES)
dashboard.show("Training")
dashboard

# %%
history = model.fit(train.images.astype("float32"), train.labels, epochs=EPOCHS, batch_size=BATCH,
                    validation_data=(probe.images.astype("float32"), probe.labels),
                    callbacks=[recorder], verbose=2)

# %% [markdown]
# ## Scrub through the run
# Drag the *snapshot* slider, press Play, or click a dot under the curves: every tab follows. Try
# the *Filters* tab at snapshot 0 (noise) and at the last one, or the *Class heatmaps* tab at the
# first steps and at the end.
#
# The same run can be read in any kernel, also while it is recorded:

# %%
run = cw.load_run("runs/shapes_student")
print(run)
for snapshot in run.snapshots:
    logs = ", ".join(f"{k} {v:.2f}" for k, v in snapshot.logs.items())
    print(f"{snapshot.index:2d}  {snapshot.kind:5s}  epoch {snapshot.progress:5.2f}  step {snapshot.step:4d}  {logs}")

# %% [markdown]
# ## The confusion matrix fills its diagonal
# The probe's predictions were recorded at every snapshot, so its accuracy moves through time
# without running the network again.

# %%
from cnnviz_widgets.training.timeline import probe_accuracy_by_class

by_class = probe_accuracy_by_class(run, len(cw.SHAPE_CLASS_NAMES))
print("snapshot  " + "  ".join(f"{name:>8s}" for name in cw.SHAPE_CLASS_NAMES))
for index in (0, len(run) // 2, len(run) - 1):
    print(f"{index:8d}  " + "  ".join(f"{value:8.0%}" for value in by_class[index]))

# %% [markdown]
# ## One snapshot, set from code
# `dashboard.inspector.snapshot` picks the snapshot every tab shows (-1: the latest). Here the
# network after its first training step, against the end:

# %%
inspector = dashboard.inspector
for index in (1, len(run) - 1):
    inspector.snapshot = index
    top = inspector.top_k(1)[0]
    print(f"snapshot {index}: the picture is a {cw.SHAPE_CLASS_NAMES[probe.labels[0]]}; the network says "
          f"{top.name} ({top.probability:.0%})")
inspector.snapshot = -1
dashboard.training.wait()
dashboard.training
