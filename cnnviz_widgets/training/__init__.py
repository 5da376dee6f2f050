"""Training runs: recorded by a Keras callback (:class:`TrainingRecorder`), read back
(:func:`load_run`), and shown on the inspector's time axis (``ModelInspector(run=...)``)."""

from cnnviz_widgets.training.recorder import TrainingRecorder
from cnnviz_widgets.training.run_files import Run, Snapshot, load_run

__all__ = ["Run", "Snapshot", "TrainingRecorder", "load_run"]
