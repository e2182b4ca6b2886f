"""The shipped speech clips and photos decode, match their manifests and carry their reference texts."""

from __future__ import annotations

import io
import re
from collections import Counter

import av
import pytest
from PIL import Image

from kolam.demo.datasets import iter_photos, iter_speech_clips

SCRIPT = {
    "ta": re.compile(r"[\u0B80-\u0BFF]"),  # Tamil
    "hi": re.compile(r"[\u0900-\u097F]"),  # Devanagari
    "en": re.compile(r"[A-Za-z]"),
}


def _decoded_seconds(data: bytes) -> tuple[float, int, int]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.rate, stream.rate, stream.channels


def test_speech_clips_decode_with_their_durations_and_languages() -> None:
    clips = list(iter_speech_clips())
    assert Counter(clip.language for _, clip in clips) == {"ta": 5, "hi": 3, "en": 7}
    assert len({clip.id for _, clip in clips}) == len(clips)
    for data, clip in clips:
        assert data[:4] == b"fLaC", clip.file
        seconds, rate, channels = _decoded_seconds(data)
        assert seconds == pytest.approx(clip.duration, abs=0.01), clip.file
        assert channels == 1 and rate in (16_000, 48_000), clip.file
        assert clip.file.startswith(f"{clip.language}/")
        assert SCRIPT[clip.language].search(clip.reference), clip.reference
        for other, script in SCRIPT.items():
            if other != clip.language:
                assert not script.search(clip.reference), clip.reference


def test_synthetic_speech_is_marked() -> None:
    human = sorted(clip.id for _, clip in iter_speech_clips() if not clip.synthetic)
    assert human == [f"speech-en-alsa-{w}" for w in ("front-center", "front-left", "rear-right", "side-left")]
    assert all(clip.synthetic for _, clip in iter_speech_clips() if clip.language in ("ta", "hi"))


def test_speech_limit_mixes_languages() -> None:
    assert [clip.language for _, clip in iter_speech_clips(limit=3)] == ["ta", "hi", "en"]
    assert list(iter_speech_clips(limit=0)) == []
    with pytest.raises(ValueError):
        next(iter_speech_clips(limit=-1))


def test_photos_load_at_their_original_sizes() -> None:
    photos = list(iter_photos())
    assert len(photos) == 6
    assert {photo.licence for _, photo in photos} == {"CC-BY-2.0", "GPL-2+"}
    for data, photo in photos:
        with Image.open(io.BytesIO(data)) as img:
            assert img.format == "JPEG"
            assert img.size == (photo.width, photo.height)
            img.load()  # decodes the whole file: no truncated download
    assert sum(len(data) for data, _ in photos) < 2_000_000
    assert [photo.file for _, photo in iter_photos(limit=2)] == ["china.jpg", "flower.jpg"]
