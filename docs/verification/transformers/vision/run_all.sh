#!/bin/bash
# Re-runs every check (regenerates images, random checkpoints and Tessera outputs; ~3 min on CPU) under
# /tmp/tessera-hf/vision. TESSERA=... overrides the CLI.
O=/tmp/tessera-hf/vision; mkdir -p $O; cd "$(dirname "$0")" && set -o pipefail
PY=${PY:-/tmp/hfenv/bin/python}
F='Loading weights|Writing model|torchvision|eos_token_id must be'
$PY make_images.py && { $PY vit_test.py; $PY clip_test.py; $PY st_test.py; $PY st_legacy_layout.py; } 2>&1 | grep -Ev "$F" | tee $O/results.txt
echo; echo "BAD lines:"; grep '^BAD' $O/results.txt || echo none
