// The boxes being answered, the selection, and undo/redo. No DOM here: mouse, keyboard and list all edit
// through this one object, so every path records history the same way.

const COALESCE_MS = 1000; // a run of arrow-key nudges undoes as one step

export class BoxEditor {
  constructor(boxes, { maxBoxes, onChange, onLimit }) {
    this.boxes = boxes;
    this.selected = boxes.length ? 0 : -1;
    this.maxBoxes = maxBoxes;
    this.onChange = onChange;
    this.onLimit = onLimit;
    this.undoStack = [];
    this.redoStack = [];
    this.last = { key: null, at: 0 };
  }

  snapshot() {
    return { boxes: this.boxes.map((b) => ({ ...b })), selected: this.selected };
  }

  restore(s) {
    this.boxes = s.boxes;
    this.selected = Math.min(s.selected, this.boxes.length - 1);
    this.onChange({ answer: true });
  }

  /** Record the state before a change; repeated `key`s within a second count as one change. */
  begin(key = null) {
    const now = performance.now();
    if (key && this.last.key === key && now - this.last.at < COALESCE_MS) {
      this.last.at = now;
      return;
    }
    this.last = { key, at: now };
    this.undoStack.push(this.snapshot());
    if (this.undoStack.length > 200) this.undoStack.shift();
    this.redoStack = [];
  }

  undo() {
    const s = this.undoStack.pop();
    if (!s) return false;
    this.redoStack.push(this.snapshot());
    this.last = { key: null, at: 0 };
    this.restore(s);
    return true;
  }

  redo() {
    const s = this.redoStack.pop();
    if (!s) return false;
    this.undoStack.push(this.snapshot());
    this.last = { key: null, at: 0 };
    this.restore(s);
    return true;
  }

  select(i) {
    this.selected = i >= 0 && i < this.boxes.length ? i : -1;
    this.last = { key: null, at: 0 };
    this.onChange({ answer: false });
  }

  /** Select the next (+1) or previous (-1) box, wrapping around. */
  cycle(step) {
    const n = this.boxes.length;
    if (!n) return;
    this.select(this.selected < 0 ? (step > 0 ? 0 : n - 1) : (this.selected + step + n) % n);
  }

  /** Replace box `i` (the caller has called begin()). */
  update(i, box) {
    if (i < 0 || i >= this.boxes.length) return;
    this.boxes[i] = { ...this.boxes[i], ...box };
    this.onChange({ answer: true });
  }

  /** Add a box and select it; -1 (and a message) when the project's limit is reached. */
  create(box) {
    if (this.boxes.length >= this.maxBoxes) {
      const n = this.maxBoxes;
      this.onLimit(`This project takes at most ${n} box${n === 1 ? "" : "es"} per image.`);
      return -1;
    }
    this.begin();
    this.boxes.push(box);
    this.selected = this.boxes.length - 1;
    this.onChange({ answer: true });
    return this.selected;
  }

  remove(i = this.selected) {
    if (i < 0 || i >= this.boxes.length) return;
    this.begin();
    this.boxes.splice(i, 1);
    this.selected = this.boxes.length ? Math.min(i, this.boxes.length - 1) : -1;
    this.onChange({ answer: true });
  }

  setLabel(name, i = this.selected) {
    if (i < 0 || i >= this.boxes.length || this.boxes[i].label === name) return;
    this.begin();
    this.boxes[i] = { ...this.boxes[i], label: name };
    this.onChange({ answer: true });
  }
}
