#!/usr/bin/env bash
# Train (or continue training) the shipped neural-RG flows, unattended and resumable.
#
#   nohup scripts/train_flows.sh DIR [NAME ...] >DIR/train.out 2>&1 &
#
# Each flow's checkpoint DIR/NAME.pt is rewritten every 25 steps and its learning curve appended to
# DIR/NAME.csv. Run the script again after an interruption: a flow whose checkpoint exists resumes
# its unfinished schedule exactly where it stopped (the same schedule, optimiser state and random
# stream); a finished one is skipped. Copy a checkpoint into engine/resources/ to ship it.
# Flows run one after the other, single-threaded, at low priority (nice 10): training uses the
# machine's idle time and stays out of the way of interactive work.
set -euo pipefail
dir=${1:?usage: train_flows.sh DIR [NAME ...]}
shift
mkdir -p "$dir"
export OMP_NUM_THREADS=1

# name: the options of its first run (the full default flow: 10 couplings x (10, 10, 10) per block,
# U(1) symmetrisation for phi^4)
declare -A FLOWS=(
  [phi4_L8_crit]="--target phi4 --preset critical --L 8 --steps 6000 --batch 256 --lr 2e-3 --seed 21"
  [phi4_L16_crit]="--target phi4 --preset critical --L 16 --steps 6000 --batch 256 --lr 2e-3 --seed 22"
  [phi4_L16_disordered]="--target phi4 --preset disordered --L 16 --steps 4000 --batch 256 --lr 2e-3 --seed 23"
  [phi4_L8_disordered]="--target phi4 --preset disordered --L 8 --steps 2000 --batch 256 --lr 2e-3 --seed 24"
)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(phi4_L8_crit phi4_L16_crit phi4_L16_disordered phi4_L8_disordered)

for name in "${names[@]}"; do
  opts=${FLOWS[$name]:?unknown flow $name}
  ckpt="$dir/$name.pt"
  common=(--device cpu --eval 4096 --save-every 25 --out "$ckpt" --log "$dir/$name.csv" --json --no-progress)
  if [ -f "$ckpt" ]; then
    python -c "import sys; from engine.nrg import load_checkpoint as l; c = l(sys.argv[1]); p = (c.training or {}).get('plan'); sys.exit(0 if p and len(c.history['step']) < p['start'] + p['steps'] else 1)" "$ckpt" \
      || { echo "$name: schedule finished, skipped"; continue; }
    echo "$name: resuming $(date -u +%FT%TZ)"
    # shellcheck disable=SC2086
    nice -n 10 python -m engine train --resume "$ckpt" "${common[@]}" >>"$dir/$name.json"
  else
    echo "$name: starting $(date -u +%FT%TZ)"
    # shellcheck disable=SC2086
    nice -n 10 python -m engine train $opts "${common[@]}" >>"$dir/$name.json"
  fi
  echo "$name: done $(date -u +%FT%TZ)"
done
