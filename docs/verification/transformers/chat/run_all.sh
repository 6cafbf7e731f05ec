#!/bin/bash
# One command: bash docs/verification/transformers/chat/run_all.sh  (TESSERA=... to override the CLI; outputs under
# /tmp/tessera-hf/chat: checkpoints, compare.log; results.json)
set -e; O=/tmp/tessera-hf/chat; mkdir -p $O; cd "$(dirname "$0")"; P=${PY:-/tmp/hfenv/bin/python}; rm -rf $O/ckpt
$P build.py 2>&1 | grep '^built' ; $P legacy.py; $P variants.py
$P compare.py 2>&1 | grep '^{' | tee $O/compare.log
$P check_pad.py 2>&1 | grep '^HF'
