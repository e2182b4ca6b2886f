// The transcription interface (contract D): a light audio player, a waveform from precomputed peaks, and
// segments with times, text and language. Player keys carry modifiers and work while typing, so an annotator
// never leaves the text box, and plain keys always reach the text box and the OS input method.

import { h } from "../dom.js";
import { AudioPlayer } from "./audio_player.js";
import { SegmentList, round3 } from "./segments.js";
import { Waveform, computePeaks, timeLabel } from "./waveform.js";

const GROUP = "transcription";
const JUMP = 2; // seconds
const NEW_SEGMENT = 5; // seconds a new segment lasts until its end is set

function metadataLoaded(audio) {
  if (audio.readyState >= 1) return Promise.resolve();
  return new Promise((resolve, reject) => {
    audio.addEventListener("loadedmetadata", resolve, { once: true });
    const fail = () => reject(new Error("This audio cannot be played in this browser."));
    audio.addEventListener("error", fail, { once: true });
  });
}

async function loadPeaks(ctx, blob) {
  const url = ctx.task.item.peaks_url;
  if (url) {
    try {
      const peaks = JSON.parse(await (await ctx.media(url)).text());
      if (Array.isArray(peaks.peaks)) return peaks;
    } catch (err) {
      console.warn("peaks unavailable, computing them here", err);
    }
  }
  return computePeaks(blob).catch(() => null);
}

function initialSegments(initial, duration, languages, language) {
  const given = Array.isArray(initial?.segments) ? initial.segments : [];
  const segments = given
    .filter((s) => Number.isFinite(s.start) && Number.isFinite(s.end))
    .map((s) => ({
      start: round3(Math.max(0, s.start)),
      end: round3(Math.min(duration || s.end, s.end)),
      text: String(s.text ?? ""),
      language: languages.includes(s.language) ? s.language : language,
    }))
    .sort((a, b) => a.start - b.start);
  return segments.length ? segments : [{ start: 0, end: round3(duration), text: "", language }];
}

export async function mount(root, ctx) {
  const item = ctx.task.item;
  const url = item.display_url || item.content_url;
  if (!url) throw new Error("This item has no audio to play.");
  const blob = await ctx.media(url);
  const objectUrl = URL.createObjectURL(blob);
  const audio = h("audio", { src: objectUrl, preload: "auto" });
  const [peaks] = await Promise.all([loadPeaks(ctx, blob), metadataLoaded(audio)]);
  const duration = Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : peaks?.duration || 0;

  const languages = ctx.schema.languages || [];
  const metaLanguage = item.meta?.language;
  const language = languages.includes(metaLanguage) ? metaLanguage : languages[0] || null;

  const canvas = h("canvas.tx-wave");
  const timeEl = h("span.tx-time", { "aria-label": "Playback position" });
  const rateEl = h("span.tx-rate", { "aria-label": "Playback speed" }, "1×");
  const playBtn = h("button.tx-play", { type: "button", "aria-label": "Play (Ctrl+Space)" }, "▶ Play");
  const listEl = h("ol.tx-segments", { "aria-label": "Segments" });

  const wave = new Waveform(canvas, { peaks, duration, onSeek: (t) => player.seek(t) });
  const player = new AudioPlayer(audio, () => {
    wave.time = player.time;
    wave.draw();
    timeEl.textContent = `${timeLabel(player.time)} / ${timeLabel(duration)}`;
    playBtn.textContent = player.playing ? "❚❚ Pause" : "▶ Play";
    playBtn.setAttribute("aria-label", `${player.playing ? "Pause" : "Play"} (Ctrl+Space)`);
    rateEl.textContent = `${audio.playbackRate}×`;
  });
  const redraw = () => {
    wave.segments = list.segments;
    wave.active = list.active;
    wave.draw();
  };
  const list = new SegmentList(listEl, initialSegments(ctx.initial, duration, languages, language), languages, {
    changed: () => {
      redraw();
      ctx.changed();
    },
    active: () => redraw(),
    play: (i) => player.playSegment(list.segments[i]),
    remove: (i) => list.remove(i),
  });

  const current = () => list.segments[list.active];
  const actions = {
    toggle: () => player.toggle(),
    back: () => player.jump(-JUMP),
    forward: () => player.jump(JUMP),
    slower: () => player.speed(-1),
    faster: () => player.speed(1),
    newSegment() {
      const t = round3(Math.min(player.time, Math.max(0, duration - 0.1)));
      const inside = list.segments.findIndex((s) => t > s.start + 0.05 && t < s.end - 0.05);
      let seg;
      if (inside >= 0) {
        // Splitting at the playhead: the running segment ends here, the new one takes the rest.
        const old = list.segments[inside];
        seg = { start: t, end: old.end, text: "", language: old.language };
        old.end = t;
      } else {
        const next = list.segments.find((s) => s.start > t + 0.05);
        const end = Math.min(duration, t + NEW_SEGMENT, next ? next.start : Infinity);
        seg = { start: t, end: round3(end), text: "", language: current()?.language || language };
      }
      list.focusText(list.add(seg));
    },
    setStart: () => current() && list.setTime(list.active, "start", player.time),
    setEnd: () => current() && list.setTime(list.active, "end", player.time),
    next: () => list.focusText(Math.min(list.segments.length - 1, list.active + 1)),
    previous: () => list.focusText(Math.max(0, list.active - 1)),
    remove() {
      list.remove(list.active);
      if (!list.focusText()) canvas.focus();
    },
    playSegment: () => current() && player.playSegment(current()),
  };
  playBtn.addEventListener("click", actions.toggle);

  const keys = [
    ["Ctrl+Space", "Play / pause", actions.toggle],
    ["Alt+p", "Play / pause", actions.toggle],
    ["Alt+ArrowLeft", `Back ${JUMP} s`, actions.back],
    ["Ctrl+,", `Back ${JUMP} s`, actions.back],
    ["Alt+ArrowRight", `Forward ${JUMP} s`, actions.forward],
    ["Ctrl+.", `Forward ${JUMP} s`, actions.forward],
    ["Alt+ArrowDown", "Slower (down to 0.5×)", actions.slower],
    ["Alt+ArrowUp", "Faster (up to 2×)", actions.faster],
    ["Alt+n", "New segment at the playhead (splits the segment there)", actions.newSegment],
    ["Alt+[", "Segment starts at the playhead", actions.setStart],
    ["Alt+]", "Segment ends at the playhead", actions.setEnd],
    ["Alt+j", "Next segment", actions.next],
    ["Alt+k", "Previous segment", actions.previous],
    ["Alt+l", "Play the segment on a loop (again: stop)", actions.playSegment],
    ["Alt+Delete", "Delete the segment", actions.remove],
  ];
  const unregister = keys.map(([key, description, handler]) =>
    ctx.hotkeys.register(key, description, handler, { whileTyping: true, group: GROUP }),
  );

  const button = (label, key, onclick) =>
    h("button", { type: "button", "aria-label": `${label} (${key})`, title: `${label} (${key})`, onclick }, label);
  const el = h(
    "div.iface-tx",
    {},
    audio,
    h(
      "div.tx-controls",
      { role: "toolbar", "aria-label": "Player" },
      playBtn,
      button(`−${JUMP} s`, "Alt+←", actions.back),
      button(`+${JUMP} s`, "Alt+→", actions.forward),
      button("Slower", "Alt+↓", actions.slower),
      rateEl,
      button("Faster", "Alt+↑", actions.faster),
      timeEl,
      button("New segment", "Alt+N", actions.newSegment),
    ),
    canvas,
    listEl,
    h("p.muted.tx-hint", {}, "Keys work while typing: Ctrl+Space play/pause, Alt+[ / Alt+] set start/end, ? for all."),
  );
  root.append(el);
  list.render();
  redraw();
  player.onTick();

  return {
    value() {
      const segments = list.segments
        .map((s, i) => ({ ...s, n: i + 1 }))
        .sort((a, b) => a.start - b.start)
        .map(({ start, end, text, language: lang, n }) => {
          const clean = text.trim().normalize("NFC");
          if (!clean) throw new Error(`Segment ${n} has no text: type what is said, or delete it (Alt+Delete).`);
          const e = duration && end > duration && end - duration < 0.05 ? duration : end;
          if (!(e > start)) throw new Error(`Segment ${n}: the end (${end.toFixed(2)} s) must be after the start.`);
          if (duration && e > duration + 0.05) {
            throw new Error(`Segment ${n} ends after the clip (${duration.toFixed(2)} s).`);
          }
          return { start: round3(start), end: round3(e), text: clean, language: lang };
        });
      return { segments };
    },
    focus() {
      if (!list.focusText()) canvas.focus();
    },
    destroy() {
      unregister.forEach((off) => off());
      player.destroy();
      wave.destroy();
      el.remove();
      URL.revokeObjectURL(objectUrl);
    },
  };
}
