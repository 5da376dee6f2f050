"""Compute filter patterns once into a result store, for a whole class to open at once.

Usage::

    python -m cnnviz_widgets.precompute MODEL --store DIR (--patterns LAYER... | --all-conv)
        [--filters N] [--recipe robust|classic] [--steps N] [--size PX] [--weights imagenet|none]
        [--preprocess NAME] [--batch-size N]

``MODEL`` is a ``.keras``/``.h5`` file, ``default`` (the embedded model) or the name of a
``keras.applications`` constructor (``VGG16``, ``ResNet50V2``...; ``--weights`` says which
weights, as the students' notebook must use the same). Each pattern is written to the store as
soon as its batch is done, so an interrupted run resumes where it stopped: run the same command
again. The students open ``ModelInspector(model, store=DIR)``, and their FilterGallery shows every
stored page at once (the settings must match: recipe, steps and size are part of each key).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from cnnviz_widgets.errors import CnnvizError

if TYPE_CHECKING:
    from cnnviz_widgets.inspector import ModelInspector


def load_named_model(name: str, weights: str = "imagenet") -> Any:
    """What :class:`ModelInspector` takes for ``name``: a file path as it is, None for
    ``"default"`` (the embedded model), or a ``keras.applications`` model built with ``weights``."""
    import keras

    from cnnviz_widgets.errors import ArgumentError

    if name == "default":
        return None
    if os.path.exists(name):
        return name                          # the inspector loads files itself (safe mode, .h5)
    constructor = getattr(keras.applications, name, None)
    if not callable(constructor):
        raise ArgumentError(f"MODEL must be a model file, 'default' or a keras.applications name such as VGG16; "
                            f"got {name!r} (no such file or constructor)")
    return constructor(weights=None if weights == "none" else weights)


def precompute(inspector: ModelInspector, layers: Sequence[str], *, filters: int | None = None,
               recipe: str = "robust", steps: int | None = None, size: int | None = None,
               batch_size: int | None = None,
               progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Compute (or find) the patterns of the first ``filters`` filters of each layer in the
    inspector's store; returns {layer: patterns in the store}. ``progress(done, total)`` counts
    filter-steps over all layers."""
    from cnnviz_widgets.errors import ArgumentError
    from cnnviz_widgets.methods import filter_patterns

    if inspector.store is None:
        raise ArgumentError("precompute needs an inspector with a store: ModelInspector(model, store=DIR)")
    if filters is not None and (isinstance(filters, bool) or not isinstance(filters, int) or filters < 1):
        raise ArgumentError(f"filters must be a positive int or None (every filter); got {filters!r}")
    if not layers:
        raise ArgumentError("no layers to precompute: name them (--patterns LAYER...) or pass --all-conv")
    plan = []
    for layer in layers:
        channels = int(inspector.layer(layer).output_shape[-1])
        plan.append((layer, min(channels, filters) if filters else channels))
    total = sum(count for _, count in plan)
    done_before = 0
    counts = {}
    for layer, count in plan:
        def step(done: int, all_steps: int, before: int = done_before, count: int = count) -> None:
            if progress is not None:
                progress(before + round(count * done / max(all_steps, 1)), total)

        filter_patterns(inspector, layer, range(count), recipe=recipe, steps=steps, size=size,
                        batch_size=batch_size, progress=step)
        done_before += count
        counts[layer] = count
        if progress is not None:
            progress(done_before, total)
    return counts


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m cnnviz_widgets.precompute``."""
    parser = argparse.ArgumentParser(prog="python -m cnnviz_widgets.precompute", description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a .keras/.h5 file, 'default', or a keras.applications name (VGG16...)")
    parser.add_argument("--store", required=True, help="the result store folder (created if missing)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--patterns", nargs="+", metavar="LAYER", help="layers whose filter patterns to compute")
    which.add_argument("--all-conv", action="store_true", help="every 2-D convolution layer")
    parser.add_argument("--filters", type=int, default=None, help="first N filters of each layer (default: all)")
    parser.add_argument("--recipe", choices=["robust", "classic"], default="robust")
    parser.add_argument("--steps", type=int, default=None, help="optimisation steps (default: the recipe's)")
    parser.add_argument("--size", type=int, default=None, help="pattern side in pixels (default: the model's input)")
    parser.add_argument("--weights", default="imagenet", help="weights of a keras.applications model, or 'none'")
    parser.add_argument("--preprocess", default="auto", help="the preprocessing name the students' inspector uses")
    parser.add_argument("--batch-size", type=int, default=None, help="filters optimised together")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns its exit status (0 done, 2 a refused argument, 130 interrupted)."""
    args = build_parser().parse_args(argv)

    from tqdm.auto import tqdm

    from cnnviz_widgets.inspector import ModelInspector

    try:
        inspector = ModelInspector(load_named_model(args.model, args.weights), preprocess=args.preprocess,
                                   store=args.store)
        layers = [r.name for r in inspector.layers if r.has_conv2d_kernel] if args.all_conv else args.patterns
        with tqdm(total=1, unit="pattern", desc="patterns") as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            counts = precompute(inspector, layers, filters=args.filters, recipe=args.recipe, steps=args.steps,
                                size=args.size, batch_size=args.batch_size, progress=progress)
    except CnnvizError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the patterns finished so far are in the store; run the same command to go on",
              file=sys.stderr)
        return 130
    store = inspector.store
    assert store is not None
    print(f"{sum(counts.values())} patterns of {len(counts)} layers in {store.folder} "
          f"({len(store)} entries, {store.size_bytes() / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
