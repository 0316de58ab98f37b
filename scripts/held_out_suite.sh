#!/usr/bin/env bash
# The benchmark suite and the ablation of the flagship's stages on the held-out seeds (docs/BENCHMARKS.md),
# one `genmbo benchmark` process per (task, seed), so that the parts can run in two lanes at once and
# across sessions; a part whose results.csv exists is skipped, so rerunning a lane resumes it.
#
#   scripts/held_out_suite.sh OUT sequences     # TFBind8, Ackley-32, Levy-32, Ehrlich s20 and s32
#   scripts/held_out_suite.sh OUT molecules     # the three MOSES tasks
#   scripts/held_out_suite.sh OUT merge         # OUT/suite and OUT/ablation: results.csv and results.md
#
# Held-out seeds: 5-7 for TFBind8, 3-4 for the other tasks (the tuning seeds are 10 and above).
# Each part writes its wall time to OUT/parts/<task>-seed<S>/wall_seconds.
set -euo pipefail
OUT=${1:?usage: held_out_suite.sh OUT sequences|molecules|merge}
LANE=${2:?usage: held_out_suite.sh OUT sequences|molecules|merge}
MERGE="$(dirname "$0")/merge_benchmark_results.py"
STANDARD=(best_offline gradient_ascent coms ddom pgs genetic guided_diffusion)
ABLATION=(
  'gd_no_portfolio=guided_diffusion:{"stages":{"portfolio":0}}'
  'gd_no_polish=guided_diffusion:{"stages":{"polish_rounds":0}}'
  # equal steps everywhere: on molecules and vectors that is the flagship itself, which trains its
  # step-size policy on sequences only
  'gd_no_policy=guided_diffusion:{"policy":null}'
  'gd_unguided=guided_diffusion:{"scale":0}'
  'ga_portfolio=gradient_ascent:{"stages":{"portfolio":0.5}}'
  'ga_polish=gradient_ascent:{"stages":{"polish_rounds":4}}'
  'ga_both=gradient_ascent:{"stages":{"portfolio":0.5,"polish_rounds":4}}'
)
case $LANE in
  sequences)
    PARTS=(tfbind8:5 tfbind8:6 tfbind8:7 ackley-32:3 ackley-32:4 levy-32:3 levy-32:4
           ehrlich-s20-d32-m2-l4-q4:3 ehrlich-s20-d32-m2-l4-q4:4 ehrlich-s32-d64-m4-l4-q4:3
           ehrlich-s32-d64-m4-l4-q4:4) ;;
  molecules)
    PARTS=(moses-osimertinib-mpo:3 moses-fexofenadine-mpo:3 moses-penalized-logp:3
           moses-osimertinib-mpo:4 moses-fexofenadine-mpo:4 moses-penalized-logp:4) ;;
  merge)
    results=("$OUT"/parts/*/results.csv)
    python "$MERGE" --out "$OUT/suite" "${results[@]}" --methods "${STANDARD[@]}"
    python "$MERGE" --out "$OUT/ablation" "${results[@]}" --methods \
      guided_diffusion gd_no_portfolio gd_no_polish gd_no_policy gd_unguided \
      gradient_ascent ga_portfolio ga_polish ga_both
    exit 0 ;;
  *) echo "held_out_suite.sh: unknown lane '$LANE' (sequences, molecules or merge)" >&2; exit 2 ;;
esac
for part in "${PARTS[@]}"; do
  task=${part%:*} seed=${part#*:}
  folder="$OUT/parts/$task-seed$seed"
  [[ -f $folder/results.csv ]] && continue
  started=$(date +%s)
  genmbo benchmark --tasks "$task" --seeds "$seed" --methods "${STANDARD[@]}" "${ABLATION[@]}" --out "$folder"
  echo $(( $(date +%s) - started )) > "$folder/wall_seconds"
done
