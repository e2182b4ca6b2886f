"""NanoDet-m on real photographs: the right COCO class, a box where a person would draw it, in Kolam's format.

Photographs come from scikit-image's bundled data (a dev dependency; read as files, never downloaded):
astronaut (NASA, public domain), chelsea (CC0), coffee (CC0), motorcycle_left (Middlebury 2014 stereo),
camera (CC0, greyscale), horse (a silhouette with transparency), rocket (SpaceX, public domain); and Kolam's
own demo photographs (scenery). Expected boxes were measured by eye on a 50-pixel grid.
"""

from __future__ import annotations

import io
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kolam.errors import Invalid
from kolam.labels.answers import validate_answer
from kolam.labels.schema import ImageBoxesSchema, LabelDef
from kolam.models.coco import COCO_CLASSES, map_to_project, normalise, project_mapping
from kolam.models.detector import Detector

pytest.importorskip("onnxruntime")
pytest.importorskip("skimage")

SKIMAGE = Path(str(files("skimage") / "data"))
DEMO = Path(__file__).parents[2] / "src" / "kolam" / "demo" / "data" / "photos"

# file, expected COCO class, measured box [x0, y0, x1, y1] in original pixels, threshold that finds it
CASES = [
    ("astronaut.png", "person", (20, 14, 362, 512), 0.35),
    ("chelsea.png", "cat", (0, 0, 400, 300), 0.35),
    ("motorcycle_left.png", "motorcycle", (92, 90, 684, 452), 0.35),
    ("camera.png", "person", (0, 65, 330, 512), 0.35),  # greyscale
    ("horse.png", "horse", (18, 8, 390, 312), 0.35),  # RGBA
    ("coffee.png", "cup", (172, 18, 410, 305), 0.25),  # the table scores higher; the cup comes lower
]
SCENERY = [SKIMAGE / "rocket.jpg", DEMO / "china.jpg", DEMO / "storm.jpg"]  # nothing to box (china's boats are dots)


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def corners(box: dict[str, Any]) -> tuple[float, float, float, float]:
    return (box["x"], box["y"], box["x"] + box["w"], box["y"] + box["h"])


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


@pytest.mark.parametrize(("name", "coco", "measured", "threshold"), CASES, ids=[c[0] for c in CASES])
def test_finds_the_object_where_a_person_would_box_it(
    detector: Detector, name: str, coco: str, measured: tuple[int, ...], threshold: float
) -> None:
    (boxes,) = detector.detect([(SKIMAGE / name).read_bytes()], threshold=threshold)
    mine = [b for b in boxes if b["coco"] == coco]
    assert mine, f"no {coco} in {name}: {boxes}"
    assert iou(corners(mine[0]), measured) >= 0.7, (mine[0], measured)
    assert all(threshold <= b["score"] <= 1 for b in boxes)
    assert [b["score"] for b in boxes] == sorted((b["score"] for b in boxes), reverse=True)


def test_scenery_gets_no_boxes(detector: Detector) -> None:
    assert detector.detect([p.read_bytes() for p in SCENERY]) == [[], [], []]


def test_boxes_lie_inside_the_image_and_are_valid_answers(detector: Detector) -> None:
    paths = [SKIMAGE / c[0] for c in CASES] + [DEMO / "ladybird.jpg", DEMO / "garden.jpg"]
    labels = ["People", "cat", "motor_bike", "cup", "dining table"]
    schema = ImageBoxesSchema(labels=[LabelDef(name=n) for n in labels])
    results = detector.detect([p.read_bytes() for p in paths], threshold=0.2)
    named: set[str | None] = set()
    for path, boxes in zip(paths, results, strict=True):
        width, height = Image.open(path).size
        assert boxes, path.name
        for b in boxes:
            assert b["x"] >= 0 and b["y"] >= 0 and b["w"] > 0 and b["h"] > 0
            assert b["x"] + b["w"] <= width + 1e-6 and b["y"] + b["h"] <= height + 1e-6, (path.name, b)
            assert b["coco"] in COCO_CLASSES
        answer = [{k: b[k] for k in "xywh"} | {"label": map_to_project(b["coco"], labels)} for b in boxes]
        value = validate_answer(schema, {"boxes": answer})
        assert [corners(b) for b in value["boxes"]] == [corners(b) for b in boxes]
        named |= {b["label"] for b in value["boxes"]}
    assert named >= {"People", "cat", "motor_bike", "cup", None}  # None: a box offered to be named


def test_exif_rotation_gives_boxes_in_upright_pixels(detector: Detector) -> None:
    """A phone photo stored sideways with EXIF orientation 6: boxes match the upright photograph's."""
    upright = Image.open(SKIMAGE / "motorcycle_left.png").convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    sideways = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(sideways, "JPEG", quality=95, exif=exif.tobytes())
    plain = io.BytesIO()
    upright.save(plain, "JPEG", quality=95)
    (rotated, straight) = detector.detect([sideways.getvalue(), plain.getvalue()])
    assert rotated[0]["coco"] == straight[0]["coco"] == "motorcycle"
    assert iou(corners(rotated[0]), corners(straight[0])) >= 0.95
    assert iou(corners(rotated[0]), (92, 90, 684, 452)) >= 0.7


def test_large_jpeg_is_mapped_back_to_its_own_pixels(detector: Detector) -> None:
    """2560×1600, decoded at a reduced scale: the ladybird's box is still in full-size pixels."""
    (boxes,) = detector.detect([(DEMO / "ladybird.jpg").read_bytes()], threshold=0.3)
    assert boxes[0]["coco"] == "bird"  # the nearest COCO has to a ladybird
    assert iou(corners(boxes[0]), (1672, 705, 1925, 975)) >= 0.7


def test_unreadable_image_is_named_by_its_index(detector: Detector) -> None:
    with pytest.raises(Invalid) as err:
        detector.detect([(SKIMAGE / "chelsea.png").read_bytes(), b"not an image"])
    assert err.value.field == "images[1]"
    assert detector.detect([]) == []
    with pytest.raises(ValueError, match="threshold"):
        detector.detect([], threshold=0)


@pytest.mark.parametrize(
    ("coco", "labels", "expected"),
    [
        ("person", ["Person", "car"], "Person"),
        ("person", ["people", "pedestrian"], "people"),
        ("person", ["pedestrian", "person"], "person"),  # the COCO name beats a synonym
        ("motorcycle", ["Motor_Bike"], "Motor_Bike"),
        ("tv", ["Television"], "Television"),
        ("dining table", ["dining_table"], "dining_table"),
        ("car", ["cars"], "cars"),
        ("bus", ["Buses"], "Buses"),
        ("cat", ["dog", "bird"], None),
        ("cup", [], None),
    ],
    ids=lambda v: str(v),
)
def test_coco_names_map_onto_project_labels(coco: str, labels: list[str], expected: str | None) -> None:
    assert map_to_project(coco, labels) == expected


def test_project_mapping_and_unknown_names() -> None:
    assert len(COCO_CLASSES) == len(set(COCO_CLASSES)) == 80
    assert normalise(" Dining_Table-") == "diningtable"
    assert project_mapping(["People", "Sofa", "lorry"]) == {"person": "People", "couch": "Sofa", "truck": "lorry"}
    with pytest.raises(ValueError, match="unknown COCO class 'ladybird'"):
        map_to_project("ladybird", ["ladybird"])
