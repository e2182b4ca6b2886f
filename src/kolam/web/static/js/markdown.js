// Project instructions as managers write them: a small, safe subset of Markdown built as DOM nodes (never
// innerHTML, so an instruction can't inject markup): headings, paragraphs, bullet and numbered lists,
// **bold**, *italic* / _italic_, `code` and links to http(s) addresses.

import { h } from "./dom.js";

const INLINE = /(\*\*[^*]+\*\*|`[^`]+`|\*[^*\s][^*]*\*|_[^_\s][^_]*_|\[[^\]]+\]\(https?:\/\/[^\s)]+\))/;

function inline(text) {
  return text
    .split(INLINE)
    .filter(Boolean)
    .map((part) => {
      if (part.startsWith("**") && part.endsWith("**") && part.length > 4) return h("strong", {}, part.slice(2, -2));
      if (part.startsWith("`") && part.endsWith("`") && part.length > 2) return h("code", {}, part.slice(1, -1));
      const link = part.match(/^\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)$/);
      if (link) return h("a", { href: link[2], target: "_blank", rel: "noopener noreferrer" }, link[1]);
      if (/^([*_]).+\1$/.test(part) && part.length > 2) return h("em", {}, part.slice(1, -1));
      return part;
    });
}

/** A DocumentFragment for `source`; blank lines separate blocks. */
export function renderMarkdown(source) {
  const out = document.createDocumentFragment();
  let list = null;
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) out.append(h("p", {}, inline(paragraph.join(" "))));
    paragraph = [];
  };
  for (const raw of String(source || "").split(/\r?\n/)) {
    const line = raw.trim();
    const heading = line.match(/^(#{1,4})\s+(.*)$/);
    const bullet = line.match(/^[*-]\s+(.*)$/);
    const numbered = line.match(/^\d+[.)]\s+(.*)$/);
    if (bullet || numbered) {
      flush();
      const tag = bullet ? "ul" : "ol";
      if (!list || list.tagName.toLowerCase() !== tag) out.append((list = h(tag)));
      list.append(h("li", {}, inline((bullet || numbered)[1])));
      continue;
    }
    list = null;
    if (!line) flush();
    else if (heading) {
      flush();
      out.append(h(`h${Math.min(6, heading[1].length + 2)}`, {}, inline(heading[2])));
    } else paragraph.push(line);
  }
  flush();
  return out;
}
