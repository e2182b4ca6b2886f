// Time spent on a task: counts only while the page is visible, so a laptop left open over lunch does not
// make one task look like an hour's work. Lead time (shown → submitted) is wall-clock.

export class TaskTimer {
  constructor() {
    this.shownAt = Date.now();
    this.activeMs = 0;
    this.since = document.visibilityState === "visible" ? performance.now() : null;
    this.onVisibility = () => {
      if (document.visibilityState === "visible") this.since = performance.now();
      else this.pause();
    };
    document.addEventListener("visibilitychange", this.onVisibility);
  }

  pause() {
    if (this.since !== null) this.activeMs += performance.now() - this.since;
    this.since = null;
  }

  spentMs() {
    return Math.round(this.activeMs + (this.since !== null ? performance.now() - this.since : 0));
  }

  leadMs() {
    return Date.now() - this.shownAt;
  }

  stop() {
    this.pause();
    document.removeEventListener("visibilitychange", this.onVisibility);
  }
}
