"""Derived media on real files: a photograph, Fashion-MNIST PNGs, recorded speech; and the derivatives rows."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import av
import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from kolam.demo.datasets import iter_fashion_mnist
from kolam.services import media
from kolam.services.media_audio import MAX_PEAKS, PeakMeter, derive_audio
from kolam.services.media_images import MAX_SIDE, TARGET_BYTES, MediaError, derive_image
from kolam.store.tables import Derivative, Item
from tests.factories import Factory

DATA = Path(__file__).resolve().parents[1] / "data"
PHOTO = DATA / "photo_china.jpg"
SPEECH = DATA / "speech_en_hello_world.wav"


def _big_photo(size: tuple[int, int] = (2560, 1708), quality: int = 92) -> bytes:
    out = io.BytesIO()
    Image.open(PHOTO).resize(size, Image.Resampling.LANCZOS).save(out, "JPEG", quality=quality)
    return out.getvalue()


def test_photo_is_reencoded_under_the_target():
    original = PHOTO.read_bytes()
    shown = derive_image(original)
    assert (shown.width, shown.height) == (640, 427)
    assert shown.mime_type in ("image/webp", "image/jpeg")
    assert len(shown.data) <= TARGET_BYTES < len(original)
    with Image.open(io.BytesIO(shown.data)) as image:
        assert image.size == (640, 427)  # never upscaled, never shrunk when it fits


def test_large_photo_fits_the_display_box_and_keeps_its_original_size():
    shown = derive_image(_big_photo())
    assert (shown.width, shown.height) == (2560, 1708)
    assert len(shown.data) <= TARGET_BYTES
    with Image.open(io.BytesIO(shown.data)) as image:
        assert max(image.size) <= MAX_SIDE
        assert abs(image.width / image.height - 2560 / 1708) < 0.01


def test_fashion_mnist_png_is_served_as_it_is():
    for png, _label, _index in iter_fashion_mnist(limit=5):
        shown = derive_image(png)
        assert shown.data == png and shown.mime_type == "image/png"
        assert (shown.width, shown.height) == (28, 28)


def test_exif_orientation_is_applied_and_the_shown_size_recorded():
    image = Image.open(PHOTO)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    shown = derive_image(out.getvalue())
    assert (shown.width, shown.height) == (427, 640)
    with Image.open(io.BytesIO(shown.data)) as derived:
        assert derived.size == (427, 640)


def test_unreadable_image_is_a_media_error():
    with pytest.raises(MediaError):
        derive_image(PHOTO.read_bytes()[:2000])
    with pytest.raises(MediaError):
        derive_image(b"not an image at all")


def test_speech_becomes_mono_opus_at_16_kbits_or_less():
    clip = derive_audio(SPEECH.read_bytes())
    assert clip.mime_type.startswith("audio/ogg")
    with av.open(io.BytesIO(clip.data)) as container:
        assert container.format.name == "ogg"
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus"
        assert stream.codec_context.channels == 1
        payload = sum(packet.size for packet in container.demux(stream))
    assert clip.duration == pytest.approx(1.143, abs=0.03)
    assert len(clip.data) * 8 / clip.duration <= 16_000  # the whole file, Ogg framing included
    assert payload > 0


def test_peaks_have_the_promised_shape():
    clip = derive_audio(SPEECH.read_bytes())
    peaks = json.loads(clip.peaks)
    assert peaks["rate"] == 50
    assert peaks["duration"] == pytest.approx(clip.duration, abs=0.01)
    assert len(peaks["peaks"]) == pytest.approx(peaks["duration"] * peaks["rate"], abs=1)
    assert all(0.0 <= p <= 1.0 for p in peaks["peaks"])
    assert max(peaks["peaks"]) > 0.1  # speech, not silence


def test_unreadable_audio_is_a_media_error():
    with pytest.raises(MediaError):
        derive_audio(b"RIFF\x00\x00\x00\x00WAVEjunk")


@pytest.fixture
def media_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "media"
    folder.mkdir()
    shutil.copy(PHOTO, folder / "china.jpg")
    (folder / "big.jpg").write_bytes(_big_photo())
    (folder / "broken.jpg").write_bytes(PHOTO.read_bytes()[:3000])
    for png, _label, index in iter_fashion_mnist(limit=2):
        (folder / f"fm{index}.png").write_bytes(png)
    return folder


def test_derive_import_stores_rows_skips_done_and_records_errors(factory: Factory, media_folder: Path):
    org = factory.org()
    project = factory.project(org, "image_classes")
    import_id = factory.files(project, media_folder)
    report = media.derive_import(factory.db, factory.blobs, import_id)
    assert (report.derived, report.failed) == (4, 1)
    with factory.db.read() as s:
        pairs = s.execute(sa.select(Item.meta, Derivative).join(Derivative, Derivative.item_id == Item.id))
        rows = {meta["file_name"]: row for meta, row in pairs}
    assert set(rows) == {"china.jpg", "big.jpg", "broken.jpg", "fm0.png", "fm1.png"}
    assert rows["broken.jpg"].blob_key is None and rows["broken.jpg"].error
    assert (rows["big.jpg"].width, rows["big.jpg"].height) == (2560, 1708)
    assert rows["big.jpg"].size_bytes is not None and rows["big.jpg"].size_bytes <= TARGET_BYTES
    assert factory.blobs.exists(rows["china.jpg"].blob_key or "")
    again = media.derive_import(factory.db, factory.blobs, import_id)
    assert (again.derived, again.failed, again.skipped) == (0, 0, 5)


def test_display_sizes_is_one_lookup_for_a_batch(factory: Factory, media_folder: Path):
    org = factory.org()
    project = factory.project(org, "image_classes")
    media.derive_import(factory.db, factory.blobs, factory.files(project, media_folder))
    ids = factory.task_ids(project)
    with factory.db.read() as s:
        sizes = media.display_sizes(s, ids)
    assert sorted(sizes.values()) == [(28, 28), (28, 28), (640, 427), (2560, 1708)]


def test_audio_item_gets_display_and_peaks_rows(factory: Factory, tmp_path: Path):
    folder = tmp_path / "speech"
    folder.mkdir()
    shutil.copy(SPEECH, folder / "hello.wav")
    org = factory.org()
    project = factory.project(org, "transcription")
    import_id = factory.files(project, folder)
    assert media.derive_import(factory.db, factory.blobs, import_id).derived == 1
    with factory.db.read() as s:
        rows = {row.kind: row for row in s.scalars(sa.select(Derivative))}
    assert set(rows) == {"display", "peaks"}
    assert rows["display"].mime_type == "audio/ogg; codecs=opus"
    assert rows["peaks"].duration == pytest.approx(1.143, abs=0.03)


def test_a_long_recording_gets_fewer_peaks_a_second_and_keeps_its_loudest():
    meter = PeakMeter(48_000)
    signal = np.zeros(48_000 * 700, dtype=np.float32)  # 11 min 40 s of silence with one click at 650 s
    signal[48_000 * 650] = -0.9
    for start in range(0, signal.size, 100_000):
        meter.add(signal[start : start + 100_000])
    peaks = json.loads(meter.json())
    assert peaks["rate"] == 25 and len(peaks["peaks"]) == 700 * 25 <= MAX_PEAKS
    assert peaks["peaks"].index(0.9) == 650 * 25
