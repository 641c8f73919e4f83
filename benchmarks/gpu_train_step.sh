#!/usr/bin/env bash
# The training-step benchmark at the paper's four presets' shapes, fp32 and bf16, univa and the
# original re-implementation (benchmarks/preset_step.py), each model in its own process.
#
#   OUT=/some/folder bash benchmarks/gpu_train_step.sh        # on a CUDA machine, repo root
#   OUT=/tmp/x DEVICE=cpu TINY=1 bash benchmarks/gpu_train_step.sh   # tiny shapes: does it run?
#
# Writes $OUT/train_step_<preset>_<model>.json and $OUT/summary.md (a table). About 6 minutes
# on an H100 with the defaults (WARMUP=3, REPEATS=20); each process is cut at $LIMIT seconds
# (what it measured so far is kept) and none starts after $BUDGET seconds.
set -u
: "${OUT:?set OUT to the folder the JSON results go to}"
DEVICE="${DEVICE:-cuda}"
WARMUP="${WARMUP:-3}"
REPEATS="${REPEATS:-20}"
LIMIT="${LIMIT:-120}"    # seconds per process
BUDGET="${BUDGET:-420}"  # no new process starts after this many seconds
TINY_FLAG=()
[ -n "${TINY:-}" ] && TINY_FLAG=(--tiny)
PY="${PYTHON:-$(command -v python || command -v python3)}"
mkdir -p "$OUT"

# this tree's univa, also where another copy is installed (the benchmark code needs this one)
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
if ! "$PY" -c "import univa" 2>/dev/null; then
  echo "univa is not importable: pip install -e ."
  "$PY" -m pip install --retries 1 --timeout 15 -e . >"$OUT/pip_install.log" 2>&1 \
    || echo "pip install -e . failed (see $OUT/pip_install.log)"
fi
"$PY" -c "import univa; print('univa from', univa.__file__)"
"$PY" -c "import torch; print(torch.__version__, torch.cuda.is_available())"
"$PY" -c "import torch; print(torch.cuda.get_device_name() if torch.cuda.is_available() else 'no CUDA device')"

for preset in mosei_glove m3ed_glove mosei_roberta m3ed_roberta; do
  for model in univa original; do
    if [ "$SECONDS" -ge "$BUDGET" ]; then
      echo "$preset $model: skipped, the ${BUDGET} s budget is spent"
      continue
    fi
    start=$(date +%s)
    timeout "$LIMIT" "$PY" benchmarks/train_step.py --preset "$preset" --model "$model" \
      --device "$DEVICE" --dtypes fp32,bf16 --warmup "$WARMUP" --repeats "$REPEATS" \
      "${TINY_FLAG[@]}" --out "$OUT/train_step_${preset}_${model}.json" \
      >"$OUT/log_${preset}_${model}.txt" 2>&1
    status=$?
    echo "$preset $model: exit $status, $(( $(date +%s) - start )) s"
    [ "$status" -ne 0 ] && tail -5 "$OUT/log_${preset}_${model}.txt"
  done
done
"$PY" benchmarks/preset_step.py "$OUT" | tee "$OUT/summary.md"
