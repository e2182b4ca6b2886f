// The audio element and what the hotkeys do to it: play/pause, jump, speed, and playing one segment on a loop.

export const RATES = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];
const STATE_EVENTS = ["pause", "seeked", "ratechange", "ended", "loadedmetadata"];

export class AudioPlayer {
  /** `onTick()` runs every frame while playing and after every seek or state change. */
  constructor(audio, onTick) {
    this.audio = audio;
    this.onTick = onTick;
    this.loop = null; // {start, end} while a segment plays on repeat
    this.frame = 0;
    const tick = () => {
      if (this.loop && this.audio.currentTime >= this.loop.end) this.audio.currentTime = this.loop.start;
      this.onTick();
      this.frame = this.audio.paused ? 0 : requestAnimationFrame(tick);
    };
    this.onPlay = () => {
      cancelAnimationFrame(this.frame);
      this.frame = requestAnimationFrame(tick);
      this.onTick();
    };
    this.onState = () => this.onTick();
    audio.addEventListener("play", this.onPlay);
    for (const ev of STATE_EVENTS) audio.addEventListener(ev, this.onState);
  }

  get time() {
    return this.audio.currentTime;
  }

  get duration() {
    return Number.isFinite(this.audio.duration) ? this.audio.duration : 0;
  }

  get playing() {
    return !this.audio.paused;
  }

  toggle() {
    if (this.audio.paused) return this.play();
    this.loop = null;
    this.audio.pause();
    return Promise.resolve();
  }

  play() {
    return this.audio.play().catch((err) => {
      if (err.name !== "AbortError") throw err;
    });
  }

  seek(t) {
    const max = this.duration || t;
    this.audio.currentTime = Math.max(0, Math.min(max, t));
    if (this.loop && (t < this.loop.start || t > this.loop.end)) this.loop = null;
    this.onTick();
  }

  jump(delta) {
    this.seek(this.audio.currentTime + delta);
  }

  /** Step the speed through RATES; returns the new rate. */
  speed(step) {
    const i = RATES.findIndex((r) => r >= this.audio.playbackRate - 1e-6);
    const next = RATES[Math.max(0, Math.min(RATES.length - 1, (i < 0 ? 2 : i) + step))];
    this.audio.playbackRate = next;
    this.onTick(); // show it now; "ratechange" comes a turn later
    return next;
  }

  /** Play from the segment's start, repeating it until paused; again on the same segment stops. */
  playSegment(seg) {
    if (this.loop && this.loop.start === seg.start && this.loop.end === seg.end && this.playing) {
      return this.toggle();
    }
    this.loop = { start: seg.start, end: seg.end };
    this.audio.currentTime = seg.start;
    return this.play();
  }

  destroy() {
    cancelAnimationFrame(this.frame);
    this.audio.pause();
    this.audio.removeEventListener("play", this.onPlay);
    for (const ev of STATE_EVENTS) this.audio.removeEventListener(ev, this.onState);
  }
}
