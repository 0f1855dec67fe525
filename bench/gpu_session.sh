#!/usr/bin/env bash
# One short GPU lease, used fully: the CUDA paths (epoch benchmark in float32 and bfloat16 autocast, a CUDA + AMP
# recipe run) and then inner-cross-validation screens (training data only) as one process per inner fold on the
# machine's CPU cores (SCREEN_DEVICE=cpu: 14 small-model processes sharing one H200 ran an MSR epoch in 4.2 s each,
# no faster than one core). The screen list below is the last lease's: edit it for the next. Everything lands in
# $OUT (default runs/gpu_session): logs, bench JSON, screen parts (merge them here with
# `python bench/screen_average.py --merge K --save NAME --results DIR`).
#
#     OUT=/tmp/gpu DEADLINE=480 JOBS=14 bash bench/gpu_session.sh
#
# DEADLINE (seconds from the start) stops every screen still running (SIGTERM), so the lease's limit is never hit;
# a stopped inner fold saves the epochs it finished, and --merge summarises the epochs every fold reached (and says
# so in the result).
set -u
OUT=${OUT:-runs/gpu_session}
DEADLINE=${DEADLINE:-480}
JOBS=${JOBS:-14}
DEVICE=${DEVICE:-cuda}             # the CUDA checks run only with cuda
SCREEN_DEVICE=${SCREEN_DEVICE:-cpu}
SCREENS=${SCREENS:-1}              # 0: the CUDA checks only
BENCH_DEADLINE=${BENCH_DEADLINE:-400}  # seconds from the start after which no more bench_epoch runs begin
BENCH_BATCHES=${BENCH_BATCHES:-20}
EPOCHS=${EPOCHS:-120}
MAXJOBS=${MAXJOBS:-100000}  # EPOCHS=1 MAXJOBS=3 DEVICE=cpu: a dry run of this script
mkdir -p "$OUT/screens"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore OMP_NUM_THREADS=1
PY=${PY:-python3}
start=$(date +%s)
log="$OUT/session.log"
say() { echo "[$(($(date +%s) - start))s] $*" | tee -a "$log"; }

say "environment"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1; nproc --all; grep -m1 'model name' /proc/cpuinfo
  $PY -c "import sys, torch, torch_geometric; print(sys.version.split()[0], torch.__version__, torch_geometric.__version__,
torch.cuda.is_available() and torch.cuda.get_device_name())"; } >>"$log" 2>&1
say "dataset caches (built once here: parallel workers would race to build them)"
$PY -c "
from skelgraph.datasets.msr import MSRAction3D
from skelgraph.datasets.sbu import SBU
for s in ('AS1', 'AS2', 'AS3'):
    for x in ('train', 'test'):
        MSRAction3D(subset=s, split=x)
SBU(fold=0, split='train'); SBU(fold=0, split='test')
" >>"$log" 2>&1 || say "cache build failed (see log)"

# --- screens: NAME FOLDS RECIPE OPTIONS (one line each, highest priority first; the long SBU runs first)
cat >"$OUT/screens.txt" <<EOF
gpu_sbu_gca_f0_e${EPOCHS} 4 gca_lstm_sbu --model gca --folds 0 --selection inner-cv --epochs ${EPOCHS} --seed 0
gpu_msr_as2_base_e${EPOCHS} 5 arrn_msr --subset AS2 --selection inner-cv --epochs ${EPOCHS} --seed 0
gpu_msr_as2_lstm128x2_e${EPOCHS} 5 arrn_msr --subset AS2 --selection inner-cv --epochs ${EPOCHS} --seed 0 --lstm-sizes 128 128
gpu_msr_as2_wd5e-4_e${EPOCHS} 5 arrn_msr --subset AS2 --selection inner-cv --epochs ${EPOCHS} --seed 0 --weight-decay 5e-4
gpu_msr_as2_E2_e${EPOCHS} 5 arrn_msr --subset AS2 --selection inner-cv --epochs ${EPOCHS} --seed 0 --E 2
gpu_msr_as2_T32_e${EPOCHS} 5 arrn_msr --subset AS2 --selection inner-cv --epochs ${EPOCHS} --seed 0 --T 32
gpu_msr_as1_base_e${EPOCHS} 5 arrn_msr --subset AS1 --selection inner-cv --epochs ${EPOCHS} --seed 0
gpu_msr_as3_base_e${EPOCHS} 5 arrn_msr --subset AS3 --selection inner-cv --epochs ${EPOCHS} --seed 0
gpu_msr_as2_lstm256_e${EPOCHS} 5 arrn_msr --subset AS2 --selection inner-cv --epochs ${EPOCHS} --seed 0 --lstm-sizes 256
gpu_msr_as2_base_e${EPOCHS}_s1 5 arrn_msr --subset AS2 --selection inner-cv --epochs ${EPOCHS} --seed 1
gpu_msr_as2_lstm128x2_e${EPOCHS}_s1 5 arrn_msr --subset AS2 --selection inner-cv --epochs ${EPOCHS} --seed 1 --lstm-sizes 128 128
EOF
while read -r name folds recipe options; do
    for ((i = 0; i < folds; i++)); do
        echo "$name $i $recipe $options"
    done
done <"$OUT/screens.txt" | head -n "$MAXJOBS" >"$OUT/jobs.txt"

run_job() {  # NAME I RECIPE OPTIONS...
    local name=$1 i=$2 recipe=$3; shift 3
    local left=$((DEADLINE - ($(date +%s) - start)))
    [ "$left" -gt 30 ] || { echo "$name part$i: no time left" >>"$OUT/screens/skipped.txt"; return 0; }
    timeout -k 20 "$left" $PY bench/screen_average.py --horizons 10 --inner-fold "$i" --save "$name" \
        --results "$OUT/screens" -- "$recipe" "$@" --device "$SCREEN_DEVICE" >"$OUT/screens/$name.part$i.log" 2>&1
    echo "$name part$i rc=$? $(($(date +%s) - start))s" >>"$OUT/screens/done.txt"
}
export -f run_job
export OUT DEADLINE SCREEN_DEVICE PY start

# --- CUDA paths first, alone on the machine, so that their timings are clean
if [ "$DEVICE" = cuda ]; then
    # One process per model and precision, each with its own time limit, so that a slow one costs only itself.
    for amp in "" --amp; do
        for m in ${BENCH_MODELS:-arrn gca gca2 st_lstm}; do
            left=$((BENCH_DEADLINE - ($(date +%s) - start)))
            [ "$left" -gt 20 ] || { say "bench_epoch $m $amp: no time left"; continue; }
            say "bench_epoch $m ${amp:-float32}"
            timeout $((left < 90 ? left : 90)) $PY bench/bench_epoch.py --device cuda $amp --models "$m" \
                --batches "$BENCH_BATCHES" --out "$OUT/epoch_cuda${amp:+_amp}_$m.json" >>"$log" 2>&1 \
                || say "bench_epoch $m $amp failed or stopped"
        done
    done
    say "recipes on CUDA with AMP (bundled NTU samples, 2 epochs; SBU --tiny GCA-LSTM, 2 epochs)"
    timeout 45 $PY recipes/arrn_ntu.py --device cuda --amp --epochs 2 --out "$OUT/arrn_ntu_cuda" --no-progress \
        >>"$log" 2>&1 || say "arrn_ntu recipe failed"
    timeout 45 $PY recipes/gca_lstm_sbu.py --device cuda --amp --tiny --folds 0 --epochs 2 \
        --out "$OUT/gca_sbu_cuda" --no-progress >>"$log" 2>&1 || say "gca_lstm_sbu recipe failed"
fi

# Only a few files (16 MiB each) come back from a lease: everything but the log, checkpoints and pictures goes
# into one archive (with them it was over the limit and the bench JSON was lost with it).
pack() {
    (cd "$OUT" && tar czf /tmp/results.$$.tgz --exclude=session.log --exclude='*.pt' --exclude='*.gif' --exclude='*.png' . && find . -mindepth 1 ! -name session.log -delete \
        && mv /tmp/results.$$.tgz results.tgz)
    say "done"
}
[ "$SCREENS" = 1 ] || { pack; exit 0; }

say "screens: $(wc -l <"$OUT/jobs.txt") inner folds, $JOBS at a time"
xargs -P "$JOBS" -L 1 bash -c 'run_job "$@"' _ <"$OUT/jobs.txt"
say "screens over"
pack
