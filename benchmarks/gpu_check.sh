#!/usr/bin/env bash
# Every GPU measurement of the fused kernels in one unattended run (a few minutes on one H100):
#   1. the fused-kernel tests, compiled for the GPU (tests/engine/test_fused_*.py: exact replay of
#      the reference chains, enumeration at L = 4, Kaufman at L = 8 and 16, the exact XY 4 x 4 torus);
#   2. cuda_check.py: every model and algorithm on the GPU against exact values, Ising Metropolis
#      and heat bath both fused and unfused (every result within 4 sigma);
#   3. bench_mc.py --device cuda: flips/ns at L = 1024, 4096 and B = 1, 16, fused against unfused
#      in the same run (the fused tile chosen as the fastest of a few);
#   4. bench_nrg.py: neural-RG training step time on the GPU at L = 16 and 32.
# Every step runs even when an earlier one fails; the exit status is 1 if any failed.
#
#   benchmarks/gpu_check.sh [OUT_DIR]      (default benchmarks/results; PYTHON selects the interpreter)
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${1:-benchmarks/results}
mkdir -p "$OUT"
status=0
step() { echo "+ $*"; "$@" || { echo "FAILED ($?): $*"; status=1; }; }

step "$PY" -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__,
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'NO CUDA DEVICE')"
step "$PY" -m pytest -q -p no:xvfb -p no:cacheprovider -m triton \
     tests/engine/test_fused_ising.py tests/engine/test_fused_xy.py --junitxml "$OUT/gpu_tests.xml"
step "$PY" benchmarks/cuda_check.py --out "$OUT/cuda_check.json"
step "$PY" -m benchmarks.bench_mc --device cuda --sizes 1024 4096 --batches 1 16 --repeats 3 --seconds 0.5 \
     --out "$OUT/bench_mc_cuda.json"
for L in 16 32; do  # "_one" prints its JSON
  echo "+ bench_nrg.py _one --L $L"
  "$PY" benchmarks/bench_nrg.py _one --L "$L" --batch 512 --steps 20 --device cuda > "$OUT/bench_nrg_cuda_$L.json" \
    || { echo "FAILED: bench_nrg L=$L"; status=1; }
  cat "$OUT/bench_nrg_cuda_$L.json"
done
exit $status
