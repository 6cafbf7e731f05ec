#!/bin/sh
# Rebuild the checkpoints + WAVs under /tmp/tessera-hf/whisper/out and recheck every case (~7 min on CPU):
#   sh docs/verification/transformers/whisper/run_all.sh   (TESSERA=... to override the CLI)
set -e
O=/tmp/tessera-hf/whisper; mkdir -p $O; cd "$(dirname "$0")"; P=${PY:-/tmp/hfenv/bin/python}
$P build.py $O/out > $O/build.log 2>&1
$P compare.py $O/out 2>&1 | grep -v 'Loading weights' | tee $O/result.txt
