#!/usr/bin/env bash
# The tessera-spark application as a cluster runs it: spark-submit (SparkSubmit from Spark's Maven jars, laid out as a
# Spark distribution) on a local-cluster master, i.e. a standalone master, 2 workers and executors in their own JVMs,
# with tessera-spark.jar and target/lib shipped by --jars. Then the outputs against the single-machine CLI:
# embeddings (all-MiniLM-L6-v2) vs `tessera embed`, ViT predictions vs `tessera classify`, LLaVA replies about
# each image vs `tessera chat --image`.
# Usage (repository root, after `mvn -B -o package -DskipTests -pl spark -am`): docs/verification/spark/local_cluster.sh [OUT]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
out="${1:-/tmp/tessera-spark-cluster}"
rm -rf "$out" && mkdir -p "$out"
cd "$root"
[ -f spark/target/tessera-spark.jar ] || { echo "build first: mvn -B -o package -DskipTests -pl spark -am" >&2; exit 2; }
spark_version=$(sed -n 's:.*<spark.version>\(.*\)</spark.version>.*:\1:p' pom.xml)

# A Spark "distribution": its jars from the local Maven repository (spark-sql and what it depends on).
mkdir -p "$out/pom" "$out/spark-home/jars"
cat > "$out/pom/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>local</groupId><artifactId>spark-dist</artifactId><version>1</version>
<dependencies><dependency><groupId>org.apache.spark</groupId><artifactId>spark-sql_2.13</artifactId>
<version>$spark_version</version></dependency></dependencies></project>
POM
(cd "$out/pom" && mvn -q -B -o dependency:build-classpath -Dmdep.outputFile="$out/pom/cp.txt") >/dev/null
tr ':' '\n' < "$out/pom/cp.txt" | while read -r j; do ln -s "$j" "$out/spark-home/jars/"; done
echo "Spark $spark_version (jars from Maven)" > "$out/spark-home/RELEASE"
export SPARK_HOME="$out/spark-home" SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1

# Inputs: 48 sentences (JSON lines), 9 images + one text file named .png
/usr/bin/python3 - "$out" <<'PY'
import json, random, sys, os
from PIL import Image
out = sys.argv[1]
random.seed(3)
words = "the a cat dog kitten sits on mat rug stock market fell rose quickly tessera spark executors batch rows".split()
with open(f"{out}/sentences.json", "w") as f:
    for i in range(48):
        f.write(json.dumps({"id": i, "text": " ".join(random.choice(words) for _ in range(1 + random.randrange(40)))}) + "\n")
os.makedirs(f"{out}/images")
for i in range(9):
    w, h = 20 + random.randrange(80), 20 + random.randrange(80)
    im = Image.frombytes("RGB", (w, h), bytes(random.randrange(256) for _ in range(w * h * 3)))
    im.save(f"{out}/images/img{i}." + ("jpg" if i % 3 == 0 else "png"))
open(f"{out}/images/notes.png", "w").write("not an image")
PY

opens=""
for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util java.util.concurrent \
    java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs sun.security.action sun.util.calendar; do
  opens="$opens --add-opens=java.base/$p=ALL-UNNAMED"
done
jars=$(ls -d "$root"/spark/target/lib/*.jar | tr '\n' ',' | sed 's/,$//')
extra=()  # more spark-submit options for the next submit
submit() {
  # shellcheck disable=SC2086
  java $opens -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.SparkSubmit --master "local-cluster[2,1,1536]" \
    --conf spark.driver.host=127.0.0.1 "${extra[@]}" --class dev.tessera.spark.BatchJob --jars "$jars" \
    "$root/spark/target/tessera-spark.jar" "$@"
}
t0=$(date +%s)
submit embed-text --model minilm --input "$out/sentences.json" --input-format json --output "$out/embeddings" \
  --output-format json --partitions 4 --batch 8 >"$out/embed.log" 2>&1 || { tail -40 "$out/embed.log"; exit 1; }
t1=$(date +%s)
# the ViT checkpoint shipped with the job: --archives unpacks it in each executor's working directory as vitmodel/
tar -czf "$out/vit-a.tgz" -C "$root/models/src/test/resources/vision/vit-a" .
extra=(--archives "$out/vit-a.tgz#vitmodel")
submit classify --model vitmodel --input "$out/images" --output "$out/labels" \
  --output-format json --top 3 --keep-errors --partitions 3 --batch 4 >"$out/classify.log" 2>&1 \
  || { tail -40 "$out/classify.log"; exit 1; }
extra=()
t2=$(date +%s)
llava="$root/models/src/test/resources/llava/llava-tiny"
submit generate --model "$llava" --input "$out/images" --glob 'img[0-3].*' --prompt "what is in this picture?" \
  --max-tokens 8 --output "$out/captions" --output-format json --partitions 2 >"$out/generate.log" 2>&1 \
  || { tail -40 "$out/generate.log"; exit 1; }
t3=$(date +%s)
# Spark's GPU scheduling: the worker offers one GPU (a discovery script), each executor and task takes it, and
# setDevice("auto") makes the task's device cuda:<address>. Without a GPU here the job must fail saying so.
printf '#!/bin/sh\necho '"'"'{"name": "gpu", "addresses": ["0"]}'"'"'\n' > "$out/gpu-discovery.sh"
chmod +x "$out/gpu-discovery.sh"
gpu_rc=0
# shellcheck disable=SC2086
java $opens -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.SparkSubmit --master "local-cluster[1,1,1536]" \
  --conf spark.driver.host=127.0.0.1 --conf spark.worker.resource.gpu.amount=1 \
  --conf spark.worker.resource.gpu.discoveryScript="$out/gpu-discovery.sh" --conf spark.executor.resource.gpu.amount=1 \
  --conf spark.task.resource.gpu.amount=1 --class dev.tessera.spark.BatchJob --jars "$jars" \
  "$root/spark/target/tessera-spark.jar" embed-text --model minilm --input "$out/sentences.json" --input-format json \
  --output "$out/gpu-embeddings" >"$out/gpu.log" 2>&1 || gpu_rc=$?
if command -v nvidia-smi >/dev/null 2>&1; then
  [ "$gpu_rc" = 0 ] || { tail -20 "$out/gpu.log"; exit 1; }
  echo "GPU resource: the tasks ran on the GPU Spark assigned"
else
  [ "$gpu_rc" != 0 ] && grep -q "device cuda:0 is not available" "$out/gpu.log" || { tail -20 "$out/gpu.log"; exit 1; }
  echo "GPU resource: the task assigned GPU 0 ran on cuda:0, which failed as it must here: $(grep -o 'device cuda:0 is not available: [^(]*' "$out/gpu.log" | head -1)"
fi
t4=$(date +%s)
echo "spark-submit embed-text: $((t1 - t0)) s, classify: $((t2 - t1)) s, generate: $((t3 - t2)) s (JVM and cluster start included)"
echo "models loaded per executor JVM:"
grep -h "ExecutorModels: loaded" "$SPARK_HOME"/work/*/*/stderr | sed 's/^.*ExecutorModels: /  /'

# The single-machine references through the CLI
/usr/bin/python3 -c "
import json,sys
rows=[json.loads(l) for l in open('$out/sentences.json')]
open('$out/texts.txt','w').write('\n'.join(r['text'] for r in rows))"
mapfile -t texts < "$out/texts.txt"
./tessera embed --model minilm --out "$out/ref.npy" --text "${texts[@]}" >/dev/null
./tessera classify "$out/images"/img* --model models/src/test/resources/vision/vit-a --top 3 --json > "$out/ref-labels.json"
for f in "$out/images"/img[0-3].*; do
  ./tessera chat --model "$llava" --image "$f" --max-tokens 8 --json "what is in this picture?" \
    > "$out/ref-chat-$(basename "$f").json" 2>/dev/null
done

/usr/bin/python3 - "$out" <<'PY'
import glob, json, sys
import numpy as np
out = sys.argv[1]
ref = np.load(f"{out}/ref.npy")
rows = [json.loads(l) for f in sorted(glob.glob(f"{out}/embeddings/part-*.json")) for l in open(f)]
assert len(rows) == 48, len(rows)
d = max(float(np.abs(np.array(r["embedding"], dtype=np.float32) - ref[r["id"]]).max()) for r in rows)
print(f"embeddings: {len(rows)} rows from the cluster, max |spark - tessera embed| = {d:.2e}")
assert d < 2e-6
want = {e["image"].split("/")[-1]: e["top"] for e in json.load(open(f"{out}/ref-labels.json"))}
got = [json.loads(l) for f in sorted(glob.glob(f"{out}/labels/part-*.json")) for l in open(f)]
assert len(got) == 10, len(got)
worst, errors = 0.0, 0
for g in got:
    name = g["path"].split("/")[-1]
    if name not in want:
        assert "predictions" not in g and "notes.png" in g["error"], g
        errors += 1
        continue
    assert [p["label"] for p in g["predictions"]] == [p["label"] for p in want[name]], name
    worst = max(worst, max(abs(p["prob"] - q["prob"]) for p, q in zip(g["predictions"], want[name])))
print(f"classify: {len(got) - errors} images, top-3 labels equal to tessera classify, max |prob diff| = {worst:.2e};"
      f" {errors} bad file kept with its error")
assert worst < 1e-5 and errors == 1
caps = [json.loads(l) for f in sorted(glob.glob(f"{out}/captions/part-*.json")) for l in open(f)]
assert len(caps) == 4, len(caps)
same = 0
for c in caps:
    name = c["path"].split("/")[-1]
    ref = json.load(open(f"{out}/ref-chat-{name}.json"))
    assert c["generated"] == ref["text"], (name, c["generated"], ref["text"])
    same += 1
print(f"generate (LLaVA): {same} replies equal to tessera chat --image, e.g. {caps[0]['generated']!r}")
print("local cluster: OK")
PY
