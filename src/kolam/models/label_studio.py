"""Kolam answers ↔ Label Studio results, and a Label Studio ``label_config`` made from a Kolam label schema.

Label Studio ML backends read a task's ``data``, the project's XML ``label_config`` and answer with a list of
*results* (``choices``, ``labels``, ``rectanglelabels``, ``textarea`` …). Speaking that dialect lets a client's
existing backend pre-label and learn in Kolam unchanged. Boxes travel in percent of the original image (Label
Studio's convention) and are stored in original pixels (Kolam's). Every conversion ends in
:func:`kolam.labels.answers.validate_answer`, so what comes back is a valid Kolam answer or an
:class:`~kolam.errors.Invalid` that names the result at fault.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from kolam.errors import Invalid
from kolam.labels.answers import validate_answer
from kolam.labels.schema import (
    ImageBoxesSchema,
    ImageClassesSchema,
    LabelSchemaDef,
    TextClassesSchema,
    TranscriptionSchema,
)

# Tag names in the generated config; a backend that reads the config finds them there.
CHOICES, SPANS, BOXES, LANGUAGE, TRANSCRIPT = "label", "spans", "box", "language", "transcription"
ImageSize = tuple[float, float]


def data_key(schema: LabelSchemaDef) -> str:
    """The key under a task's ``data`` that holds the item: ``text``, ``image`` or ``audio``."""
    if isinstance(schema, TextClassesSchema):
        return "text"
    return "audio" if isinstance(schema, TranscriptionSchema) else "image"


def label_config(schema: LabelSchemaDef) -> str:
    """The Label Studio XML interface equivalent to ``schema`` (retired labels left out)."""
    key = data_key(schema)
    view = ET.Element("View")
    ET.SubElement(view, key.capitalize(), name=key, value=f"${key}")
    if isinstance(schema, ImageClassesSchema | TextClassesSchema):
        choice = "multiple" if schema.multi_label else "single"
        choices = ET.SubElement(view, "Choices", name=CHOICES, toName=key, choice=choice, showInline="true")
        for lab in schema.classes:
            if not lab.retired:
                attrs = {"value": lab.name, "hint": lab.description, "hotkey": lab.hotkey or ""}
                ET.SubElement(choices, "Choice", {k: v for k, v in attrs.items() if v})
        if isinstance(schema, TextClassesSchema) and schema.spans:
            _labels(view, SPANS, key, schema.label_names())
    elif isinstance(schema, ImageBoxesSchema):
        boxes = ET.SubElement(view, "RectangleLabels", name=BOXES, toName=key)
        for name in schema.label_names():
            ET.SubElement(boxes, "Label", value=name)
    else:
        _labels(view, LANGUAGE, key, schema.languages)
        attrs = {"name": TRANSCRIPT, "toName": key, "perRegion": "true", "editable": "true", "rows": "2"}
        ET.SubElement(view, "TextArea", attrs)
    return ET.tostring(view, encoding="unicode")


def _labels(parent: ET.Element, name: str, to_name: str, values: list[str]) -> None:
    tag = ET.SubElement(parent, "Labels", name=name, toName=to_name)
    for value in values:
        ET.SubElement(tag, "Label", value=value)


# ---------------------------------------------------------------- Kolam answer → Label Studio result


def to_results(
    schema: LabelSchemaDef, value: dict[str, Any], *, image_size: ImageSize | None = None, text: str | None = None
) -> list[dict[str, Any]]:
    """A valid Kolam answer as the result list of a Label Studio annotation.

    ``image_size`` (original pixels) is needed for boxes; ``text`` adds each span's text, as Label Studio does.
    """
    value = validate_answer(schema, value, text_length=None if text is None else len(text))
    key = data_key(schema)
    out: list[dict[str, Any]] = []
    if isinstance(schema, ImageClassesSchema | TextClassesSchema) and value["labels"]:
        out.append(_result("r0", CHOICES, key, "choices", {"choices": value["labels"]}))
    for i, span in enumerate(value.get("spans") or []):
        found = {"start": span["start"], "end": span["end"], "labels": [span["label"]]}
        if text is not None:
            found["text"] = text[span["start"] : span["end"]]
        out.append(_result(f"s{i}", SPANS, key, "labels", found))
    if value.get("boxes"):
        if image_size is None:
            raise Invalid("a box answer needs the image's size to become a Label Studio result", field="image_size")
        width, height = image_size
        for i, box in enumerate(value["boxes"]):
            rect = {
                "x": 100 * box["x"] / width,
                "y": 100 * box["y"] / height,
                "width": 100 * box["w"] / width,
                "height": 100 * box["h"] / height,
                "rotation": 0,
            }
            kind = "rectangle" if box["label"] is None else "rectanglelabels"
            if box["label"] is not None:
                rect["rectanglelabels"] = [box["label"]]
            size = {"original_width": width, "original_height": height, "image_rotation": 0}
            out.append({**_result(f"b{i}", BOXES, key, kind, rect), **size})
    for i, seg in enumerate(value.get("segments") or []):
        times = {"start": seg["start"], "end": seg["end"]}
        if seg["language"] is not None:
            out.append(_result(f"t{i}", LANGUAGE, key, "labels", {**times, "labels": [seg["language"]]}))
        out.append(_result(f"t{i}", TRANSCRIPT, key, "textarea", {**times, "text": [seg["text"]]}))
    return out


def _result(rid: str, from_name: str, to_name: str, kind: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"id": rid, "from_name": from_name, "to_name": to_name, "type": kind, "value": value, "origin": "manual"}


# ---------------------------------------------------------------- Label Studio result → Kolam answer


def from_results(
    schema: LabelSchemaDef,
    results: Any,
    *,
    image_size: ImageSize | None = None,
    duration: float | None = None,
    text: str | None = None,
    where: str = "result",
) -> dict[str, Any]:
    """A Label Studio result list as a validated Kolam answer; errors name ``where[i]`` and what was wrong.

    ``image_size`` (original pixels) is used for boxes whose result lacks ``original_width/height``;
    ``duration`` (seconds) for a whole-clip ``textarea`` with no region; ``text`` checks span offsets.
    """
    if not isinstance(results, list):
        raise Invalid(f"{where}: must be a list of Label Studio results, got {type(results).__name__}", field=where)
    for i, res in enumerate(results):
        if not isinstance(res, dict) or not isinstance(res.get("value"), dict) or not isinstance(res.get("type"), str):
            raise Invalid(f"{where}[{i}]: must be an object with a 'type' and a 'value' object", field=f"{where}[{i}]")
    _check_names(schema, results, where)
    value: dict[str, Any]
    if isinstance(schema, ImageClassesSchema | TextClassesSchema):
        value = {"labels": _choices(results, where)}
        if isinstance(schema, TextClassesSchema):
            value["spans"] = _spans(results, where)
    elif isinstance(schema, ImageBoxesSchema):
        found = _of(results, "rectanglelabels", "rectangle")
        value = {"boxes": [_box(res, f"{where}[{i}]", image_size) for i, res in found]}
    else:
        value = {"segments": _segments(results, where, duration)}
    try:
        return validate_answer(schema, value, text_length=None if text is None else len(text))
    except Invalid as err:
        raise Invalid(f"{where}: the backend's result is not a valid answer here: {err.message}", field=where) from None


def _check_names(schema: LabelSchemaDef, results: list[dict[str, Any]], where: str) -> None:
    """Refuse a class the project does not have, naming the result that used it."""
    allowed = schema.languages if isinstance(schema, TranscriptionSchema) else schema.label_names()
    for i, res in enumerate(results):
        for key in ("choices", "labels", "rectanglelabels"):
            names = res["value"].get(key)
            for name in names if isinstance(names, list) else []:
                if name not in allowed:
                    field = f"{where}[{i}].value.{key}"
                    raise Invalid(
                        f"{field}: '{name}' is not a class of this project; allowed: {', '.join(allowed)}", field=field
                    )


def _of(results: list[dict[str, Any]], *kinds: str) -> list[tuple[int, dict[str, Any]]]:
    return [(i, res) for i, res in enumerate(results) if res["type"].lower() in kinds]


def _strings(res: dict[str, Any], key: str, field: str) -> list[str]:
    items = res["value"].get(key)
    if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
        raise Invalid(f"{field}.value.{key}: must be a list of strings", field=f"{field}.value.{key}")
    return items


def _number(res: dict[str, Any], key: str, field: str, *, source: dict[str, Any] | None = None) -> float:
    raw = (res["value"] if source is None else source).get(key)
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise Invalid(f"{field}.{key}: must be a finite number, got {raw!r}", field=f"{field}.{key}")
    return float(raw)


def _choices(results: list[dict[str, Any]], where: str) -> list[str]:
    labels: list[str] = []
    for i, res in _of(results, "choices"):
        found = _strings(res, "choices", f"{where}[{i}]")
        labels += [name for name in found if name not in labels]
    return labels


def _spans(results: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    spans = []
    for i, res in _of(results, "labels"):
        field = f"{where}[{i}]"
        start, end = _number(res, "start", f"{field}.value"), _number(res, "end", f"{field}.value")
        if start != int(start) or end != int(end):
            raise Invalid(f"{field}.value: span offsets must be whole characters", field=f"{field}.value")
        spans += [{"start": int(start), "end": int(end), "label": name} for name in _strings(res, "labels", field)]
    return spans


def _box(res: dict[str, Any], field: str, image_size: ImageSize | None) -> dict[str, Any]:
    if "original_width" in res and "original_height" in res:
        width, height = (
            _number(res, "original_width", field, source=res),
            _number(res, "original_height", field, source=res),
        )
    elif image_size is not None:
        width, height = image_size
    else:
        raise Invalid(f"{field}: no original_width/original_height and the image's size is unknown", field=field)
    if width <= 0 or height <= 0:
        raise Invalid(f"{field}: the image's size must be positive, got {width}×{height}", field=field)
    at = f"{field}.value"
    x, y = _number(res, "x", at), _number(res, "y", at)
    w, h = _number(res, "width", at), _number(res, "height", at)
    if abs(res["value"].get("rotation") or 0) > 1e-6:
        raise Invalid(
            f"{at}.rotation: rotated boxes are not supported (Kolam boxes are upright)", field=f"{at}.rotation"
        )
    # Detectors overshoot the frame by a pixel now and then: clip to the image rather than refuse.
    x0, y0 = max(0.0, x * width / 100), max(0.0, y * height / 100)
    x1, y1 = min(width, (x + w) * width / 100), min(height, (y + h) * height / 100)
    if x1 <= x0 or y1 <= y0:
        raise Invalid(f"{at}: the box has no area inside the image", field=at)
    names = _strings(res, "rectanglelabels", field) if "rectanglelabels" in res["value"] else []
    if len(names) > 1:
        raise Invalid(f"{at}.rectanglelabels: a box takes one label, got {len(names)}", field=f"{at}.rectanglelabels")
    # Percent and back again leaves float dust (10.000000000000002 px): a micro-pixel is below any meaning.
    x0, y0, w_px, h_px = (round(v, 6) for v in (x0, y0, x1 - x0, y1 - y0))
    return {"x": x0, "y": y0, "w": w_px, "h": h_px, "label": names[0] if names else None}


def _segments(results: list[dict[str, Any]], where: str, duration: float | None) -> list[dict[str, Any]]:
    """Join per-region results (a ``labels`` language and a ``textarea`` text sharing an ``id``) into segments."""
    regions: dict[str, dict[str, Any]] = defaultdict(dict)
    for i, res in _of(results, "labels", "textarea"):
        field = f"{where}[{i}]"
        region = regions[str(res.get("id", f"#{i}"))]
        if "start" in res["value"] or "end" in res["value"]:
            region["start"] = _number(res, "start", f"{field}.value")
            region["end"] = _number(res, "end", f"{field}.value")
        elif res["type"].lower() == "labels":
            raise Invalid(f"{field}.value: an audio region needs start and end", field=f"{field}.value")
        elif duration is None:
            raise Invalid(f"{field}.value: a text for the whole clip needs the clip's duration", field=f"{field}.value")
        else:
            region.update(start=0.0, end=duration)
        if res["type"].lower() == "textarea":
            region["text"] = " ".join(s.strip() for s in _strings(res, "text", field))
        else:
            langs = _strings(res, "labels", field)
            if len(langs) != 1:
                raise Invalid(f"{field}.value.labels: a segment takes one language", field=f"{field}.value.labels")
            region["language"] = langs[0]
    segments = [{"text": "", "language": None, **region} for region in regions.values()]
    return sorted(segments, key=lambda seg: (seg["start"], seg["end"]))
