#!/usr/bin/env bash
# Builds ./bundle/ (git-ignored): everything a GPU host needs to run the CUDA tests and GPU benchmarks
# with no JDK, no Maven and no network. Runs on the build machine, from anywhere in the repository.
#
#   bench/gpu/make-bundle.sh              mvn -B -DskipTests install (CUDA kernels built where nvcc is), then bundle
#   bench/gpu/make-bundle.sh --no-build   bundle what is already built
#   TESSERA_MVN_OPTS='-Dtessera.cuda.archs=90-real' bench/gpu/make-bundle.sh   fewer CUDA archs, smaller library
#   TESSERA_BUNDLE_EXTRAS=tok,tmpl bench/gpu/make-bundle.sh   optional parts, in order, while there is room (below)
#
# bundle/
#   jre/       jlink runtime (java.base, jdk.unsupported, java.management, jdk.management, jdk.zipfs, java.sql;
#              + java.desktop with the tmpl extra
#              -> java.logging, java.xml: JUnit's console launcher and its XML reports need these)
#   lib/       project jars, tessera-runtime-tests.jar and tessera-models-tests.jar (the runtime's and the models'
#              test classes, no resources: run.sh takes the fixtures from {runtime,models}/src/test/resources), runtime jars
#              (javacpp, cuda + linux-x86_64, slf4j, picocli, jackson), junit-platform-console-standalone
#              NOT openblas/opencv/ffmpeg (too big for the 64 MiB upload): the CPU backend's products run on
#              Tessera's packed GEMM there (no OpenBLAS), the other CPU ops (libtessera) as usual.
#   gpu/       run.sh, *.py, README.md (copies; run.sh is normally run from the repository: bench/gpu/run.sh)
#   bin/tessera   the CLI through the bundled java
#   MANIFEST.txt  commit, date, sizes
# jre/ and lib/ travel as jre.tar.xz and lib.tar.xz (the jars stored uncompressed inside: xz packs them better);
# run.sh unpacks both on the GPU host.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
LIMIT_MIB=60
build=1
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "make-bundle: unknown option $a" >&2; exit 2 ;;
  esac
done

if [ "$build" = 1 ]; then
  command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ] \
    || echo "make-bundle: WARNING: no nvcc here: libtessera will have no CUDA kernels" >&2
  # The GPU hosts are H100/H200 (sm_90): build only that architecture (+ PTX) unless told otherwise, which keeps
  # libtessera (inside the bindings jar) small enough for the 64 MiB upload.
  opts="${TESSERA_MVN_OPTS:--Dtessera.cuda.archs=90-real;90-virtual}"
  echo "make-bundle: mvn -B -q -DskipTests install $opts" >&2
  mvn -B -q -DskipTests $opts install
fi

v=$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' pom.xml | head -1)     # project version (first <version>)
junit=$(sed -n 's:.*<junit.version>\(.*\)</junit.version>.*:\1:p' pom.xml | head -1)
[ -n "$junit" ] || { echo "make-bundle: no <junit.version> in pom.xml" >&2; exit 1; }
case "$junit" in 5.*) platform="1.${junit#5.}" ;; *) platform="$junit" ;; esac   # JUnit 6: one version

need() { [ -f "$1" ] || { echo "make-bundle: missing $1 (build first, without --no-build)" >&2; exit 1; }; }
jars=(bindings/target/tessera-bindings-$v.jar runtime/target/tessera-runtime-$v.jar
      models/target/tessera-models-$v.jar bench/target/tessera-bench-$v.jar cli/target/tessera-cli.jar)
for j in "${jars[@]}"; do need "$j"; done
[ -d runtime/target/test-classes ] || { echo "make-bundle: runtime/target/test-classes missing" >&2; exit 1; }
[ -d cli/target/lib ] && [ -d bench/target/lib ] || { echo "make-bundle: */target/lib missing" >&2; exit 1; }

rm -rf bundle
mkdir -p bundle/lib bundle/gpu bundle/bin

# --- Java runtime
modules=java.base,jdk.unsupported,java.management,jdk.management,java.sql,jdk.zipfs
# Jinjava (the tmpl extra) needs java.beans, i.e. java.desktop (+5.4 MB as xz): only when tmpl is asked for
case ",${TESSERA_BUNDLE_EXTRAS:-tok}," in *,tmpl,*) modules+=,java.desktop ;; esac
# Uncompressed here: the whole jre is xz-compressed at the end, which packs far better than jlink's zip.
build_jre() {  # bundle/jre with $modules
  rm -rf bundle/jre
  jlink --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=0 \
        --strip-native-debug-symbols=exclude-debuginfo-files --output bundle/jre 2>/dev/null \
    || jlink --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=0 --output bundle/jre
  if command -v strip >/dev/null 2>&1; then
    find bundle/jre -name '*.so' -exec strip --strip-unneeded {} \; 2>/dev/null || true
  fi
}
build_jre

# --- jars: ours, the runtime dependencies of cli and bench minus the big native presets and JMH
for j in "${jars[@]}"; do cp "$j" bundle/lib/; done
# The runtime's and the models' test classes without their resources (dev/ only): the fixtures are tracked files
# under {runtime,models}/src/test/resources, which travel with the working tree; run.sh puts those folders on the path.
[ -d runtime/target/test-classes/dev ] || { echo "make-bundle: runtime/target/test-classes missing" >&2; exit 1; }
jar --create --file "$root/bundle/lib/tessera-runtime-tests-$v.jar" -C runtime/target/test-classes dev
[ -d models/target/test-classes/dev ] || { echo "make-bundle: models/target/test-classes missing" >&2; exit 1; }
jar --create --file "$root/bundle/lib/tessera-models-tests-$v.jar" -C models/target/test-classes dev
# Not needed by the CUDA tests and GPU benches (tokenizers, chat templates, plots, Maven resolution are not used
# there) and too big for the 64 MiB upload: the DJL tokenizers jar alone carries natives for every OS (18 MB; a
# linux-x86_64-only repack travels separately as tok.tar.xz when there is room, below).
skip='^(openblas|opencv|ffmpeg|langchain4j|onnxruntime|jlama|jmh-core|jmh-generator|commons-math3|jopt-simple|tessera-|junit-|opentest4j|apiguardian'
skip+='|tokenizers|api-0|xchart|VectorGraphics2D|graphics2d|animated-gif-lib|pdfbox|fontbox|jinjava|hubspot-style|immutable|derive4j'
skip+='|java-ipv6|javassist|re2j|big-math|algebra|guava|failureaccess|listenablefuture|checker-qual|j2objc|jsr305|error_prone'
skip+='|commons-|jcl-over-slf4j|maven-|plexus-|httpclient|httpcore|jna|snakeyaml|jackson-dataformat-yaml|gson|encode|asm'
# TwelveMonkeys' TIFF reader needs java.desktop, which the bundled jre leaves out (TIFF samples then come from OpenCV)
skip+='|imageio-|common-lang-|common-io-|common-image-)'
for d in cli/target/lib bench/target/lib; do
  for j in "$d"/*.jar; do
    b=$(basename "$j")
    [[ "$b" =~ $skip ]] && continue
    [ -f "bundle/lib/$b" ] || cp "$j" bundle/lib/
  done
done
# test-scope extras of runtime (beyond JUnit, which the console launcher carries)
tmp=$(mktemp -d)
mvn -B -q dependency:copy-dependencies -pl runtime -DincludeScope=test -DoutputDirectory="$tmp" >/dev/null
for j in "$tmp"/*.jar; do
  b=$(basename "$j")
  [[ "$b" =~ $skip ]] && continue
  [ -f "bundle/lib/$b" ] || cp "$j" bundle/lib/
done
rm -rf "$tmp"
mvn -B -q dependency:copy -Dartifact="org.junit.platform:junit-platform-console-standalone:$platform" \
    -DoutputDirectory="$root/bundle/lib" -Dmdep.stripVersion=false >/dev/null
need "bundle/lib/junit-platform-console-standalone-$platform.jar"

# --- scripts
cp bench/gpu/run.sh bench/gpu/cli-check.sh bench/gpu/*.py bench/gpu/README.md bundle/gpu/
cat > bundle/bin/tessera <<'SH'
#!/usr/bin/env bash
# tessera CLI through the bundle's own java (no JDK needed).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "$here/jre/bin/java" ${TESSERA_JAVA_OPTS:-} -cp "$here/lib/*" dev.tessera.cli.TesseraCli "$@"
SH
chmod +x bundle/bin/tessera bundle/gpu/*.sh

# --- what it holds
unzip -l bindings/target/tessera-bindings-$v.jar | awk '/libtessera|libjni/ {printf "  %s %s\n", $1, $4}' > bundle/.natives
{
  echo "Tessera GPU bundle"
  echo "commit:  $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo "built:   $(date -Is) on $(hostname)"
  echo "java:    $(bundle/jre/bin/java -version 2>&1 | head -1) modules: $(bundle/jre/bin/java --list-modules | cut -d@ -f1 | tr '\n' ' ')"
  echo "junit:   jupiter $junit, console launcher $platform"
  echo "natives in tessera-bindings:"; cat bundle/.natives
  echo "sizes (bytes):"
  echo "  jre $(du -sb bundle/jre | cut -f1)"
  (cd bundle/lib && for f in *.jar; do printf '  %9d %s\n' "$(stat -c %s "$f")" "$f"; done)
} > bundle/MANIFEST.txt
rm -f bundle/.natives

# --- smoke test: the bundled java starts and tessera info works (CUDA unavailable here is fine)
bundle/jre/bin/java -version >/dev/null 2>&1 || { echo "make-bundle: bundle/jre/bin/java does not start" >&2; exit 1; }
if ! bundle/bin/tessera info --json > bundle/info-build-machine.json 2> bundle/info-build-machine.err; then
  echo "make-bundle: 'tessera info --json' failed through the bundle:" >&2; cat bundle/info-build-machine.err >&2; exit 1
fi
rm -f bundle/info-build-machine.err
if ! grep -q '"cudaKernels" : true' bundle/info-build-machine.json; then
  echo "make-bundle: WARNING: libtessera in the bundle has NO CUDA kernels (built without nvcc or -Dtessera.cuda=OFF);" \
       "the CUDA backend will be unavailable on the GPU host" >&2
fi

cat bundle/MANIFEST.txt
# The jars travel stored (no compression) inside one lib.tar.xz: xz packs their contents far better than zip does
# (22 MB of jars -> ~12 MB). Each jar keeps its manifest (main class, signatures' digests); run.sh unpacks lib.tar.xz.
tmpx=$(mktemp -d)
for j in bundle/lib/*.jar; do
  rm -rf "$tmpx/x"; mkdir "$tmpx/x"
  (cd "$tmpx/x" && jar xf "$root/$j")
  if [ -f "$tmpx/x/META-INF/MANIFEST.MF" ]; then
    jar --create --no-compress --file "$tmpx/r.jar" --manifest "$tmpx/x/META-INF/MANIFEST.MF" -C "$tmpx/x" .
  else
    jar --create --no-compress --file "$tmpx/r.jar" -C "$tmpx/x" .
  fi
  mv "$tmpx/r.jar" "$j"
done
rm -rf "$tmpx"
# the same smoke test on the repacked jars, and the console launcher still starts as a -jar
bundle/bin/tessera info --json > /dev/null 2>&1 || { echo "make-bundle: tessera info fails on the repacked jars" >&2; exit 1; }
bundle/jre/bin/java -jar bundle/lib/junit-platform-console-standalone-$platform.jar --help > /dev/null 2>&1 \
  || { echo "make-bundle: the repacked JUnit console launcher does not start" >&2; exit 1; }
rm -rf bundle/lib.tar.xz
tar -C bundle -cf - lib | xz -T2 -9 > bundle/lib.tar.xz
rm -rf bundle/lib
# The JRE travels as jre.tar.xz (jlink'd uncompressed, then xz: ~12 MB instead of 35 MB); run.sh unpacks it.
pack_jre() {
  rm -rf bundle/jre.tar.xz
  tar -C bundle -cf - jre | xz -T2 -9 > bundle/jre.tar.xz
  rm -rf bundle/jre
}
pack_jre
bytes=$(du -sb bundle | cut -f1)
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
echo "make-bundle: bundle/ is $mib MiB ($bytes bytes); limit $LIMIT_MIB MiB (64 MiB with the repository)"
if [ "$bytes" -ge $((LIMIT_MIB * 1048576)) ]; then
  echo "make-bundle: bundle too large" >&2; exit 1
fi
# The device tool sends the working tree (tracked files) AND the carried bundle: 64 MiB in all.
tracked=$(git -C "$root" ls-files -z | (cd "$root" && xargs -0 du -cb 2>/dev/null || true) | tail -1 | cut -f1)  # (absent files do not travel)
total=$((bytes + tracked))
echo "make-bundle: with the tracked files ($(awk -v b="$tracked" 'BEGIN { printf "%.1f", b / 1048576 }') MiB) the upload is" \
     "$(awk -v b="$total" 'BEGIN { printf "%.1f", b / 1048576 }') MiB of 64 MiB"
# --- extras, each added only while the upload stays under 63.5 MiB (of the 64 the device tool takes), in the order
# of TESSERA_BUNDLE_EXTRAS (default "tok"; run.sh adds them to lib/):
#   tok   DJL's tokenizers (its jar repacked with the linux-x86_64 natives only, 3.4 MB as xz instead of 18 MB) and
#         DJL's api jar: `clip --labels` and `embed --text` on the GPU host (cli-check.sh)
#   tmpl  Jinjava and its dependencies (guava, javassist, ...; 2.9 MB) and java.desktop in the jre (java.beans,
#         ~4 MiB): chat templates (CudaLlamaTest's chat batch). With tok that is 11.3 MiB more than the default
#         bundle: more than a 37.2 MiB tracked tree leaves (run 6 made room by taking the 9 MB DBM demo checkpoint,
#         data/dbm-checkpoint/model.safetensors, out of the work tree for that call; no GPU step reads it). When
#         tmpl finds no room the jre is built again without java.desktop and the other extras tried again.
# Each travels as NAME.tar.xz holding lib/*.jar stored uncompressed (xz packs them better).
pack_extra() {  # pack_extra NAME DESCRIPTION DIR: DIR/lib/*.jar -> bundle/NAME.tar.xz if there is room
  local name=$1 what=$2 dir=$3 tb
  tar -C "$dir" -cf - lib | xz -T2 -9 > "bundle/$name.tar.xz"
  tb=$(stat -c %s "bundle/$name.tar.xz")
  if [ $((total + tb)) -lt $((127 * 524288)) ]; then  # 63.5 MiB
    total=$((total + tb))
    echo "make-bundle: + $name.tar.xz ($what: $tb bytes): the upload is" \
         "$(awk -v b="$total" 'BEGIN { printf "%.1f", b / 1048576 }') MiB of 64 MiB"
  else
    rm -f "bundle/$name.tar.xz"
    echo "make-bundle: no room for $name.tar.xz ($what, $tb bytes): not carried (TESSERA_BUNDLE_EXTRAS orders them)"
  fi
}
stored_copy() {  # stored_copy JAR DIR [linux]: JAR repacked without compression into DIR (manifest kept); with
                 # "linux", its native/lib/* folders other than linux-x86_64 left out
  local x d
  x=$(mktemp -d)
  (cd "$x" && jar xf "$root/$1")
  if [ "${3:-}" = linux ]; then
    for d in "$x"/native/lib/*/; do [ "$(basename "$d")" = linux-x86_64 ] || rm -rf "$d"; done
  fi
  if [ -f "$x/META-INF/MANIFEST.MF" ]; then
    jar --create --no-compress --file "$2/$(basename "$1")" --manifest "$x/META-INF/MANIFEST.MF" -C "$x" .
  else
    jar --create --no-compress --file "$2/$(basename "$1")" -C "$x" .
  fi
  rm -rf "$x"
}
add_extras() {  # add_extras LIST: the extras of LIST (comma-separated), in order, while there is room
IFS=, read -r -a extras <<< "$1"
for extra in "${extras[@]}"; do
  case "$extra" in
    tok)
      tokjar=$(ls cli/target/lib/tokenizers-*.jar 2>/dev/null | head -1)
      apijar=$(ls cli/target/lib/api-[0-9]*.jar 2>/dev/null | head -1)
      if [ -z "$tokjar" ] || [ -z "$apijar" ]; then echo "make-bundle: no DJL tokenizers in cli/target/lib" >&2; continue; fi
      tmpt=$(mktemp -d)
      mkdir -p "$tmpt/lib"
      stored_copy "$tokjar" "$tmpt/lib" linux
      cp "$apijar" "$tmpt/lib/"
      pack_extra tok "DJL tokenizers, linux-x86_64 only, and DJL api" "$tmpt"
      rm -rf "$tmpt" ;;
    tmpl)
      tmpl_jars='^(jinjava|guava|failureaccess|listenablefuture|jsr305|checker-qual|j2objc|javassist|re2j|commons-lang3'
      tmpl_jars+='|commons-net|java-ipv6|jackson-dataformat-yaml|snakeyaml|big-math|error_prone|immutables-exceptions'
      tmpl_jars+='|algebra|hubspot-style|immutable-collection-encodings|encode|derive4j-annotation)-'
      tmpt=$(mktemp -d)
      mkdir -p "$tmpt/lib"
      n=0
      for j in cli/target/lib/*.jar; do
        b=$(basename "$j")
        [[ "$b" =~ $tmpl_jars ]] || continue
        stored_copy "$j" "$tmpt/lib"; n=$((n + 1))
      done
      if [ "$n" = 0 ]; then echo "make-bundle: no Jinjava in cli/target/lib" >&2; rm -rf "$tmpt"; continue; fi
      pack_extra tmpl "Jinjava and its $((n - 1)) dependencies" "$tmpt"
      rm -rf "$tmpt" ;;
    "") ;;
    *) echo "make-bundle: unknown extra '$extra' in TESSERA_BUNDLE_EXTRAS (tok, tmpl)" >&2; exit 2 ;;
  esac
done
}
rm -f bundle/tok.tar.xz bundle/tmpl.tar.xz
add_extras "${TESSERA_BUNDLE_EXTRAS:-tok}"
# tmpl asked for but not carried: java.desktop (in the jre for Jinjava alone, ~4 MiB) only takes room the other
# extras could use, so the jre is built again without it and the other extras tried again
if [[ ",${TESSERA_BUNDLE_EXTRAS:-tok}," == *,tmpl,* ]] && [ ! -f bundle/tmpl.tar.xz ]; then
  echo "make-bundle: tmpl not carried: the jre again without java.desktop, then the other extras again"
  modules=${modules/,java.desktop/}
  rm -f bundle/tok.tar.xz
  build_jre
  bundle/jre/bin/java -version >/dev/null 2>&1 || { echo "make-bundle: bundle/jre/bin/java does not start" >&2; exit 1; }
  pack_jre
  echo "jre rebuilt without java.desktop (tmpl not carried): modules $modules" >> bundle/MANIFEST.txt
  bytes=$(du -sb bundle | cut -f1)
  total=$((bytes + tracked))
  echo "make-bundle: bundle/ is now $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB; the upload" \
       "$(awk -v b="$total" 'BEGIN { printf "%.1f", b / 1048576 }') MiB of 64 MiB"
  rest=$(echo ",${TESSERA_BUNDLE_EXTRAS:-tok}," | sed 's/,tmpl,/,/g; s/^,//; s/,$//')
  add_extras "$rest"
  echo "make-bundle: for tmpl too, make room in the upload (run 6 moved data/dbm-checkpoint/model.safetensors out of" \
       "the work tree for that call: bench/gpu/README.md)"
fi
if [ "$total" -ge $((64 * 1048576)) ]; then
  echo "make-bundle: upload too large: shrink the bundle (e.g. a compressed jre) or the tracked data/fixtures" >&2; exit 1
fi
