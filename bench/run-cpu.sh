#!/usr/bin/env bash
# CPU benchmarks: Ops.matmul vs OpenBLAS's cblas_sgemm (256, 1024) and the Java->native round trip.
# Builds bench and what it needs if missing or stale, then runs dev.tessera.bench.BenchMain, which writes
# bench/results/cpu-matmul.json and prints a table of the ratios.
#   bench/run-cpu.sh                          forks 1, warm-up 2 x 1s, measurement 3 x 1s
#   bench/run-cpu.sh --iterations 5 --time 2s --sizes 256,512,1024 --only matmul
# Environment: TESSERA_MVN_OPTS (extra Maven options, e.g. -Dtessera.cuda=OFF), TESSERA_REBUILD=1,
#              TESSERA_NO_BUILD=1 (never build; use what is in bench/target),
#              BENCH_JAVA_OPTS (options for the JMH launcher JVM).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

jar() { ls bench/target/tessera-bench-*.jar 2>/dev/null | grep -v -e '-sources' -e '-tests' | head -1; }
needs_build() {
  [ "${TESSERA_REBUILD:-0}" = 1 ] && return 0
  local j; j="$(jar)"
  [ -n "$j" ] && [ -d bench/target/lib ] || return 0
  [ -n "$(find pom.xml cmake native bindings runtime models bench \( -path '*/target' -prune \) -o \
          -type f -newer "$j" -print -quit 2>/dev/null)" ]
}
if [ "${TESSERA_NO_BUILD:-0}" != 1 ] && needs_build; then
  echo "run-cpu: building (mvn -q -B -DskipTests install -pl bench -am ${TESSERA_MVN_OPTS:-})..." >&2
  if ! mvn -q -B -DskipTests ${TESSERA_MVN_OPTS:-} install -pl bench -am >&2; then
    if [ -n "$(jar)" ] && [ -d bench/target/lib ]; then
      echo "run-cpu: WARNING: the build failed; benchmarking the previous build in bench/target" >&2
    else
      echo "run-cpu: the build failed and there is no previous build" >&2; exit 1
    fi
  fi
fi
exec java ${BENCH_JAVA_OPTS:-} -cp "$(jar):bench/target/lib/*" dev.tessera.bench.BenchMain "$@"
