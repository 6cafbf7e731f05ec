#!/usr/bin/env bash
# The CLI contracts of issues 3 and 4 on the GPU: each command run with --device cpu and --device cuda on the same
# inputs (16 kHz WAVs of cli/src/test/resources/logmel, read without FFmpeg, which the bundle leaves out; the
# random-weight ViT / CLIP checkpoints of models/src/test/resources/vision and their preprocessed pixels: the bundle
# carries no OpenCV to decode images), and the outputs compared:
#   logmel (padded, 128 mels; --no-pad, 80 mels)  max abs difference <= 1e-4 (issue 3's bound on the features)
#   classify (.npy of pixels; three ViT shapes)    logits relative error <= 1e-4 (issue 4's fp32 bound)
#   embed --image (two CLIP shapes)                cosine per row >= 0.9999
#   clip --json, embed --text (where the DJL tokenizers jar is on the class path: in the GPU bundle when
#   make-bundle.sh had room for tok.tar.xz)
#                                                  probabilities max abs difference <= 1e-4, cosine >= 0.9999
# Called by run.sh after the CUDA tests; also runs alone from the repository root:
#   bench/gpu/cli-check.sh JAVA "CLASSPATH" OUTDIR [DEVICE]
# DEVICE (default cuda) is what is compared with cpu: `cpu` makes a dry run of this script on a build machine.
# Prints one line per check; exit status 0 when every check passed, 1 otherwise.
set -uo pipefail
JAVA=${1:?java}; CP=${2:?class path}; out=${3:?output folder}; dev=${4:-cuda}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
vision="$root/models/src/test/resources/vision"
PY=$(command -v python3 || command -v python || true)
mkdir -p "$out"
failed=0

cli() { # cli NAME DEVICE ARGS...: runs one command, stdout to NAME-DEVICE.out
  local name=$1 d=$2; shift 2
  timeout 120 "$JAVA" ${CLI_JOPTS:-} -cp "$CP" dev.tessera.cli.TesseraCli "$@" --device "$d" \
      > "$out/$name-$d.out" 2> "$out/$name-$d.err"
}

check() { # check NAME KIND: compares NAME-cpu.* with NAME-$dev.* (KIND: abs / rel / cos / probs)
  local name=$1 kind=$2
  "$PY" - "$out" "$name" "$dev" "$kind" <<'PYEOF'
import json, sys
import numpy as np
out, name, dev, kind = sys.argv[1:]
if kind == 'probs':
    def probs(d):
        rows = json.load(open('%s/%s-%s.out' % (out, name, d)))  # [{"image", "label", "probs": {label: p}}]
        return np.array([float(p) for r in rows for _, p in sorted(r['probs'].items())])
    a, b = probs('cpu'), probs(dev)
    err = float(np.max(np.abs(a - b))) if a.size and a.size == b.size else float('inf')
    ok = err <= 1e-4
    print('%-22s %s vs cpu: %d probabilities, max abs diff %.2e %s' % (name, dev, a.size, err, 'ok' if ok else 'FAILED'))
else:
    a = np.load('%s/%s-cpu.npy' % (out, name)).astype(np.float64)
    b = np.load('%s/%s-%s.npy' % (out, name, dev)).astype(np.float64)
    if a.shape != b.shape:
        print('%-22s shapes differ: cpu %s, %s %s FAILED' % (name, a.shape, dev, b.shape)); sys.exit(1)
    if kind == 'abs':
        err = float(np.max(np.abs(a - b))); ok = err <= 1e-4; what = 'max abs diff'
    elif kind == 'rel':
        err = float(np.linalg.norm(a - b) / max(np.linalg.norm(a), 1e-30)); ok = err <= 1e-4; what = 'rel err'
    else:
        a2, b2 = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
        cos = np.sum(a2 * b2, 1) / np.maximum(np.linalg.norm(a2, axis=1) * np.linalg.norm(b2, axis=1), 1e-30)
        err = float(np.min(cos)); ok = err >= 0.9999; what = 'min cosine'
    print('%-22s %s vs cpu: %s, %s %.2e %s' % (name, dev, 'x'.join(map(str, a.shape)), what, err, 'ok' if ok else 'FAILED'))
sys.exit(0 if ok else 1)
PYEOF
}

run_pair() { # run_pair NAME KIND OUTFLAG ARGS...: OUTFLAG names the option taking the .npy (or - for stdout JSON)
  local name=$1 kind=$2 flag=$3; shift 3
  local d rc=0
  for d in cpu "$dev"; do
    if [ "$flag" = - ]; then cli "$name" "$d" "$@"; else cli "$name" "$d" "$@" "$flag" "$out/$name-$d.npy"; fi
    local r=$?
    if [ $r != 0 ]; then
      echo "$(printf '%-22s' "$name") --device $d exited $r: $(tail -1 "$out/$name-$d.err")"; rc=1
    fi
  done
  if [ $rc = 0 ]; then check "$name" "$kind" || rc=1; fi
  [ $rc = 0 ] || failed=1
}

if [ -z "$PY" ] || ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "cli-check: python3 with numpy is needed to compare the outputs"; exit 1
fi
wavs="$root/cli/src/test/resources/logmel"
run_pair logmel-pad128 abs --out logmel "$wavs/stereo.wav" --n-mels 128
run_pair logmel-nopad80 abs --out logmel "$wavs/loud_f32.wav" --no-pad
for m in vit-a vit-b vit-c; do
  run_pair "classify-$m" rel --logits-out classify "$vision/$m/pixels.npy" --model "$vision/$m" --batch 2 --top 3
done
run_pair embed-image-a cos --out embed --model "$vision/clip-a" --image "$vision/clip-a/pixels.npy"
run_pair embed-image-b cos --out embed --model "$vision/clip-b" --image "$vision/clip-b/pixels.npy"
has_tokenizers() { # whether an entry of $CP is (or a folder/* entry holds) DJL's tokenizers jar
  local e IFS=:
  for e in $CP; do
    case "$e" in
      */\*) compgen -G "${e%\*}tokenizers-*.jar" >/dev/null && return 0 ;;
      *tokenizers-*.jar) [ -f "$e" ] && return 0 ;;
    esac
  done
  return 1
}
if has_tokenizers; then
  run_pair clip-probs probs - clip "$vision/clip-a/pixels.npy" --model "$vision/clip-a" --labels "a cat,a dog,a car" --json
  run_pair embed-text cos --out embed --model "$vision/clip-a" --text "a photo of a cat" "two dogs" "x"
else
  echo "clip-probs, embed-text   skipped: no DJL tokenizers jar on the class path"
fi
exit $failed
