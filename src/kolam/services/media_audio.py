"""Display audio: Ogg Opus, mono, at most 16 kbit/s, and the waveform peaks drawn by the player.

One decoding pass (PyAV, its bundled ffmpeg with libopus) gives both. Pure bytes in, bytes out.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import av
import numpy as np
from av.audio.fifo import AudioFifo
from av.audio.resampler import AudioResampler

from kolam.services.media_images import MediaError

OPUS_RATE = 48_000  # Opus encodes at 8, 12, 16, 24 or 48 kHz; 48 kHz is what every decoder plays natively
OPUS_FRAME = 960  # 20 ms at 48 kHz
BITRATE = 14_000  # the encoder's target; with Ogg framing the file stays under 16 kbit/s
PEAKS_PER_SECOND = 50
MAX_PEAKS = 30_000  # longer files (over 10 min) get fewer peaks a second, so the JSON stays under ~200 KB
POOLED_RATES = (50, 25, 10, 5, 2, 1)  # peaks a second: divisors of PEAKS_PER_SECOND, best first


@dataclass(frozen=True)
class DisplayAudio:
    data: bytes
    mime_type: str
    duration: float
    peaks: bytes  # JSON {"duration", "rate", "peaks"}


def derive_audio(data: bytes) -> DisplayAudio:
    """Decode whatever the original is, downmix to mono at 48 kHz, encode Opus and measure the peaks."""
    out = io.BytesIO()
    meter = PeakMeter(OPUS_RATE)
    try:
        with av.open(io.BytesIO(data), mode="r") as source:
            if not source.streams.audio:
                raise MediaError("no audio stream")
            stream = source.streams.audio[0]
            resampler = AudioResampler(format="flt", layout="mono", rate=OPUS_RATE)
            with av.open(out, mode="w", format="ogg") as target:
                encoder = target.add_stream("libopus", rate=OPUS_RATE)
                encoder.bit_rate = BITRATE
                encoder.layout = "mono"
                encoder.options = {"application": "voip", "vbr": "constrained"}
                fifo = AudioFifo()
                for frame in source.decode(stream):
                    for mono in resampler.resample(frame):
                        meter.add(mono.to_ndarray().reshape(-1))
                        fifo.write(mono)
                        _drain(fifo, target, encoder, OPUS_FRAME)
                for mono in resampler.resample(None):
                    meter.add(mono.to_ndarray().reshape(-1))
                    fifo.write(mono)
                _drain(fifo, target, encoder, OPUS_FRAME)
                if fifo.samples:
                    _drain(fifo, target, encoder, fifo.samples)
                for packet in encoder.encode(None):
                    target.mux(packet)
    except MediaError:
        raise
    except (av.FFmpegError, ValueError, OSError) as err:
        raise MediaError(f"not a readable audio file: {err}") from None
    if meter.samples == 0:
        raise MediaError("the audio has no samples")
    return DisplayAudio(out.getvalue(), "audio/ogg; codecs=opus", meter.duration, meter.json())


def _drain(fifo: AudioFifo, target: av.container.OutputContainer, encoder: av.AudioStream, size: int) -> None:
    while fifo.samples >= size:
        frame = fifo.read(size)
        if frame is None:
            return
        for packet in encoder.encode(frame):
            target.mux(packet)


class PeakMeter:
    """The largest |amplitude| of each 1/PEAKS_PER_SECOND s, measured as samples stream by (memory: the
    peaks, not the signal); a long file's peaks are pooled so there are at most MAX_PEAKS of them."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.bucket = rate // PEAKS_PER_SECOND
        self.samples = 0
        self._peaks: list[np.ndarray] = []
        self._rest = np.zeros(0, dtype=np.float32)

    @property
    def duration(self) -> float:
        return self.samples / self.rate

    def add(self, chunk: np.ndarray) -> None:
        self.samples += chunk.size
        data = np.concatenate((self._rest, np.abs(chunk.astype(np.float32, copy=False))))
        whole = data.size // self.bucket * self.bucket
        if whole:
            self._peaks.append(data[:whole].reshape(-1, self.bucket).max(axis=1))
        self._rest = data[whole:]

    def json(self) -> bytes:
        parts = [*self._peaks, *([np.array([self._rest.max()])] if self._rest.size else [])]
        peaks = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        per_second = next(r for r in POOLED_RATES if r == 1 or self.duration * r <= MAX_PEAKS)
        group = PEAKS_PER_SECOND // per_second
        if group > 1:
            padded = np.zeros(-(-peaks.size // group) * group, dtype=np.float32)
            padded[: peaks.size] = peaks
            peaks = padded.reshape(-1, group).max(axis=1)
        values = [round(float(p), 3) for p in np.clip(peaks, 0.0, 1.0)]
        body = {"duration": round(self.duration, 3), "rate": per_second, "peaks": values}
        return json.dumps(body, separators=(",", ":")).encode()
