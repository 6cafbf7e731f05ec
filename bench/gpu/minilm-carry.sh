#!/usr/bin/env bash
# Prepares the real all-MiniLM-L6-v2 check for the GPU host (issue #5): the 90 MB ONNX file, ONNX Runtime and the
# tokenizer do not fit one 64 MiB device call, so ONNX Runtime's reference embeddings are computed here
# (dev.tessera.bench.MiniLmReference) and the model travels in pieces over several calls. Writes, at the repository root,
#   .minilm-carry/c1/   inputs.json (token ids + metadata), ort-embeddings.npy, SHA256SUMS, model.onnx.part1
#   .minilm-carry/c2/   model.onnx.part2   ... (at most 29 MiB each, less when the tracked tree leaves less of a
#                       call's 64 MiB: one cK + the tracked tree per call)
# and adds /.minilm-carry/ to .git/info/exclude (the device tool carries only git-ignored paths). Builds nothing:
# needs bench/target (mvn -o -DskipTests -pl bench -am install) and ONNX Runtime in the local Maven repository.
#
#   bench/gpu/minilm-carry.sh [MiniLmReference options: --n 200 --chunk-mib 29 --model minilm]
#
# Then: carry .minilm-carry/c1 in one call, c2 in the next, ... (back to back, on the same warm machine: a fresh
# machine has none of them), each call copying its folder to /tmp/tessera-minilm-carry/ (the next call removes
# carried folders it does not name); the last call carries bundle and runs bench/gpu/run.sh, which finds
# /tmp/tessera-minilm-carry and runs dev.tessera.bench.GpuMiniLmCheck (step "minilm check"). bench/gpu/README.md
# has the calls.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
case "${1:-}" in -h|--help) sed -n '2,15p' "$0"; exit 0 ;; esac

ort_v=$(sed -n 's:.*<onnxruntime.version>\(.*\)</onnxruntime.version>.*:\1:p' pom.xml | head -1)
repo="${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}"
ort="$repo/com/microsoft/onnxruntime/onnxruntime/$ort_v/onnxruntime-$ort_v.jar"
jar=$(ls bench/target/tessera-bench-*.jar 2>/dev/null | grep -v -- '-sources\|-javadoc' | head -1 || true)
[ -n "$jar" ] && [ -d bench/target/lib ] \
  || { echo "minilm-carry: no bench/target/tessera-bench-*.jar or bench/target/lib: build first" \
            "(mvn -o -DskipTests -pl bench -am install)" >&2; exit 1; }
[ -f "$ort" ] || { echo "minilm-carry: no ONNX Runtime $ort_v at $ort (mvn -o dependency:resolve -pl bench)" >&2; exit 1; }

out="$root/.minilm-carry"
# pieces sized to what the tracked tree leaves of a call's 64 MiB (less 1 MiB for c1's ids and embeddings), unless
# --chunk-mib is given (2026-11-29: a 36.5 MiB tree left room for 26 MiB pieces, 4 calls)
tracked=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
chunk=()
case " $* " in
  *" --chunk-mib "*) ;;
  *) chunk=(--chunk-mib "$(awk -v b="$tracked" 'BEGIN { c = int(63 - b / 1048576); print (c > 29 ? 29 : c) }')") ;;
esac
java -cp "$jar:bench/target/lib/*:$ort" dev.tessera.bench.MiniLmReference --out "$out" "${chunk[@]}" "$@"

exclude="$(git rev-parse --git-path info/exclude)"
mkdir -p "$(dirname "$exclude")"
grep -qxF '/.minilm-carry/' "$exclude" 2>/dev/null || echo '/.minilm-carry/' >> "$exclude"

echo
echo "minilm-carry: $out"
k=0
for c in $(ls -d "$out"/c[0-9]* | sort -V); do
  k=$((k + 1))
  bytes=$(du -sb "$c" | cut -f1)
  printf '  %-4s %6.1f MiB  %s\n' "$(basename "$c")" "$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }')" \
      "$(cd "$c" && ls | tr '\n' ' ')"
done
echo "  (tracked tree $(awk -v b="$tracked" 'BEGIN { printf "%.1f", b / 1048576 }') MiB travels with every call; 64 MiB per call)"
echo
echo "usage: carry .minilm-carry/c1 in one call, c2 in the next, ... c$k (back to back, same warm machine), each"
echo "       with the command 'mkdir -p /tmp/tessera-minilm-carry && cp -r .minilm-carry/cK /tmp/tessera-minilm-carry/'"
echo "       (a call removes the carried folders it does not name); the last call carries bundle and runs"
echo "       bench/gpu/run.sh, which finds /tmp/tessera-minilm-carry and runs GpuMiniLmCheck (bench/gpu/README.md)"
