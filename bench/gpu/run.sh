#!/usr/bin/env bash
# GPU host check: environment, `tessera info`, a first look at the Hopper attention kernel in its own JVM
# (GpuWgmmaProbe), CUDA tests (JUnit console launcher; runtime and models), the CLI with --device cuda against
# --device cpu (cli-check.sh), the
# real MiniLM check against ONNX Runtime (when .minilm-carry/ was carried: bench/gpu/minilm-carry.sh), the
# encoder op profile, the GPU benchmarks of Tessera beside PyTorch's in the same run, then flash_wgmma under Nsight
# Compute and compute-sanitizer (when the host has them); a short table last. Builds nothing: it needs
# ./bundle (bench/gpu/make-bundle.sh, carried with the run) and python3 + torch for the peer.
#
#   bench/gpu/run.sh [--out DIR] [--bundle DIR] [--skip-tests] [--skip-models-tests] [--skip-profile]
#                    [--skip-bench] [--quick] [--sizes 1024,4096,8192] [--dtypes fp32,tf32,bf16] [--tests REGEX]
#                    [--only matmul,attention,...] [--ab ws,wsp,ws2,ws3] [--skip-ncu] [--skip-sanitize] [--no-gpu-ok]
#
#   --out DIR     where everything is written (default: $OUT if set, else bench/results/gpu/out)
#   --quick       sizes 1024,4096, fewer repetitions
#   --tests REGEX JUnit class-name pattern of the runtime tests (default: classes named Cuda*Test / Cuda*Tests)
#   --skip-models-tests  no models' CUDA tests (ViT/CLIP, Llama, tiny BERT, Whisper vs committed fixtures)
#   --skip-profile       no op-level profile of the ViT / BERT encoder forwards (GpuEncoderProfile)
#   --only LIST   run only these benchmark pairs (comma-separated names: matmul attention logmel rbm patch_embed
#                 vit minilm whisper llama); the others are recorded as skipped
#   --ab LIST     flash_wgmma schedules timed beside the default (ping-pong) in the attention benchmark
#                 (TESSERA_WGMMA_SCHEDULE: ws, ws2, ws3, wsp, wsp2, wsp3, lockstep; default ws,wsp,ws2,ws3; "none" for
#                 none)
#   --skip-ncu    no Nsight Compute profile of flash_wgmma (ncu-wgmma-*.txt: where its time goes)
#   --skip-sanitize  no compute-sanitizer synccheck / racecheck of GpuWgmmaProbe (named barriers, shared memory)
#   --no-gpu-ok   go on without nvidia-smi (a dry run of the script on a build machine)
# Exit status: 0 all steps passed; 1 a step failed (see the summary); 2 bad arguments, no GPU, no bundle.
#
# Note: the bundle carries no OpenBLAS (too big for the upload): the CPU backend runs its products on Tessera's
# packed GEMM there (docs/ops.md, "Without OpenBLAS"), so CPU-side references work, slower than with OpenBLAS.
set -uo pipefail
T0=$(date +%s)
BUDGET_S=${TESSERA_GPU_BUDGET_S:-450}    # stop starting long steps after this; the run must end well under 8 min
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

out="${OUT:-}"
bundle="${BUNDLE:-}"
skip_tests=0; skip_bench=0; quick=0; no_gpu_ok=0; skip_models_tests=0; skip_profile=0; only=""
skip_ncu=0; skip_sanitize=0
sizes=1024,4096,8192; dtypes=fp32,tf32,bf16; reps=5; target_ms=200
tests_re='^(.+[.$])?Cuda[^.$]*Tests?$'
ab_list=ws,wsp,ws2,ws3
usage() { sed -n '2,22p' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a directory}"; shift ;;
    --bundle) bundle="${2:?--bundle needs a directory}"; shift ;;
    --skip-tests) skip_tests=1 ;;
    --skip-models-tests) skip_models_tests=1 ;;
    --skip-profile) skip_profile=1 ;;
    --skip-ncu) skip_ncu=1 ;;
    --skip-sanitize) skip_sanitize=1 ;;
    --skip-bench) skip_bench=1 ;;
    --quick) quick=1; sizes=1024,4096; reps=3; target_ms=100 ;;
    --sizes) sizes="${2:?}"; shift ;;
    --dtypes) dtypes="${2:?}"; shift ;;
    --tests) tests_re="${2:?}"; shift ;;
    --no-gpu-ok) no_gpu_ok=1 ;;
    --only) only="${2:?--only needs a list of benchmark names}"; shift ;;
    --ab) ab_list="${2:?--ab needs a list of schedules}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[ -n "$out" ] || out="$PWD/bench/results/gpu/out"
mkdir -p "$out" || { echo "run.sh: cannot create $out" >&2; exit 2; }
out="$(cd "$out" && pwd)"
# The device tool returns at most 8 files from $OUT: work in a scratch folder, then pack it into
# $OUT/gpu-results.tar.gz and copy the summary beside it (see the end of this script).
final_out="$out"
out="$(mktemp -d "${TMPDIR:-/tmp}/tessera-gpu.XXXXXX")"

# make-bundle.sh ships the JRE and the jars as jre.tar.xz and lib.tar.xz (to fit the 64 MiB upload): unpack once,
# only in the bundle given with --bundle / BUNDLE when there is one (a dry run on a build machine must not unpack the
# repository's ./bundle, which would no longer fit the upload), else in ./bundle and bundle/gpu/..
if [ -n "$bundle" ]; then cands=("$bundle"); else cands=("$PWD/bundle" "$here/.."); fi
unxz_into() {  # unxz_into ARCHIVE DIR: tar's xz, else Python's tarfile
  tar -C "$2" -xJf "$1" 2>/dev/null \
    || python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
}
for b in "${cands[@]}"; do
  for part in jre lib; do
    if [ -f "$b/$part.tar.xz" ] && [ ! -e "$b/$part/.unpacked" ]; then
      rm -rf "${b:?}/$part"
      unxz_into "$b/$part.tar.xz" "$b" && touch "$b/$part/.unpacked"
    fi
  done
  # extras, added to lib/ when make-bundle had room for them: tok.tar.xz (DJL's tokenizers and api jars: clip
  # --labels / embed --text in cli-check.sh), tmpl.tar.xz (Jinjava and its dependencies: chat templates, CudaLlamaTest)
  for extra in tok tmpl; do
    if [ -f "$b/$extra.tar.xz" ] && [ -d "$b/lib" ] && [ ! -e "$b/lib/.$extra-unpacked" ]; then
      unxz_into "$b/$extra.tar.xz" "$b" && touch "$b/lib/.$extra-unpacked"
    fi
  done
done
export DJL_CACHE_DIR="${DJL_CACHE_DIR:-${TMPDIR:-/tmp}/tessera-djl-cache}"   # where DJL unpacks the tokenizers' natives
if [ -z "$bundle" ]; then
  if [ -x "$PWD/bundle/jre/bin/java" ]; then bundle="$PWD/bundle"
  elif [ -x "$here/../jre/bin/java" ]; then bundle="$(cd "$here/.." && pwd)"     # run from bundle/gpu/
  else bundle="$PWD/bundle"; fi
fi
JAVA="$bundle/jre/bin/java"
log() { echo "[run.sh +$(( $(date +%s) - T0 ))s] $*"; }
left() { echo $(( BUDGET_S - ($(date +%s) - T0) )); }
# step timeout: min(wanted, what is left of the budget), at least 20 s
cap() { local l; l=$(left); [ "$l" -lt "$1" ] && { [ "$l" -gt 20 ] && echo "$l" || echo 20; } || echo "$1"; }

declare -A status
order=()
record() { status[$1]=$2; order+=("$1"); }
# run_step NAME LOG SECONDS COMMAND...: COMMAND under a timeout of SECONDS, its output shown and kept in $out/LOG,
# NAME recorded by its exit code (0 ok, 3 CUDA unavailable, 124 timed out, else failed naming the log)
run_step() {
  local name=$1 logf=$2 secs=$3; shift 3
  timeout "$secs" "$@" 2>&1 | tee "$out/$logf"
  local rc=${PIPESTATUS[0]}
  case $rc in 0) record "$name" ok ;; 3) record "$name" "CUDA unavailable ($logf)" ;;
              124) record "$name" "FAILED: timed out" ;; *) record "$name" "FAILED rc=$rc ($logf)" ;; esac
}
# gate NAME SKIP SECONDS: true when step NAME is to run; else NAME is recorded as skipped (SKIP = 1) or as out of
# time (SECONDS or fewer left of the budget)
gate() {
  if [ "$2" = 1 ]; then record "$1" skipped; return 1; fi
  if [ "$(left)" -le "$3" ]; then record "$1" "skipped: time budget spent"; return 1; fi
}
# junit_step NAME LOG REPORTS SECONDS ARGS...: the JUnit console launcher on the bundle's jars with ARGS (the
# classes to run; --class-path as given), output shown and kept in $out/LOG, reports in $out/REPORTS; NAME is ok
# only when some test succeeded and none was aborted (a failed assumption: no CUDA) or skipped
junit_step() {
  local name=$1 logf=$2 reports=$3 secs=$4; shift 4
  local console
  console=$(ls "$bundle"/lib/junit-platform-console-standalone-*.jar 2>/dev/null | head -1)
  if [ -z "$console" ]; then record "$name" "FAILED: the JUnit console launcher is missing from $bundle/lib"; return; fi
  timeout "$secs" "$JAVA" "${JOPTS[@]}" -jar "$console" execute --disable-banner --disable-ansi-colors --details=tree \
      --fail-if-no-tests --reports-dir "$out/$reports" "$@" 2>&1 | tee "$out/$logf"
  local rc=${PIPESTATUS[0]} okn ab sk
  case $rc in
    0) okn=$(sed -n 's/^\[ *\([0-9]*\) tests successful.*/\1/p' "$out/$logf" | head -1)
       ab=$(sed -n 's/^\[ *\([0-9]*\) tests aborted.*/\1/p' "$out/$logf" | head -1)
       sk=$(sed -n 's/^\[ *\([0-9]*\) tests skipped.*/\1/p' "$out/$logf" | head -1)
       if [ "${okn:-0}" = 0 ]; then
         record "$name" "ok, but no test succeeded (all skipped? see $logf)"
       elif [ "${ab:-0}" != 0 ] || [ "${sk:-0}" != 0 ]; then
         record "$name" "ok, but ${ab:-0} aborted (assumption failed) and ${sk:-0} skipped: see $logf"
       else record "$name" ok; fi ;;
    2) record "$name" "FAILED: no tests matched ($logf)" ;;
    124) record "$name" "FAILED: timed out" ;;
    *) record "$name" "FAILED rc=$rc ($logf, $reports/)" ;;
  esac
}

# ------------------------------------------------------------------ environment
{
  echo "date:     $(date -Is)"
  echo "host:     $(hostname) $(uname -srm)"
  echo "pwd:      $PWD"
  echo "bundle:   $bundle"
  echo "out:      $out"
} | tee "$out/env.txt"
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "run.sh: no nvidia-smi: this is not a GPU host (or the NVIDIA driver is not installed)." | tee -a "$out/env.txt" >&2
  if [ "$no_gpu_ok" != 1 ]; then
    echo "run.sh: nothing to check without a GPU; use --no-gpu-ok for a dry run of the script." >&2
    exit 2
  fi
  record nvidia-smi "missing (dry run)"
else
  nvidia-smi 2>&1 | tee -a "$out/env.txt"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv > "$out/gpu.csv" 2>&1
  record nvidia-smi ok
fi
if [ ! -x "$JAVA" ]; then
  echo "run.sh: no bundle at $bundle (expected $JAVA): run bench/gpu/make-bundle.sh on the build machine" \
       "and carry 'bundle' with the run" >&2
  exit 2
fi
"$JAVA" -version 2>&1 | tee -a "$out/env.txt"
[ -f "$bundle/MANIFEST.txt" ] && cp "$bundle/MANIFEST.txt" "$out/bundle-MANIFEST.txt"
PY=$(command -v python3 || command -v python || true)
if [ -n "$PY" ]; then
  "$PY" - <<'PYEOF' 2>&1 | tee -a "$out/env.txt"
import sys
print("python:   " + sys.version.split()[0])
try:
    import torch
    print("torch:    %s (cuda %s, cudnn %s)" % (torch.__version__, torch.version.cuda, torch.backends.cudnn.version()))
except Exception as e:
    print("torch:    unavailable: %r" % (e,))
PYEOF
else
  echo "python:   not found" | tee -a "$out/env.txt"
fi

# ------------------------------------------------------------------ CUDA libraries
# The bytedeco CUDA preset's JNI libraries need libcudart.so.13, libcublas(Lt).so.13, libcufft.so.12,
# libcurand.so.10, libnvrtc.so.13 (+ libcuda.so.1 from the driver): put their folders on LD_LIBRARY_PATH.
log "locating CUDA libraries"
libdirs=()
add_dir() { local d; for d in "$@"; do [ -d "$d" ] || continue; case " ${libdirs[*]-} " in *" $d "*) ;; *) libdirs+=("$d") ;; esac; done; }
if [ -n "$PY" ]; then
  while IFS= read -r d; do add_dir "$d"; done < <("$PY" - <<'PYEOF' 2>/dev/null
import glob, os, site, sys
roots = set(site.getsitepackages() + [site.getusersitepackages()] + [p for p in sys.path if p.endswith("-packages")])
for r in sorted(roots):
    for d in sorted(glob.glob(os.path.join(r, "nvidia", "*", "lib"))) + sorted(glob.glob(os.path.join(r, "nvidia", "cu13", "lib"))):
        print(d)
PYEOF
)
fi
wanted=(libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcufft.so.12 libcurand.so.10 libnvrtc.so.13 libnvJitLink.so.13)
missing_libs() {
  local l d found
  for l in "${wanted[@]}"; do
    found=0
    for d in "${libdirs[@]-}"; do [ -n "$d" ] && compgen -G "$d/$l*" >/dev/null && { found=1; break; }; done
    [ $found = 1 ] || echo "$l"
  done
}
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/lib64 \
         /usr/local/cuda-13*/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu; do
  [ -n "$(missing_libs)" ] || break
  for l in $(missing_libs); do compgen -G "$d/$l*" >/dev/null && add_dir "$d"; done
done
if [ -n "$(missing_libs)" ]; then
  # one bounded search of the whole file system for whatever is still missing
  names=(); for l in $(missing_libs); do names+=(-o -name "$l*"); done
  while IFS= read -r f; do add_dir "$(dirname "$f")"; done < <(timeout 90 find / -xdev \( -path /proc -o -path /sys \
      -o -path /dev -o -path "$out" \) -prune -o \( -false "${names[@]}" \) -print 2>/dev/null)
fi
LD_LIBRARY_PATH="$(IFS=:; echo "${libdirs[*]-}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
{
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  for l in "${wanted[@]}" libcuda.so.1; do
    f=""
    for d in "${libdirs[@]-}" /usr/lib/x86_64-linux-gnu /usr/lib64 /lib/x86_64-linux-gnu; do
      [ -n "$d" ] && f=$(compgen -G "$d/$l*" | head -1) && [ -n "$f" ] && break
    done
    printf '  %-20s %s\n' "$l" "${f:-NOT FOUND}"
  done
} | tee "$out/libs.txt"
m=$(missing_libs | tr '\n' ' ')
[ -z "$m" ] && record cuda-libs ok || record cuda-libs "missing: $m"

JOPTS=(-Xmx6g -Dorg.bytedeco.javacpp.cachedir="${TMPDIR:-/tmp}/tessera-javacpp-cache" ${TESSERA_JAVA_OPTS:-})
CP="$bundle/lib/*"

# ------------------------------------------------------------------ tessera info
log "tessera info"
timeout "$(cap 60)" "$JAVA" "${JOPTS[@]}" -cp "$CP" dev.tessera.cli.TesseraCli info --json > "$out/info.json" 2> "$out/info.err"
rc=$?
timeout 60 "$JAVA" "${JOPTS[@]}" -cp "$CP" dev.tessera.cli.TesseraCli info 2>&1 | tee "$out/info.txt"
[ $rc = 0 ] && record "tessera info" ok || record "tessera info" "FAILED rc=$rc (info.err)"

# ------------------------------------------------------------------ WGMMA probe
# flash_wgmma (Hopper; first run on an H200 in run4-h200, AUTO's pick on cc 9.0 since): a first look in a JVM of its
# own, so that a kernel fault (which leaves the CUDA context unusable for the rest of its process) cannot take the
# tests or the timings with it. The probe runs the default ping-pong schedule; when that fails, the lockstep schedule
# (run 4's) is probed and, if it passes, used for the rest of the run (TESSERA_WGMMA_SCHEDULE=lockstep, recorded in the
# summary); when both fail, WGMMA is left out of the CUDA tests' explicit WGMMA cases (TESSERA_TEST_WGMMA=off; the
# AUTO cases still run it and fail) and of the attention benchmark. When the default passes, the warp-specialised
# kernel (flash_wgmma_ws, TESSERA_WGMMA_SCHEDULE=ws: TMA producer warpgroup, mbarriers, setmaxnreg; never run on a GPU
# before) is probed too; only if it passes does CudaAttentionTest run again under it and is it timed (--ab).
attn_kernels=v1,v2,wgmma
wgmma_ab=1     # time the schedules of --ab beside the default in the attention benchmark
ws_ok=0        # flash_wgmma_ws passed its probe
wsp_ok=0       # and on its persistent grid (wsp)
if [ "$skip_tests" = 1 ] && [ "$skip_bench" = 1 ]; then
  record "wgmma probe" skipped
else
  # (TESSERA_WGMMA_WATCHDOG=1: a flash_wgmma_ws wait that hangs traps after ~2 s and the probe's error names the
  # mbarrier, its phase, the block and the thread, instead of a bare timeout; each ws launch is synchronous then)
  probe() {  # probe SCHEDULE LOG: GpuWgmmaProbe with TESSERA_WGMMA_SCHEDULE=SCHEDULE; its exit status
    log "WGMMA probe, $1 schedule (GpuWgmmaProbe: flash_wgmma vs the CPU backend, 9 small cases; 45 s at most)"
    TESSERA_WGMMA_WATCHDOG=1 TESSERA_WGMMA_SCHEDULE=$1 timeout "$(cap 45)" "$JAVA" "${JOPTS[@]}" -cp "$CP" \
        dev.tessera.bench.GpuWgmmaProbe --out "$out/wgmma-probe-$1.json" 2>&1 | tee "$out/$2"
    return "${PIPESTATUS[0]}"
  }
  probe pingpong wgmma-probe.log; rc=$?
  case $rc in
    0) record "wgmma probe" ok
       # (the probe fails a case that ran another schedule: tsr_cuda_attention_last_schedule)
       probe ws wgmma-probe-ws.log; rc_ws=$?
       if [ "$rc_ws" = 0 ]; then ws_ok=1; record "wgmma probe ws" ok
         # the persistent grid (blocks taking several work tiles: the probe's two largest cases) on its own, so that
         # a fault or a hang of its loop costs a 45-s probe, not the tests' step
         probe wsp wgmma-probe-wsp.log; rc_wsp=$?
         if [ "$rc_wsp" = 0 ]; then wsp_ok=1; record "wgmma probe wsp" ok
         else record "wgmma probe wsp" "FAILED rc=$rc_wsp (wgmma-probe-wsp.log): wsp left out; the tests rerun under ws"; fi
       else record "wgmma probe ws" "FAILED rc=$rc_ws (wgmma-probe-ws.log): flash_wgmma_ws left out of the tests and timings"; fi ;;
    2) record "wgmma probe" "refused here (not compute capability 9.0, or no sm_90a in the library)"; wgmma_ab=0 ;;
    3) record "wgmma probe" "CUDA unavailable (wgmma-probe.log)"; wgmma_ab=0 ;;
    *) wgmma_ab=0
       if probe lockstep wgmma-probe-lockstep.log; then
         record "wgmma probe" "FAILED rc=$rc with the ping-pong schedule (wgmma-probe.log); lockstep passed and runs the rest"
         export TESSERA_WGMMA_SCHEDULE=lockstep
       else
         record "wgmma probe" "FAILED rc=$rc, lockstep too: WGMMA left out of the tests and the attention benchmark"
         export TESSERA_TEST_WGMMA=off; attn_kernels=v1,v2
       fi ;;
  esac
fi

# ------------------------------------------------------------------ CUDA tests
if gate "cuda tests" "$skip_tests" 20; then
  log "CUDA tests (JUnit classes matching $tests_re); CPU products on the packed GEMM (no OpenBLAS in the bundle)"
  testjar=$(ls "$bundle"/lib/tessera-runtime-tests-*.jar 2>/dev/null | head -1)
  if [ -z "$testjar" ]; then
    record "cuda tests" "FAILED: the tessera-runtime-tests jar is missing from $bundle/lib"
  else
    if [ -n "$PY" ]; then
      "$PY" - "$testjar" "$tests_re" <<'PYEOF' 2>&1 | tee "$out/test-classes.txt"
import re, sys, zipfile
pat = re.compile(sys.argv[2])
names = sorted(n[:-6].replace("/", ".") for n in zipfile.ZipFile(sys.argv[1]).namelist()
               if n.endswith(".class") and "$" not in n)
hits = [n for n in names if pat.search(n)]
print("test classes matching %s in %s: %s" % (sys.argv[2], sys.argv[1].rsplit("/", 1)[-1], ", ".join(hits) or "NONE"))
PYEOF
    fi
    cpjoined=$(ls "$bundle"/lib/*.jar | grep -v junit-platform-console-standalone | tr '\n' ':')
    # the runtime's test resources travel with the working tree, not in the tests jar (make-bundle.sh)
    for d in "$here/../../runtime/src/test/resources" "$PWD/runtime/src/test/resources"; do
      [ -d "$d" ] && { cpjoined="$cpjoined$(cd "$d" && pwd)"; break; }
    done
    junit_step "cuda tests" cuda-tests.log junit "$(cap 240)" --class-path "$cpjoined" --scan-class-path "$testjar" \
        --include-classname "$tests_re"
    # the attention tests again, every WGMMA case on the warp-specialised kernel (a JVM of its own: the schedule is
    # read once per process), on its persistent grid (wsp: blocks of two consumer warpgroups take several work tiles
    # in the cases with more tiles than SMs; three-warpgroup cases run a block per tile, as ws), or under ws where
    # the wsp probe failed
    if [ "$ws_ok" = 1 ] && gate "cuda tests ws" 0 40; then
      ws_sched=ws; [ "$wsp_ok" = 1 ] && ws_sched=wsp
      log "CudaAttentionTest under TESSERA_WGMMA_SCHEDULE=$ws_sched (flash_wgmma_ws$([ "$ws_sched" = wsp ] && echo ', persistent grid'))"
      TESSERA_WGMMA_WATCHDOG=1 TESSERA_WGMMA_SCHEDULE=$ws_sched junit_step "cuda tests ws" "cuda-tests-$ws_sched.log" "junit-$ws_sched" "$(cap 120)" \
          --class-path "$cpjoined" --select-class dev.tessera.runtime.CudaAttentionTest
    fi
  fi
fi

# ------------------------------------------------------------------ models' CUDA tests
# The models' Cuda*Test classes travel as tessera-models-tests.jar (classes only); their fixtures are the
# repository's tracked models/src/test/resources (sent with the working tree), put on the class path as a folder.
# Not CudaMiniLmTest: the real MiniLM and ONNX Runtime do not fit the upload (CudaBertTest covers BERT; the
# "minilm check" step below checks the real MiniLM from data computed on the build machine).
models_tests="dev.tessera.models.vit.CudaVisionTest dev.tessera.models.clip.CudaClipTest dev.tessera.models.llama.CudaLlamaTest dev.tessera.models.bert.CudaBertTest
  dev.tessera.models.whisper.CudaWhisperTest dev.tessera.models.dbm.CudaMultimodalDbnTest"
if gate "models tests" "$skip_models_tests" 20; then
  log "models' CUDA tests ($models_tests)"
  mtestjar=$(ls "$bundle"/lib/tessera-models-tests-*.jar 2>/dev/null | head -1)
  models_res=""
  for d in "$here/../../models/src/test/resources" "$PWD/models/src/test/resources"; do
    [ -d "$d" ] && { models_res="$(cd "$d" && pwd)"; break; }
  done
  if [ -z "$mtestjar" ]; then
    record "models tests" "FAILED: the tessera-models-tests jar is missing from $bundle/lib"
  elif [ -z "$models_res" ]; then
    record "models tests" "FAILED: models/src/test/resources not found (run from the repository root)"
  else
    cpjoined=$(ls "$bundle"/lib/*.jar | grep -v junit-platform-console-standalone | tr '\n' ':')
    sel=(); for c in $models_tests; do sel+=(--select-class "$c"); done
    junit_step "models tests" models-cuda-tests.log junit-models "$(cap 180)" --class-path "$cpjoined$models_res" \
        "${sel[@]}"
  fi
fi

# ------------------------------------------------------------------ the CLI on CUDA
# Issues 3 and 4's commands with --device cpu and --device cuda on the same inputs, outputs compared
# (bench/gpu/cli-check.sh: logmel on two WAVs, classify on three ViT shapes, embed --image on two CLIP shapes; clip /
# embed --text where the bundle carries the tokenizers, tok.tar.xz, which make-bundle adds when there is room).
# TESSERA_CLI_CHECK_DEVICE=cpu makes a dry run of this step on a build machine.
if gate "cli on cuda" "$skip_tests" 60; then
  log "CLI on CUDA (bench/gpu/cli-check.sh: logmel / classify / embed with --device cpu and ${TESSERA_CLI_CHECK_DEVICE:-cuda})"
  run_step "cli on cuda" cli-check.log "$(cap 150)" env CLI_JOPTS="${JOPTS[*]}" "$here/cli-check.sh" "$JAVA" "$CP" \
      "$out/cli-check" "${TESSERA_CLI_CHECK_DEVICE:-cuda}"
fi

# ------------------------------------------------------------------ real MiniLM vs ONNX Runtime
# The real all-MiniLM-L6-v2 (CudaMiniLmTest's check without ONNX Runtime, tokenizer or OpenBLAS here): token ids,
# ONNX Runtime's embeddings and the ONNX file in pieces come from bench/gpu/minilm-carry.sh on the build machine,
# carried as .minilm-carry/c1, c2, ... in earlier calls to the same machine; GpuMiniLmCheck reassembles the model
# and checks cosine >= 0.9999 per input at batch 1 and 32.
# (each device call replaces the ignored paths of the working tree: the pieces are copied to /tmp on the host as
# they arrive, see bench/gpu/README.md)
minilm_data=""
for d in "$PWD/.minilm-carry" "${TMPDIR:-/tmp}/tessera-minilm-carry"; do
  [ -f "$d/c1/inputs.json" ] && { minilm_data="$d"; break; }
done
if [ -n "$minilm_data" ]; then
  log "real MiniLM check (GpuMiniLmCheck, $minilm_data)"
  run_step "minilm check" minilm-check.log "$(cap 120)" "$JAVA" "${JOPTS[@]}" -cp "$CP" \
      dev.tessera.bench.GpuMiniLmCheck --data "$minilm_data" --out "$out/gpu-minilm-real-check.json"
else
  record "minilm check" "skipped: no .minilm-carry or /tmp/tessera-minilm-carry (bench/gpu/minilm-carry.sh)"
fi

# ------------------------------------------------------------------ op-level profile of the encoders
# Where the GPU time of a ViT-B/16 bf16 batch-64 forward and a MiniLM-shaped BERT fp32 batch-32 forward goes
# (CudaProfiler: CUDA events around every queued op, summed per op kind; GEMMs and attention with their shapes).
if gate "encoder profile" "$skip_profile" 40; then
  log "encoder op profile (GpuEncoderProfile)"
  run_step "encoder profile" encoder-profile.txt "$(cap 120)" "$JAVA" "${JOPTS[@]}" -cp "$CP" \
      dev.tessera.bench.GpuEncoderProfile --vit-batch 64 --bert-batch 32 --iters 5 --out "$out/gpu-encoder-profile.json"
fi

# ------------------------------------------------------------------ GPU benchmarks: Tessera, then PyTorch
# bench_pair NAME JAVA_MAIN_CLASS [java args...] -- PEER_SCRIPT [python args...]
# Each writes $out/gpu-NAME-tessera.json and $out/gpu-NAME-torch.json; cap per side 150 s.
bench_pair() {
  local name=$1 cls=$2; shift 2
  local jargs=() pargs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do jargs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  pargs=("$@")
  if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then record "bench $name" "skipped (--only $only)"; return; fi
  gate "bench $name" 0 25 || return 0
  log "GPU $name benchmark, Tessera"
  run_step "bench $name" "bench-$name-tessera.log" "$(cap 150)" "$JAVA" "${JOPTS[@]}" -cp "$CP" "$cls" "${jargs[@]}" \
      --out "$out/gpu-$name-tessera.json"
  if [ -z "$PY" ]; then record "peer $name" "skipped: no python3"; return; fi
  log "GPU $name benchmark, PyTorch"
  run_step "peer $name" "bench-$name-torch.log" "$(cap 150)" "$PY" "$here/${pargs[0]}" "${pargs[@]:1}" \
      --out "$out/gpu-$name-torch.json"
}

if [ "$skip_bench" = 1 ]; then
  record "benchmarks" skipped
else
  bench_pair matmul dev.tessera.bench.GpuMatmulBench --sizes "$sizes" --dtypes "$dtypes" --reps "$reps" \
      --target-ms "$target_ms" -- torch_matmul.py --sizes "$sizes" --dtypes "$dtypes" --reps "$reps" --target-ms "$target_ms"
  # attention: the tensor-core kernels (v1 = flash_mma, v2 = flash_mma_v2, wgmma = flash_wgmma: sm_90a, not run on a
  # GPU before; skipped with a note on cards other than cc 9.0) in the same run, plus the ViT-B/16 shape
  # (64x12x197x64); the summary prints each kernel / SDPA (compare.py --kind attention)
  bench_pair attention dev.tessera.bench.GpuAttentionBench --kernels "$attn_kernels" --extra 64x12x197x64 --reps "$reps" \
      -- attention_torch.py --extra 64x12x197x64 --reps "$reps"
  # A / B of flash_wgmma's schedules: each of --ab (ws: the warp-specialised kernel, when its probe passed, ws2 /
  # ws3 the same with 2 / 3 consumer warpgroups at head_dim 64 whatever the length, wsp / wsp2 / wsp3 the same on a
  # persistent grid where there is no causal mask and two consumer warpgroups; lockstep: run 4's kernel) timed
  # alone, same cases (its JSON beside the default's; the summary table shows each
  # against SDPA)
  for sched in ${ab_list//,/ }; do
    case $sched in ws|ws2|ws3) [ "$ws_ok" = 1 ] || continue ;; wsp|wsp2|wsp3) [ "$wsp_ok" = 1 ] || continue ;;
      lockstep) ;; *) continue ;; esac
    if [ "$wgmma_ab" = 1 ] && { [ -z "$only" ] || [[ ",$only," == *",attention,"* ]]; } && gate "bench wgmma-$sched" 0 25; then
      log "GPU attention benchmark, flash_wgmma $sched schedule"
      run_step "bench wgmma-$sched" "bench-attention-$sched.log" "$(cap 90)" env TESSERA_WGMMA_SCHEDULE="$sched" \
          "$JAVA" "${JOPTS[@]}" -cp "$CP" dev.tessera.bench.GpuAttentionBench --kernels wgmma --extra 64x12x197x64 \
          --reps "$reps" --out "$out/gpu-attention-$sched-tessera.json"
    fi
  done
  bench_pair logmel dev.tessera.bench.GpuLogMelBench --batch 64 --n-mels 80,128 --reps "$reps" \
      -- logmel_torch.py --batch 64 --n-mels 80,128 --reps "$reps"
  bench_pair rbm dev.tessera.bench.GpuRbmBench --cases 784x500x100,784x500x1000,4096x4096x256 --reps "$reps" --iters 50 \
      -- rbm_torch.py --cases 784x500x100,784x500x1000,4096x4096x256 --reps "$reps" --iters 50
  bench_pair patch_embed dev.tessera.bench.GpuPatchEmbeddingBench --n 64 --dtypes fp32,bf16 --reps "$reps" \
      --target-ms "$target_ms" -- patch_embed_torch.py --n 64 --dtypes fp32,bf16 --reps "$reps" --target-ms "$target_ms"
  # region vision (#4)
  # ViT-B/16 bf16 batch 64 (random weights written by Tessera, read by the eager PyTorch peer)
  bench_pair vit dev.tessera.bench.GpuVitBench --batch 64 --reps "$reps" --target-ms "$target_ms" \
      -- vit_torch.py --batch 64 --reps "$reps" --target-ms "$target_ms"
  rm -rf "$out/vit-random"
  # endregion vision
  # region text (#5)
  # MiniLM-shaped BERT (random weights: the real ones exceed the bundle); Tessera writes the weights that the peer reads
  bench_pair minilm dev.tessera.bench.GpuMiniLmBench --batches 1,8,32 --reps "$reps" --target-ms "$target_ms" \
      -- minilm_torch.py --batches 1,8,32 --reps "$reps" --target-ms "$target_ms"
  # endregion text
  # region dbm (#6)
  # The DBN's image RBM (784x500, batch 100): one CD-1 epoch over its 8,000 training digits = 80 steps of the
  # 784x500x100 case of the `rbm` pair above (GpuRbmBench vs rbm_torch.py on the same card); CPU side:
  # bench/results/dbm-cpu.json (RbmBench). No separate run here to keep the GPU session short.
  # endregion dbm
  # region speech (#7)
  bench_pair whisper dev.tessera.bench.GpuWhisperBench --sizes tiny,base --tokens 128 --reps 5 \
      -- whisper_transformers.py --sizes tiny,base --tokens 128 --reps 5
  # endregion speech
  # region chat (#8)
  llama_ckpt="${TMPDIR:-/tmp}/tessera-llama-gpu"
  bench_pair llama dev.tessera.bench.GpuLlamaBench --checkpoint "$llama_ckpt" --prompt 512 --decode 128 --reps 3 \
      -- llama_transformers.py --checkpoint "$llama_ckpt" --prompt 512 --decode 128 --reps 3
  rm -rf "$llama_ckpt"
  # endregion chat
fi

# ------------------------------------------------------------------ flash_wgmma under Nsight Compute and compute-sanitizer
# Issue #3's open item is flash_wgmma's speed (0.45-0.61x SDPA in run 5): Nsight Compute's full set on one launch
# of each schedule at 1 x 8 x 16384 x 128 (non-causal, the benchmark's case) and of the default one at the ViT-B/16
# shape says where its time goes (tensor pipe utilisation, warp stall reasons, L2 / shared-memory throughput, issue
# slots);
# compute-sanitizer's synccheck and racecheck run GpuWgmmaProbe's seven cases (the ping-pong schedule's named
# barriers, the three K / V buffers). Diagnostics, last in the run: each gets what is left of the budget.
cuda_tool() {  # cuda_tool NAME: the path of a CUDA toolkit tool, or nothing
  command -v "$1" 2>/dev/null && return
  ls /usr/local/cuda/bin/"$1" /usr/local/cuda-*/bin/"$1" /opt/nvidia/*/"$1" 2>/dev/null | head -1
}
if [ "$skip_bench" = 1 ] || [ "$wgmma_ab" != 1 ]; then
  record "ncu wgmma" "skipped (no benchmarks, or the WGMMA probe did not pass)"
  record "sanitize wgmma" "skipped (no benchmarks, or the WGMMA probe did not pass)"
else
  NCU=$(cuda_tool ncu)
  if [ -z "$NCU" ]; then record "ncu wgmma" "skipped: no ncu on this host"
  elif gate "ncu wgmma" "$skip_ncu" 45; then
    ncu_one() {  # ncu_one NAME SCHEDULE SHAPE: one profiled flash_wgmma launch (after 3 warm-up launches)
      log "Nsight Compute: flash_wgmma, $2 schedule, $3"
      TESSERA_WGMMA_SCHEDULE=$2 timeout "$(cap 90)" "$NCU" --kernel-name regex:flash_wgmma --launch-skip 3 \
          --launch-count 1 --set full --import-source no --page details --print-units base \
          "$JAVA" "${JOPTS[@]}" -cp "$CP" dev.tessera.bench.GpuAttentionBench --seqs "" --extra "$3" --kernels wgmma \
          --reps 1 --target-ms 5 --out "$out/ncu-$1-bench.json" > "$out/ncu-wgmma-$1.txt" 2>&1
      local rc=$?
      grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput|L2 Cache Throughput|Registers Per Thread|Achieved Occupancy|Issue Slots Busy|No Eligible" \
          "$out/ncu-wgmma-$1.txt" | head -12
      return $rc
    }
    ncu_rc=0
    [ "$ws_ok" = 1 ] && { ncu_one ws-16384x128 ws 1x8x16384x128 || ncu_rc=$?; }
    [ "$ws_ok" = 1 ] && [ "$(left)" -gt 40 ] && { ncu_one ws-16384x64 ws 1x8x16384x64 || ncu_rc=$?; }
    [ "$wsp_ok" = 1 ] && [ "$(left)" -gt 40 ] && { ncu_one wsp-vit wsp 64x12x197x64 || ncu_rc=$?; }
    [ "$(left)" -gt 40 ] && { ncu_one pingpong-16384x128 pingpong 1x8x16384x128 || ncu_rc=$?; }
    [ "$(left)" -gt 40 ] && { ncu_one lockstep-16384x128 lockstep 1x8x16384x128 || ncu_rc=$?; }
    [ "$(left)" -gt 40 ] && { ncu_one pingpong-vit pingpong 64x12x197x64 || ncu_rc=$?; }
    if [ "$ncu_rc" = 0 ]; then record "ncu wgmma" "ok (ncu-wgmma-*.txt)"
    else record "ncu wgmma" "FAILED rc=$ncu_rc (ncu-wgmma-*.txt; ERR_NVGPUCTRPERM there = no access to the counters)"; fi
  fi
  SAN=$(cuda_tool compute-sanitizer)
  if [ -z "$SAN" ]; then record "sanitize wgmma" "skipped: no compute-sanitizer on this host"
  elif gate "sanitize wgmma" "$skip_sanitize" 45; then
    san_rc=0
    # synccheck and racecheck on the ping-pong kernel; synccheck on flash_wgmma_ws too (its named barriers and
    # early-exiting producer warps) when its probe passed
    runs="synccheck:pingpong racecheck:pingpong"; [ "$ws_ok" = 1 ] && runs="synccheck:ws $runs"
    for run in $runs; do
      tool=${run%%:*}; sched=${run##*:}; tag=$tool; [ "$sched" = ws ] && tag=$tool-ws
      [ "$(left)" -gt 30 ] || break
      log "compute-sanitizer --tool $tool: GpuWgmmaProbe ($sched schedule)"
      TESSERA_WGMMA_SCHEDULE=$sched timeout "$(cap 120)" "$SAN" --tool "$tool" --error-exitcode 9 \
          --target-processes all "$JAVA" "${JOPTS[@]}" -cp "$CP" dev.tessera.bench.GpuWgmmaProbe \
          --out "$out/sanitize-$tag-probe.json" > "$out/sanitize-wgmma-$tag.txt" 2>&1 || san_rc=$?
      grep -E "ERROR SUMMARY|RACECHECK SUMMARY|hazard|Barrier|error" "$out/sanitize-wgmma-$tag.txt" | head -6
    done
    if [ "$san_rc" = 0 ]; then record "sanitize wgmma" "ok (sanitize-wgmma-*.txt)"
    else record "sanitize wgmma" "FAILED rc=$san_rc (sanitize-wgmma-*.txt)"; fi
  fi
fi

# ------------------------------------------------------------------ summary (the table last)
{
  echo
  echo "== summary ($(( $(date +%s) - T0 )) s; results in $out)"
  for k in "${order[@]}"; do printf '  %-14s %s\n' "$k" "${status[$k]}"; done
  if [ "$skip_bench" != 1 ] && [ -n "$PY" ]; then
    echo
    if [ -f "$out/gpu-matmul-tessera.json" ]; then
      "$PY" "$here/compare.py" "$out/gpu-matmul-tessera.json" "$out/gpu-matmul-torch.json" \
          --out "$out/gpu-matmul-summary.json"
      echo
    fi
    if [ -f "$out/gpu-attention-tessera.json" ]; then
      "$PY" "$here/compare.py" --kind attention "$out/gpu-attention-tessera.json" "$out/gpu-attention-torch.json" \
          --out "$out/gpu-attention-summary.json"
      echo
    fi
    for sched in ws ws2 ws3 wsp wsp2 wsp3 lockstep; do
      [ -f "$out/gpu-attention-$sched-tessera.json" ] || continue
      echo "flash_wgmma, $sched schedule (TESSERA_WGMMA_SCHEDULE=$sched; 'wgmma' above is the default, ping-pong):"
      "$PY" "$here/compare.py" --kind attention "$out/gpu-attention-$sched-tessera.json" \
          "$out/gpu-attention-torch.json" --out "$out/gpu-attention-$sched-summary.json"
      echo
    done
    if [ -f "$out/encoder-profile.txt" ]; then
      grep -E '^== |^GPU busy|^  forward ms' "$out/encoder-profile.txt"
      echo "(op-level tables: encoder-profile.txt, gpu-encoder-profile.json)"
    fi
    for f in "$out"/gpu-*-tessera.json; do
      n=$(basename "$f" -tessera.json); [ "$n" = gpu-matmul ] && continue; [ "$n" = gpu-attention ] && continue
      echo "$n: Tessera vs PyTorch figures in $n-tessera.json / $n-torch.json"
    done
  fi
} 2>&1 | tee "$out/summary.txt"
# pack everything into one archive (plus the summary) where the caller asked for results
# (without the random checkpoints the model benches write for their peers: they are regenerated from seeds and
# would push the archive past what comes back from the GPU host)
tar czf "$final_out/gpu-results.tar.gz" --exclude='./*-random' -C "$out" . && cp "$out/summary.txt" "$final_out/summary.txt" \
  && echo "results packed in $final_out/gpu-results.tar.gz"
for k in "${order[@]}"; do
  case "${status[$k]}" in ok|ok,*|skipped*|"missing (dry run)") ;; *) exit 1 ;; esac
done
exit 0
