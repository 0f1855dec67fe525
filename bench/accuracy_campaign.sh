#!/usr/bin/env bash
# The accuracy campaign's headline runs: every recipe's defaults (honest selection: nothing chosen on test data)
# over three seeds, two runs side by side with one thread each, then their rows in
# bench/results/accuracy/summary.json and README's table. Each line of runs/campaign/commands.log records a
# run's command, start and end. A run folder that already holds a finished summary.json is skipped, so the
# script can be restarted after an interruption (a half-finished run must be removed or given --resume by hand).
#
#   bash bench/accuracy_campaign.sh [sbu|msr|all]      # default: all
#
# Time on the 2-core development machine (one thread per run): about 75 minutes per SBU fold of GCA-LSTM with
# inner cross-validation (4 inner runs + the final run, 60 epochs each), so SBU's 5 folds x 3 seeds of one model
# take about 9 hours with two runs side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
out=runs/campaign
mkdir -p "$out"
log="$out/commands.log"

run() {  # run NAME COMMAND...: one seed's run into $out/NAME unless it finished before
    local name=$1
    shift
    if [[ -f "$out/$name/summary.json" ]]; then
        echo "skip $name (finished)"
        return
    fi
    echo "$(date -Is) start $name: $*" >> "$log"
    OMP_NUM_THREADS=1 "$@" --out "$out/$name" --no-progress > "$out/$name.log" 2>&1
    echo "$(date -Is) end $name rc=$?" >> "$log"
}

pairs() {  # pairs NAME DATASET PROTOCOL MODEL TRAINING PAPER COMMAND...: seeds 0-2, two at a time, then the row
    local name=$1 dataset=$2 protocol=$3 model=$4 training=$5 paper=$6
    shift 6
    run "${name}_s0" "$@" --seed 0 &
    run "${name}_s1" "$@" --seed 1 &
    wait
    run "${name}_s2" "$@" --seed 2
    python bench/accuracy_summary.py add --dataset "$dataset" --protocol "$protocol" --model "$model" \
        --training "$training" --paper "$paper" --command "$*" "$out/${name}_s0" "$out/${name}_s1" "$out/${name}_s2"
}

if [[ $which == sbu || $which == all ]]; then
    pairs sbu_gca sbu 5-fold gca direct 0.941 python recipes/gca_lstm_sbu.py --model gca
    pairs sbu_stlstm sbu 5-fold st-lstm direct 0.933 python recipes/gca_lstm_sbu.py --model st-lstm
    pairs sbu_global1 sbu 5-fold global1 direct nan python recipes/gca_lstm_sbu.py --model global1
    pairs sbu_global2 sbu 5-fold global2 direct nan python recipes/gca_lstm_sbu.py --model global2
    pairs sbu_gca_stepwise sbu 5-fold gca stepwise 0.949 python recipes/gca_lstm_sbu.py --model gca \
        --training stepwise --selection val-split
fi
if [[ $which == msr || $which == all ]]; then
    pairs msr_arrn msr_action3d "AS1-3 cross-subject" arrn two-stream 0.950 python recipes/arrn_msr.py
fi
