// The waveform: precomputed peaks (a few KB of JSON instead of decoding megabytes of audio) drawn on a
// canvas, with the segments shaded, a playhead, click to seek and arrow keys to seek when it has focus.

const SEEK_STEP = 1; // seconds per arrow key on the focused waveform (Shift: 5)

/**
 * Peaks from the audio itself, for items without a peaks file (URL-only items, or before the job ran):
 * {duration, rate, peaks} like the server's, the max |amplitude| per bucket of 1/rate seconds.
 */
export async function computePeaks(blob, rate = 50) {
  const Ctx = window.OfflineAudioContext || window.webkitOfflineAudioContext;
  const audio = await new Ctx(1, 1, 16000).decodeAudioData(await blob.arrayBuffer());
  const channels = Array.from({ length: audio.numberOfChannels }, (_, c) => audio.getChannelData(c));
  const per = Math.max(1, Math.round(audio.sampleRate / rate));
  const peaks = [];
  for (let start = 0; start < audio.length; start += per) {
    let max = 0;
    for (const data of channels) {
      const end = Math.min(start + per, data.length);
      for (let i = start; i < end; i++) max = Math.max(max, Math.abs(data[i]));
    }
    peaks.push(Math.min(1, max));
  }
  return { duration: audio.duration, rate, peaks };
}

function timeLabel(t) {
  const m = Math.floor(t / 60);
  return `${m}:${(t - m * 60).toFixed(1).padStart(4, "0")}`;
}

export class Waveform {
  /** `onSeek(seconds)` is called on click or keyboard seek; draw() reads `time`, `segments`, `active`. */
  constructor(canvas, { peaks, duration, onSeek }) {
    this.canvas = canvas;
    this.peaks = peaks?.peaks || [];
    this.rate = peaks?.rate || 1;
    this.duration = duration;
    this.onSeek = onSeek;
    this.time = 0;
    this.segments = [];
    this.active = -1;
    canvas.tabIndex = 0;
    canvas.setAttribute("role", "slider");
    canvas.setAttribute("aria-label", "Waveform: click or use the arrow keys to seek");
    canvas.setAttribute("aria-valuemin", "0");
    canvas.setAttribute("aria-valuemax", duration.toFixed(1));
    this.onClick = (e) => {
      const r = canvas.getBoundingClientRect();
      this.onSeek(Math.max(0, Math.min(this.duration, ((e.clientX - r.left) / r.width) * this.duration)));
    };
    this.onKey = (e) => {
      if (e.altKey || e.ctrlKey || e.metaKey) return; // those belong to the player's hotkeys
      const step = e.shiftKey ? 5 : SEEK_STEP;
      const to = { ArrowLeft: this.time - step, ArrowRight: this.time + step, Home: 0, End: this.duration }[e.key];
      if (to === undefined) return;
      e.preventDefault(); // also keeps the workspace's hotkeys from seeing it
      this.onSeek(Math.max(0, Math.min(this.duration, to)));
    };
    canvas.addEventListener("click", this.onClick);
    canvas.addEventListener("keydown", this.onKey);
    this.observer = new ResizeObserver(() => this.draw());
    this.observer.observe(canvas);
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(c.clientWidth * dpr));
    const h = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w || c.height !== h) Object.assign(c, { width: w, height: h });
    const g = c.getContext("2d");
    g.clearRect(0, 0, w, h);
    const x = (t) => (t / this.duration) * w;
    this.segments.forEach((s, i) => {
      g.fillStyle = i === this.active ? "rgba(31,95,191,.30)" : "rgba(31,95,191,.12)";
      g.fillRect(x(s.start), 0, Math.max(1, x(s.end) - x(s.start)), h);
    });
    g.fillStyle = "#4a5568";
    const n = this.peaks.length;
    const perPx = n / w;
    const mid = h / 2;
    for (let px = 0; px < w; px++) {
      const from = Math.floor(px * perPx);
      const to = Math.max(from + 1, Math.floor((px + 1) * perPx));
      let max = 0;
      for (let i = from; i < to && i < n; i++) max = Math.max(max, this.peaks[i]);
      const half = Math.max(0.5 * dpr, max * mid * 0.95);
      g.fillRect(px, mid - half, 1, half * 2);
    }
    g.fillStyle = "#b3261e";
    g.fillRect(Math.round(x(this.time)) - dpr, 0, 2 * dpr, h);
    c.setAttribute("aria-valuenow", this.time.toFixed(1));
    c.setAttribute("aria-valuetext", `${timeLabel(this.time)} of ${timeLabel(this.duration)}`);
  }

  destroy() {
    this.observer.disconnect();
    this.canvas.removeEventListener("click", this.onClick);
    this.canvas.removeEventListener("keydown", this.onKey);
  }
}

export { timeLabel };
