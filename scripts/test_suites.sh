#!/usr/bin/env bash
# make test's three runs, on a 2-core machine in about two thirds of the time they take one after another:
#   1. the TensorFlow suite less the browser tests (.venv),
#   2. beside it, the JAX run (make test-jax: the quick suite and the tour in .venv-jax), whose output
#      is kept in a file and printed after the first run's,
#   3. then the browser tests alone (they drive JupyterLab, Voila and Chromium).
# The TensorFlow suite keeps about 0.6 of the machine's 2 cores idle (1.3-1.4 busy on average, measured
# 2026-12-06 with /proc/stat); the JAX run (10 min alone) uses that idle time. Every run is reported, and
# the exit status fails when any of them failed.
# With PYTEST_ARGS (a selection: make test PYTEST_ARGS="-m 'not slow'"), only the TensorFlow suite runs,
# with those arguments; make test-jax PYTEST_ARGS=... picks from the JAX run.
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
PYTHON=${CNNVIZ_TEST_PYTHON:-.venv/bin/python}     # the TensorFlow environment's (a test replaces it)
PYTEST_ARGS=${PYTEST_ARGS:-}
if [ -n "$PYTEST_ARGS" ]; then
  # shellcheck disable=SC2086  # PYTEST_ARGS is a list of arguments
  eval exec "$PYTHON" -m pytest $PYTEST_ARGS
fi
jax_log=$(mktemp -t cnnviz-jax-run.XXXXXX)
started=$(date +%s)

setsid "$MAKE" --no-print-directory test-jax >"$jax_log" 2>&1 &     # its own process group: stopped with this one
jax_pid=$!
trap 'kill -- -$jax_pid 2>/dev/null; rm -f "$jax_log"; exit 130' INT TERM

"$PYTHON" -m pytest -m "not browser"
tf=$?
tf_done=$(date +%s)
wait $jax_pid
jax=$?
jax_done=$(date +%s)
echo
echo "=== The JAX run (KERAS_BACKEND=jax in .venv-jax), which ran beside the TensorFlow suite above ==="
cat "$jax_log"
rm -f "$jax_log"
trap - INT TERM

echo
echo "=== The browser tests (TensorFlow), alone ==="
"$PYTHON" -m pytest -m browser
browser=$?
ended=$(date +%s)

echo
echo "make test: TensorFlow suite $((tf_done - started)) s (exit $tf), JAX run beside it $((jax_done - started)) s" \
     "(exit $jax), browser tests $((ended - jax_done)) s (exit $browser); $((ended - started)) s in all"
[ $tf -eq 0 ] && [ $jax -eq 0 ] && [ $browser -eq 0 ]
