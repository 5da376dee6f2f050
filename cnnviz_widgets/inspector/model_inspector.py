"""ModelInspector: one object that wraps a Keras model and serves every widget.

Lifecycle: the model is traced once into a multi-output feature model (see
:mod:`cnnviz_widgets.inspector.graph`) and its forward function compiled once.
``set_image`` converts and preprocesses an image; the first request for an activation or
a prediction runs ONE forward pass that yields every layer output and the prediction,
cached per (model, image) in a cache bounded in bytes. Widgets observe the traits
``image_version`` and ``model_version`` and re-read what they need.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import logging
import os
import threading
import warnings
import weakref
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import keras
import numpy as np
import traitlets

from cnnviz_widgets import backend
from cnnviz_widgets.embedded.class_names import resolve_class_names
from cnnviz_widgets.errors import (
    ArgumentError,
    NoImageError,
    NonFiniteOutputError,
    PreprocessingError,
    RunError,
    UnsupportedModelError,
)
from cnnviz_widgets.inspector.cache import ByteLRUCache
from cnnviz_widgets.inspector.graph import (
    LOGITS_KEY,
    OUTPUT_KEY,
    PROBABILITY_KEY,
    SCORE_KEY,
    LayerRecord,
    TracedGraph,
    cached_trace,
    resolve_input_shape,
)
from cnnviz_widgets.inspector.heads import near_uniform
from cnnviz_widgets.inspector.images import FITS, ImageLike, fit_rgb, load_rgb, to_model_pixels
from cnnviz_widgets.inspector.loading import load_model_file
from cnnviz_widgets.inspector.preprocessing import PREPROCESSORS, Preprocess, resolve_preprocessing
from cnnviz_widgets.inspector.settings import InspectorSettings, copy_model
from cnnviz_widgets.store import ResultStore, as_store, model_fingerprint

log = logging.getLogger("cnnviz_widgets")



class Prediction(NamedTuple):
    """One entry of :meth:`ModelInspector.top_k`."""

    index: int  # type: ignore[assignment]  # the class index; shadows tuple.index on purpose
    name: str
    probability: float


@dataclass
class _ModelState:
    """Everything derived from the model; swapped as a whole so a failed change leaves no trace."""

    model: keras.Model
    graph: TracedGraph
    forward: Any
    input_shape: tuple[int, int, int]
    preprocess_name: str
    preprocess: Preprocess
    preprocess_reason: str
    class_names: tuple[str, ...]
    is_default: bool


class ModelInspector(traitlets.HasTraits):
    """Wraps a Keras image model: its layers, the current image, and one cached forward pass.

    Args:
        model: a ``keras.Model``; a path to a ``.keras`` or ``.h5`` file; or None for the
            embedded default model (which also preloads its first sample image).
        preprocess: a callable on float32 (N, H, W, C) pixels in [0, 255], a name from
            :data:`~cnnviz_widgets.inspector.preprocessing.PREPROCESSORS`, or ``"auto"``.
        class_names: a list of names, ``"imagenet"``, or None for ``class 0 .. n-1``
            (the default model knows its own names). A binary head takes two names.
        head: how the output is read as classes, as in
            :mod:`~cnnviz_widgets.inspector.heads`: ``"softmax"`` (exclusive classes),
            ``"binary"`` (one sigmoid or logit unit read as two classes: p(1) = sigmoid(z),
            p(0) = 1 - p(1), class 0 explained through -z), ``"multilabel"`` (independent
            sigmoids, not summing to 1), ``"score"`` (raw regression-style outputs explained as
            they are), or ``"auto"``: one output unit gives ``binary`` (``score`` if that unit
            is a softmax), several units ending in a sigmoid ``multilabel``, else ``softmax``.
        output: for a model with several outputs, the one explained: an index or an output
            name (default: the first). ``repr`` and the dashboard header say which.
        run: a recorded training run (a :class:`~cnnviz_widgets.Run`, its folder, or the
            :class:`~cnnviz_widgets.TrainingRecorder` recording it, to follow it live): the views
            then show the snapshot :attr:`snapshot` picks, through a copy of the model holding
            its weights; the model passed keeps its own weights.
        fit: how an image whose shape differs from the input's is fitted to it: ``"stretch"``
            (the default, as Keras's ``load_img`` and the tutorials), ``"crop"`` (the centre, no
            distortion) or ``"pad"`` (the whole image with black bars); see :data:`FITS`.
        safe_mode: when loading a file, refuse arbitrary code (``Lambda`` layers).
        input_shape: (H, W, C) to use when the model leaves it open (a subclassed or
            Sequential model never built, or ``include_top=False`` applications with ``None``
            sizes). A model that was never built gets its weights created on this shape.
        cache_bytes: budget of the per-image activation cache.
        results_bytes: budget of :attr:`results`, where widgets keep their expensive results
            (heatmaps, sweeps, filter patterns) keyed by :attr:`image_key` and parameters.
        store: a folder (or a :class:`~cnnviz_widgets.store.ResultStore`) where slow results
            (filter and class patterns, Score-CAM, Ablation-CAM and RISE maps, occlusion
            sweeps, dataset scans) are written and read back by any later kernel; see
            :mod:`cnnviz_widgets.store`. None: nothing is written to disk.
    """

    image_version = traitlets.Int(0, help="Incremented after every successful set_image.")
    _state: _ModelState
    model_version = traitlets.Int(0, help="Incremented after every successful model change.")
    fit = traitlets.Unicode("stretch", help="How an image of another shape is fitted to the model input: "
                                            "'stretch', 'crop' or 'pad'. A change re-fits the current image.")
    image_label = traitlets.Unicode("", help="What the current image is, in words (a sample's name, a file name, "
                                             "a dataset image), as set_image was told; empty when not told.")
    recording = traitlets.Bool(False, help="True while the TrainingRecorder this inspector follows records a fit "
                                           "(views that run the network at many snapshots wait for its end).")
    snapshot = traitlets.Int(-1, help="The snapshot of the attached run that the views show, 0-based in "
                                      "run.snapshots; -1: the latest (followed as the run grows). Without a run: -1.")

    SNAPSHOT_STATES = 8
    """Snapshots whose model copies are kept ready (the most recently shown), within 1 GiB of weights."""

    def __init__(
        self,
        model: keras.Model | str | os.PathLike | None = None,
        *,
        preprocess: str | Preprocess = "auto",
        class_names: str | Sequence[str] | None = None,
        safe_mode: bool = True,
        input_shape: tuple[int, int, int] | None = None,
        head: str = "auto",
        output: int | str | None = None,
        cache_bytes: int = 512 * 2**20,
        results_bytes: int = 256 * 2**20,
        store: ResultStore | str | os.PathLike | None = None,
        fit: str = "stretch",
        run: Any = None,
    ) -> None:
        super().__init__()
        self.fit = fit
        self._versions = itertools.count(1)
        self.run: Any = None
        """The attached training run (:class:`~cnnviz_widgets.Run`), or None."""
        self._recorder: Any = None
        self._snapshot_states: OrderedDict[int, _ModelState] = OrderedDict()
        self._snapshot_versions: dict[int, int] = {}
        self._prefetch_wanted: list[int] = []
        self._prefetcher: threading.Thread | None = None
        self.store = as_store(store)
        """The :class:`~cnnviz_widgets.store.ResultStore` of slow results, or None."""
        self._fingerprint: tuple[Any, str] | None = None
        self._lock = threading.RLock()
        self._cache = ByteLRUCache(cache_bytes)
        self.results = ByteLRUCache(results_bytes)
        """Shared cache of expensive results, for every widget bound to this inspector."""
        self._image: np.ndarray | None = None
        self._source: np.ndarray | None = None  # the image at its own size, kept for model changes
        self._batch: np.ndarray | None = None
        self._image_key: str | None = None
        self.forward_passes = 0
        """Number of forward passes run so far (each yields every layer output)."""
        self.set_model(model, preprocess=preprocess, class_names=class_names, safe_mode=safe_mode,
                       input_shape=input_shape, head=head, output=output)
        if self._state.is_default:
            from cnnviz_widgets.embedded.default_model import sample_images

            first = sample_images()[0]
            self.set_image(first["image"], label=f"sample {first['name']}")
        if run is not None:
            self.attach_run(run)

    # ------------------------------------------------------------------ model
    def set_model(
        self,
        model: keras.Model | str | os.PathLike | None = None,
        *,
        preprocess: str | Preprocess = "auto",
        class_names: str | Sequence[str] | None = None,
        safe_mode: bool = True,
        input_shape: tuple[int, int, int] | None = None,
        head: str = "auto",
        output: int | str | None = None,
    ) -> None:
        """Replace the inspected model (same arguments as the constructor).

        The current image, if any, is kept and re-preprocessed for the new model. On any
        error the inspector keeps its previous model and image.
        """
        state = self._build_state(model, preprocess, class_names, safe_mode, input_shape, head, output)
        with self._lock:
            if self._source is not None:
                self._image, self._batch, self._image_key = self._prepare(state, self._source, self.fit)
            self._state = self._user_state = state
            self._model_args = {"preprocess": preprocess, "class_names": class_names, "safe_mode": safe_mode,
                                "input_shape": input_shape, "head": head, "output": output}
            self._user_version = next(self._versions)
            self._cache.clear()
            self.results.clear()
            self._detach_run()
        log.info("cnnviz: preprocessing %r (%s)", state.preprocess_name, state.preprocess_reason)
        if self.model_version != self._user_version:
            self.model_version = self._user_version

    def _build_state(self, model, preprocess, class_names, safe_mode, input_shape, head, output) -> _ModelState:
        from cnnviz_widgets.embedded.default_model import is_default_model, load_default_model
        from cnnviz_widgets.embedded.shapes import CLASS_NAMES

        is_default = model is None
        if is_default:
            model = load_default_model()
        elif isinstance(model, (str, os.PathLike)):
            model = load_model_file(model, safe_mode=safe_mode)
        elif not isinstance(model, keras.Model):
            raise UnsupportedModelError(
                f"model must be a keras.Model, a path to a .keras/.h5 file, or None; got {type(model).__name__}")
        if class_names is None and (is_default or is_default_model(model)):
            class_names = CLASS_NAMES   # the embedded model knows its names, however it was loaded

        shape = resolve_input_shape(model, input_shape)
        graph = cached_trace(model, shape, output, head)
        names = resolve_class_names(class_names, graph.n_classes)
        pre_name, pre_fn, pre_reason = resolve_preprocessing(preprocess, model)
        feature_model = graph.feature_model
        forward = backend.compiled(lambda x: feature_model(x, training=False), [backend.Spec((None, *shape))],
                                   feature_model.variables)
        return _ModelState(model, graph, forward, shape, pre_name, pre_fn, pre_reason, names, is_default)

    @property
    def fingerprint(self) -> str:
        """SHA-1 of the model's architecture and weights (computed once per model)."""
        state = self._state
        if self._fingerprint is None or self._fingerprint[0] is not state:
            self._fingerprint = (state, model_fingerprint(state.model))
        return self._fingerprint[1]

    def store_key(self, kind: str, **params: Any) -> str:
        """The store key of a result ``kind`` of this model read through this head and output,
        with ``params`` (the image digest and every setting it depends on)."""
        return ResultStore.key(model=self.fingerprint, head=self.head, output=self.output_name, kind=kind, **params)

    @property
    def settings(self) -> InspectorSettings:
        """How this inspector reads its model (preprocessing, class names, head, output, input
        shape), as a frozen object: ``ModelInspector(model, **inspector.settings.options())``
        reads ``model`` the same way."""
        s = self._state
        named = PREPROCESSORS.get(s.preprocess_name) is s.preprocess
        return InspectorSettings(preprocess=s.preprocess_name if named else s.preprocess, class_names=s.class_names,
                                 head=s.graph.head, output=s.graph.output_name, input_shape=s.input_shape,
                                 fit=self.fit)

    @property
    def is_default_model(self) -> bool:
        """True when the inspector was made without a model: the embedded default model."""
        return self._state.is_default

    def twin(self, model: keras.Model | None = None, *, weights: Sequence[Any] | None = None) -> ModelInspector:
        """Another inspector that reads ``model`` exactly as this one reads its own (its
        :attr:`settings`), sharing its result store; the user's model is never touched.

        Args:
            model: the model to read; None: a copy of this inspector's model (same architecture,
                layer names and weights).
            weights: for the copy, weights to set instead of the model's, as ``model.get_weights()``
                lists them (a snapshot of a training run, randomised weights).

        Raises:
            ArgumentError: both ``model`` and ``weights``, or weights that do not fit the architecture.
        """
        if model is not None and weights is not None:
            raise ArgumentError("Pass a model or weights for a copy of this inspector's model, not both")
        if model is None:
            try:
                model = copy_model(self.model, self.input_shape, weights=weights)
            except UnsupportedModelError:
                raise
            except (ValueError, TypeError) as exc:
                if weights is None:
                    raise
                raise ArgumentError(f"The weights do not fit the model {self.model.name!r} "
                                    f"({len(self.model.weights)} arrays): {exc}") from exc
        return ModelInspector(model, store=self.store, **self.settings.options())

    # ------------------------------------------------------------------ training run (time axis)
    def attach_run(self, run: Any) -> None:
        """Show the snapshots of a training run: ``run`` is a :class:`~cnnviz_widgets.Run`, its
        folder, or a :class:`~cnnviz_widgets.TrainingRecorder` (followed live: each new snapshot
        is shown while :attr:`snapshot` is -1). None detaches the run (the model's own weights).

        Raises:
            RunError: the folder is not a run, or the run has another architecture.
        """
        from cnnviz_widgets.training import Run, TrainingRecorder
        from cnnviz_widgets.training.run_files import MANIFEST, check_architecture

        recorder = run if isinstance(run, TrainingRecorder) else None
        if recorder is not None:
            run = Run(recorder.folder) if (recorder.folder / MANIFEST).exists() else None
        elif run is not None and not isinstance(run, Run):
            run = Run(run)
        if run is not None:
            check_architecture(run.manifest, self._user_state.model.weights, run.folder)
        with self._lock:
            self._detach_run()
            self.run, self._recorder = run, recorder
            if recorder is not None:
                method = weakref.WeakMethod(self._on_new_snapshot)

                def follow(number: int) -> None:   # holds the inspector weakly: a closed view is freed
                    found = method()
                    if found is not None:
                        found(number)

                self._listener = follow
                recorder.listeners.append(follow)
        self._show_snapshot(-1)

    def _detach_run(self) -> None:
        recorder = getattr(self, "_recorder", None)
        if recorder is not None and getattr(self, "_listener", None) in recorder.listeners:
            recorder.listeners.remove(self._listener)
        self.run, self._recorder = None, None
        self._snapshot_states.clear()
        self._snapshot_versions.clear()
        if self.snapshot != -1:
            self.set_trait("snapshot", -1)

    def _on_new_snapshot(self, number: int) -> None:
        """A snapshot of the followed recorder landed on disk (called from its writer thread), or
        its fit ended (``number`` -1)."""
        from cnnviz_widgets.training import Run

        if number < 0:
            self.recording = False
            return
        self.recording = bool(self._recorder is not None and self._recorder.training)
        if self.run is None and self._recorder is not None:
            self.run = Run(self._recorder.folder)
        elif self.run is not None:
            self.run.refresh()
        if self.snapshot == -1:
            self._show_snapshot(-1)

    @traitlets.validate("snapshot")
    def _check_snapshot(self, proposal: dict) -> int:
        index = int(proposal["value"])
        if self.run is None:
            if index != -1:
                raise RunError(f"No training run is attached, so there is no snapshot {index}: pass run= to the "
                               "inspector (a folder recorded by cw.TrainingRecorder)")
            return index
        position = self.run.resolve(index)          # RunError when out of range; the last good one stays
        self._snapshot_state(self.run.snapshots[position].number)   # read it now: a bad file is refused here
        return index

    @traitlets.observe("snapshot")
    def _on_snapshot(self, change: dict) -> None:
        self._show_snapshot(change["new"])

    @property
    def has_run(self) -> bool:
        """True when a training run is attached (or a recorder is followed, before its first snapshot)."""
        return self.run is not None or self._recorder is not None

    @property
    def snapshot_shown(self) -> Any:
        """The :class:`~cnnviz_widgets.Snapshot` the views show (None without a run, or before its first)."""
        if self.run is None or not self.run.snapshots:
            return None
        return self.run.snapshots[self.run.resolve(self.snapshot)]

    def _show_snapshot(self, index: int) -> None:
        if self.run is None or not self.run.snapshots:
            state, version = self._user_state, self._user_version
        else:
            number = self.run.snapshots[self.run.resolve(index)].number
            state = self._snapshot_state(number)
            version = self._snapshot_versions.setdefault(number, next(self._versions))
        with self._lock:
            self._state = state
        if self.model_version != version:
            self.model_version = version
        if self.run is not None and self.run.snapshots:
            self._prefetch_neighbours(self.run.resolve(index))

    def _prefetch_neighbours(self, position: int) -> None:
        """Get the snapshots next to ``position`` ready in a background thread (their model copy,
        traced, and its forward pass compiled), so that Play and the slider show them at once: a
        first visit of a default-model snapshot costs about 0.1 s, a ready one a few ms."""
        run = self.run
        wanted = [run.snapshots[p].number for p in (position + 1, position - 1) if 0 <= p < len(run.snapshots)]
        with self._lock:
            self._prefetch_wanted = [n for n in wanted if n not in self._snapshot_states]
            if not self._prefetch_wanted or self._prefetcher is not None:
                return
            self._prefetcher = threading.Thread(target=self._prefetch, name="cnnviz-snapshots", daemon=True)
            self._prefetcher.start()

    def _prefetch(self) -> None:
        while True:
            with self._lock:              # the decision to stop and the flag change under one lock
                if not self._prefetch_wanted or self.run is None:
                    self._prefetcher = None
                    return
                number = self._prefetch_wanted.pop(0)
                batch = self._batch
            try:
                state = self._snapshot_state(number)
                if batch is not None:
                    state.forward(batch)        # compiles it; the result is not kept
            except Exception:   # a bad file is reported when that snapshot is picked
                log.debug("cnnviz: prefetching snapshot file %d failed", number, exc_info=True)

    def _snapshot_state(self, number: int) -> _ModelState:
        """The model state of the snapshot with file ``number``: a copy of the model with its
        weights, traced like the user's (the most recently shown are kept ready)."""
        with self._lock:
            found = self._snapshot_states.get(number)
            if found is not None:
                self._snapshot_states.move_to_end(number)
                return found
        run = self.run
        assert run is not None
        position = next(s.index for s in run.snapshots if s.number == number)
        try:
            weights = run.weights(position)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise RunError(f"Snapshot {position} of the run {str(run.folder)!r} cannot be read "
                           f"({type(exc).__name__}: {exc})") from None
        base = self._user_state
        copy = copy_model(base.model, base.input_shape, weights=weights)
        args = {**self._model_args, "input_shape": base.input_shape, "class_names": base.class_names}
        state = dataclasses.replace(self._build_state(copy, **args), is_default=base.is_default)
        size = max(1, sum(int(np.prod(w.shape)) * 4 for w in weights))
        keep = max(1, min(self.SNAPSHOT_STATES, 2**30 // size))
        with self._lock:
            found = self._snapshot_states.get(number)     # made meanwhile by the prefetching thread
            if found is not None:
                return found
            self._snapshot_states[number] = state
            while len(self._snapshot_states) > keep:
                self._snapshot_states.popitem(last=False)
        return state

    @property
    def model(self) -> keras.Model:
        """The Keras model the views show (never modified): the model given, or with a run
        attached, a copy holding the weights of the snapshot shown."""
        return self._state.model

    @property
    def graph(self) -> TracedGraph:
        """The traced graph: every layer output as a tensor of one graph (for methods)."""
        return self._state.graph

    @property
    def feature_model(self) -> keras.Model:
        """Multi-output model: batch -> dict of every layer output, ``__output__`` and maybe ``__logits__``."""
        return self._state.graph.feature_model

    @property
    def layers(self) -> list[LayerRecord]:
        """Every reachable layer, in call order, with qualified names, kinds and output shapes."""
        return list(self._state.graph.records)

    @property
    def layer_names(self) -> list[str]:
        """Qualified names of every reachable layer."""
        return [r.name for r in self._state.graph.records]

    @property
    def conv_layer_names(self) -> list[str]:
        """Qualified names of the layers with spatial (4-D) outputs."""
        return [r.name for r in self._state.graph.records if r.is_spatial]

    def layer(self, name: str) -> LayerRecord:
        """The record of one layer (qualified name, or an unambiguous unqualified one)."""
        return self._state.graph.record(name)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """(H, W, C) the model sees."""
        return self._state.input_shape

    @property
    def input_size(self) -> tuple[int, int]:
        """(H, W) the images are resized to."""
        return self._state.input_shape[:2]

    @property
    def preprocessing(self) -> str:
        """Name of the preprocessing in use."""
        return self._state.preprocess_name

    @property
    def preprocessing_reason(self) -> str:
        """Why that preprocessing was chosen."""
        return self._state.preprocess_reason

    @property
    def class_names(self) -> tuple[str, ...]:
        return self._state.class_names

    @property
    def n_classes(self) -> int:
        return len(self._state.class_names)

    @property
    def head(self) -> str:
        """How the output is read as classes: ``softmax``, ``binary``, ``multilabel`` or ``score``."""
        return self._state.graph.head

    @property
    def head_reason(self) -> str:
        """Why that head was chosen (the auto rule, or "given by the caller")."""
        return self._state.graph.head_reason

    @property
    def output_name(self) -> str:
        """Name of the explained output (one of :attr:`output_names`)."""
        return self._state.graph.output_name

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of every output of the model."""
        return self._state.graph.output_names

    @property
    def output_description(self) -> str:
        """One line on what is explained, e.g. ``"output 'age' (1 of 2), head 'score'"``."""
        g = self._state.graph
        where = (f"output {g.output_name!r} ({g.output_names.index(g.output_name) + 1} of {len(g.output_names)})"
                 if len(g.output_names) > 1 else "single output")
        return f"{where}, head {g.head!r} ({g.head_reason})"

    @property
    def output_activation(self) -> str:
        """``softmax``, ``sigmoid`` or ``none``: the activation the model applies last."""
        return self._state.graph.output_activation

    def preprocess(self, pixels: np.ndarray) -> np.ndarray:
        """Apply this inspector's preprocessing to float pixels (N, H, W, C) in [0, 255]."""
        return np.asarray(self._state.preprocess(np.asarray(pixels, np.float32)), np.float32)

    # ------------------------------------------------------------------ image
    def set_image(self, image: ImageLike, *, label: str | None = None) -> None:
        """Show ``image``: a path, encoded bytes, a ``PIL.Image`` or an array (H, W[, C]).

        It is converted to RGB and fitted to the model's input size as :attr:`fit` says. ``label``
        says what the image is, in words (:attr:`image_label`; a path names itself). On error the
        previous image stays in place.
        """
        source = load_rgb(image)
        prepared = self._prepare(self._state, source, self.fit)
        if label is None:
            label = os.path.basename(os.fspath(image)) if isinstance(image, (str, os.PathLike)) else ""
        with self._lock:
            self._source = source
            self._image, self._batch, self._image_key = prepared
        self.image_label = str(label)
        self.image_version += 1

    @traitlets.validate("fit")
    def _check_fit(self, proposal: dict) -> str:
        if proposal["value"] not in FITS:
            raise ArgumentError(f"fit must be one of {', '.join(FITS)}; got {proposal['value']!r}")
        return proposal["value"]

    @traitlets.observe("fit")
    def _refit(self, change: dict) -> None:
        source = getattr(self, "_source", None)
        if source is None:
            return
        prepared = self._prepare(self._state, source, change["new"])
        with self._lock:
            self._image, self._batch, self._image_key = prepared
        self.image_version += 1

    @staticmethod
    def _prepare(state: _ModelState, source: np.ndarray, fit: str = "stretch") -> tuple[np.ndarray, np.ndarray, str]:
        """(displayed image, preprocessed batch, cache key) of ``source`` for the model ``state``."""
        rgb = fit_rgb(source, state.input_shape[:2], fit)
        pixels = to_model_pixels(rgb, state.input_shape[2])[None]
        try:
            batch = np.asarray(state.preprocess(pixels.copy()), np.float32)
        except Exception as exc:
            raise PreprocessingError(f"The preprocessing {state.preprocess_name!r} failed: {exc}") from exc
        if batch.shape != pixels.shape:
            raise PreprocessingError(
                f"The preprocessing {state.preprocess_name!r} returned shape {batch.shape}; expected {pixels.shape}")
        return rgb, batch, _digest(batch)

    @property
    def image_key(self) -> tuple[int, str]:
        """(model_version, digest of the preprocessed image): names the current model and image
        in cache keys; results computed for it stay valid until either changes."""
        with self._lock:
            return self.model_version, self._require_image()[2]

    @property
    def has_image(self) -> bool:
        return self._image is not None

    @property
    def image(self) -> np.ndarray:
        """The displayed image, uint8 (H, W, 3)."""
        return self._require_image()[0]

    @property
    def batch(self) -> np.ndarray:
        """The preprocessed batch the model sees, float32 (1, H, W, C)."""
        return self._require_image()[1]

    def _require_image(self) -> tuple[np.ndarray, np.ndarray, str]:
        """(image, batch, key) of the current image; NoImageError when there is none."""
        image, batch, key = self._image, self._batch, self._image_key
        if image is None or batch is None or key is None:
            raise NoImageError("No image yet: call inspector.set_image(path_or_array) first.")
        return image, batch, key

    # ------------------------------------------------------------------ forward pass
    def _results(self) -> dict[str, np.ndarray]:
        self._require_image()
        with self._lock:
            key = (self.model_version, self._image_key)
            results = self._cache.get(key)
            if results is None:
                outputs = self._state.forward(self._batch)
                results = {name: _read_only(backend.to_numpy(t)[0]) for name, t in outputs.items()}
                self.forward_passes += 1
                self._cache.put(key, results)
                problem = _non_finite(results)
                if problem:
                    warnings.warn(f"cnnviz: {problem}", RuntimeWarning, stacklevel=3)
            return results

    @property
    def output_problem(self) -> str | None:
        """A sentence when the model's output for the current image is NaN or infinite, else None."""
        return _non_finite(self._results())

    def check_output(self) -> None:
        """Raise :class:`NonFiniteOutputError` when the output for the current image is NaN or infinite."""
        problem = self.output_problem
        if problem:
            raise NonFiniteOutputError(problem)

    def activations(self, layer_name: str) -> np.ndarray:
        """Output of one layer for the current image: float32 (h, w, c) for spatial layers.

        The array is the cached one, marked read-only; copy it before changing it in place.
        """
        name = self._state.graph.resolve(layer_name)
        return self._results()[name]

    @property
    def outputs(self) -> np.ndarray:
        """The explained output of the model for the current image, float32 (units,), as the model gives it."""
        return self._results()[OUTPUT_KEY]

    @property
    def logits(self) -> np.ndarray:
        """Pre-softmax/sigmoid values of the output (units,). For a model without a final softmax
        or sigmoid the outputs themselves are taken as the logits."""
        results = self._results()
        return results.get(LOGITS_KEY, results[OUTPUT_KEY])

    @property
    def scores(self) -> np.ndarray:
        """Per-class scores that the gradient methods explain, (n_classes,): the logits, and for a
        binary head (-z, z)."""
        return self._results()[SCORE_KEY]

    @property
    def probabilities(self) -> np.ndarray:
        """Class probabilities (n_classes,) as the head reads them: summing to 1 for ``softmax``
        and ``binary``, independent for ``multilabel``, the raw outputs for ``score``."""
        return self._results()[PROBABILITY_KEY]

    @property
    def near_uniform(self) -> bool:
        """True when the current image's probabilities are close to uniform (an untrained or broken
        model): its maps then show the network's structure, not evidence for a class
        (:func:`~cnnviz_widgets.inspector.heads.near_uniform`)."""
        return near_uniform(self.probabilities, self.head)

    def top_k(self, k: int = 5) -> list[Prediction]:
        """The ``k`` most probable classes as (index, name, probability), most probable first."""
        if k < 1:
            raise ArgumentError(f"k must be >= 1, got {k}")
        probs = self.probabilities
        order = np.argsort(-probs, kind="stable")[:k]
        return [Prediction(int(i), self.class_names[i], float(probs[i])) for i in order]

    @property
    def cache_info(self) -> dict[str, int]:
        """Cache statistics: entries, bytes held, budget, hits, misses and forward passes."""
        c = self._cache
        return {"entries": len(c), "bytes": c.nbytes, "max_bytes": c.max_bytes, "hits": c.hits,
                "misses": c.misses, "forward_passes": self.forward_passes}

    def __repr__(self) -> str:
        s = self._state
        image = "no image" if self._image is None else f"image {self._image.shape[1]}x{self._image.shape[0]}"
        return (f"<ModelInspector {s.model.name!r}: {len(s.graph.records)} layers "
                f"({len(self.conv_layer_names)} spatial), input {s.input_shape}, {self.n_classes} classes, "
                f"{image}; {self.output_description}; "
                f"preprocessing {s.preprocess_name!r} ({s.preprocess_reason})"
                f"{'' if self.store is None else '; store ' + repr(str(self.store.folder))}>")


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array, np.float32)
    array.flags.writeable = False
    return array


def _non_finite(results: dict[str, np.ndarray]) -> str | None:
    bad = [name for name in (OUTPUT_KEY, PROBABILITY_KEY) if not np.isfinite(results[name]).all()]
    if not bad:
        return None
    return ("the model's output for this image is NaN or infinite (NaN weights, or an overflow in a layer); "
            "its heatmaps and probabilities would be meaningless")


def _digest(batch: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(batch).tobytes()).hexdigest()
