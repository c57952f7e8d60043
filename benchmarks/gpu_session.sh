#!/usr/bin/env bash
# One prepared run on a machine with an NVIDIA GPU and a CUDA build of torch, from a checkout of
# nktenv (nothing installed): the facts, doctor, the GPU tests and the full torch benchmark.
# Everything lands in $OUT (default ./gpu-session) for docs/benchmarks.md. Each step has a timeout
# so that a wedged GPU cannot eat the whole session.
#
#   OUT=/tmp/gpu bash benchmarks/gpu_session.sh [PYTHON]
set -u
PY=$(command -v "${1:-python3}") || { echo "no ${1:-python3}"; exit 2; }
OUT=${OUT:-gpu-session}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export NKTENV_DATA_DIR="$OUT/data" NKTENV_MACHINE_NAME="${NKTENV_MACHINE_NAME:-$(hostname)}"

step() {  # name, seconds, command...
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1
  echo "$name: exit $? in $((SECONDS - t0)) s" | tee -a "$OUT/steps.txt"
}

step nvidia-smi 30 nvidia-smi
step detect 120 "$PY" -m nktenv detect --json --python "$PY"
step doctor 180 "$PY" -m nktenv doctor --python "$PY"
step pytest-gpu 900 "$PY" -m pytest -m gpu tests/gpu -q -p no:cacheprovider -rs
step bench-quick 300 "$PY" -m nktenv bench --quick --framework torch --python "$PY" --no-store --out "$OUT/bench-quick.json"
step bench-full 900 "$PY" -m nktenv bench --framework torch --python "$PY" --no-store --out "$OUT/bench-full.json" --plot "$OUT/sweep.png"
