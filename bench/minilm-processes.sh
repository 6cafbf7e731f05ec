#!/usr/bin/env bash
# MiniLmBench in several fresh JVMs, one after the other, and the per-batch medians over them.
#
# Both sides are bimodal from process to process on small VMs (ONNX Runtime's batch-8 forward at ~135 or ~155 ms,
# Tessera's batch-1 forward at ~14 or ~15.5 ms, a mode held for the life of the process), so one process's ratio
# says little; this runs N processes and reports, per batch, every process's ratio and the median of them.
#
#   bench/minilm-processes.sh [N=5] [MiniLmBench options, e.g. --rounds 7 --batches 1,8,32]
#
# Needs the bench built (mvn -B -DskipTests install -pl bench -am) and ONNX Runtime 1.29.0 in the local Maven
# repository (a test dependency of models). Writes bench/results/minilm-cpu-processes.json (each process's JSON
# under "processes", the medians under "medianRatio") and prints a table. TESSERA_NUM_THREADS defaults to 2.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
n="${1:-5}"
[ $# -gt 0 ] && shift
case "$n" in ''|*[!0-9]*) echo "minilm-processes: N must be a number, got '$n'" >&2; exit 2 ;; esac
[ "$n" -ge 1 ] || { echo "minilm-processes: N must be at least 1" >&2; exit 2; }
jar="$(ls bench/target/tessera-bench-*.jar 2>/dev/null | grep -v -e '-sources' -e '-tests' | head -1 || true)"
ort="${HOME}/.m2/repository/com/microsoft/onnxruntime/onnxruntime/1.29.0/onnxruntime-1.29.0.jar"
[ -n "$jar" ] && [ -d bench/target/lib ] || { echo "minilm-processes: build the bench first (mvn -B -DskipTests install -pl bench -am)" >&2; exit 1; }
[ -f "$ort" ] || { echo "minilm-processes: $ort is missing (mvn -B -DskipTests install once fetches it)" >&2; exit 1; }
export TESSERA_NUM_THREADS="${TESSERA_NUM_THREADS:-2}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for i in $(seq 1 "$n"); do
  echo "minilm-processes: process $i of $n (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  java -cp "$jar:bench/target/lib/*:$ort" dev.tessera.bench.MiniLmBench --out "$tmp/run-$i.json" "$@" \
    > "$tmp/log-$i.txt" 2>&1 || { cat "$tmp/log-$i.txt" >&2; exit 1; }
done
python3 - "$tmp" "$n" bench/results/minilm-cpu-processes.json <<'EOF'
import json, statistics, sys
tmp, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = [json.load(open(f"{tmp}/run-{i}.json")) for i in range(1, n + 1)]
batches = [r["batch"] for r in runs[0]["results"]]
def col(b, key):
    return [next(r[key] for r in run["results"] if r["batch"] == b) for run in runs]
summary = {}
print(f"\n{'batch':<6} {'median ratio':>12} {'ratios (one per process)':<40} {'Tessera ms (median)':>20} {'ORT ms (median)':>16}")
for b in batches:
    ratios, tms, oms = col(b, "ratio"), col(b, "tesseraMsPerBatch"), col(b, "ortMsPerBatch")
    summary[str(b)] = {"medianRatio": statistics.median(ratios), "ratios": ratios,
                       "medianTesseraMsPerBatch": statistics.median(tms), "medianOrtMsPerBatch": statistics.median(oms),
                       "tesseraMsPerBatch": tms, "ortMsPerBatch": oms}
    print(f"{b:<6} {statistics.median(ratios):>12.2f} {' '.join(f'{x:.2f}' for x in ratios):<40} "
          f"{statistics.median(tms):>20.1f} {statistics.median(oms):>16.1f}")
doc = {"benchmark": runs[0]["benchmark"] + ", in " + str(n) + " fresh processes",
       "method": "bench/minilm-processes.sh: MiniLmBench run in each process as its own javadoc says; per batch the "
                 "median over the processes of each process's ratio (Tessera sentences/s / ORT sentences/s)",
       "processesRun": n, "medianRatio": summary, "processes": runs}
json.dump(doc, open(out, "w"), indent=1)
print(f"\nwrote {out}")
EOF
