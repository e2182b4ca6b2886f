"""The 80 COCO classes a pretrained detector knows, and how they meet a project's own box labels.

A COCO-pretrained detector names boxes "person" or "motorcycle"; a project may call the same things
"People" or "motor_bike". A box whose class matches one of the project's labels arrives labelled; the rest
arrive unlabelled, for the annotator to name or delete.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
)  # fmt: skip
"""In the order of the detector's score columns (COCO 2017's 80 categories, ids 1–90 with gaps, renumbered)."""

SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "person": ("people", "pedestrian", "human"),
    "bicycle": ("bike", "cycle"),
    "car": ("automobile",),
    "motorcycle": ("motorbike", "motor bike", "moped"),
    "airplane": ("aeroplane", "plane", "aircraft"),
    "truck": ("lorry",),
    "bench": ("park bench",),
    "handbag": ("purse",),
    "skis": ("ski",),
    "sports ball": ("ball",),
    "cup": ("mug",),
    "donut": ("doughnut",),
    "couch": ("sofa",),
    "potted plant": ("plant", "houseplant", "pot plant"),
    "dining table": ("table",),
    "tv": ("television", "tv monitor", "monitor"),
    "remote": ("remote control",),
    "cell phone": ("phone", "mobile phone", "smartphone", "mobile"),
    "microwave": ("microwave oven",),
    "refrigerator": ("fridge",),
    "teddy bear": ("teddy",),
    "hair drier": ("hair dryer",),
}
"""Other names a project may give a COCO class (British and Pascal VOC spellings among them)."""

_COCO_SET = frozenset(COCO_CLASSES)
_SEPARATORS = re.compile(r"[\s_\-]+")


def normalise(name: str) -> str:
    """Case, spaces, underscores and hyphens do not matter: "Dining_Table" and "dining table" are one name."""
    return _SEPARATORS.sub("", name.casefold())


def _same(label: str, name: str) -> bool:
    """``label`` is ``name`` or its plural ("cars", "buses", "people" is a synonym)."""
    return label in (name, name + "s", name + "es")


def map_to_project(coco_name: str, project_labels: Iterable[str]) -> str | None:
    """The project's label for a COCO class, spelt as the project spells it; ``None`` when none matches.

    The COCO name itself wins over a synonym (a project with both "person" and "pedestrian" gets "person");
    among equals the project's first label wins.
    """
    if coco_name not in _COCO_SET:
        raise ValueError(f"unknown COCO class {coco_name!r}; expected one of the 80 in kolam.models.coco")
    labels = [(label, normalise(label)) for label in project_labels]
    for candidate in (coco_name, *SYNONYMS.get(coco_name, ())):
        wanted = normalise(candidate)
        for label, norm in labels:
            if _same(norm, wanted):
                return label
    return None


def project_mapping(project_labels: Iterable[str]) -> dict[str, str]:
    """Every COCO class that matches one of the project's labels, mapped to that label."""
    labels = list(project_labels)
    found = {name: map_to_project(name, labels) for name in COCO_CLASSES}
    return {name: label for name, label in found.items() if label is not None}
