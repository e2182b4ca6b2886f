// The reviewer's correction: the project's own interface (js/interfaces/<kind>.js, contract D), pre-filled
// with the consensus, so a correction is made with the same keys and checks an annotator uses.

import { h, loadCss } from "../dom.js";

const INTERFACES = {
  image_classes: ["image_classes.js", "classes.css"],
  text_classes: ["text_classes.js", "classes.css"],
  image_boxes: ["image_boxes.js", "boxes.css"],
  transcription: ["transcription.js", "transcription.css"],
};

async function media(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`could not load ${url} (${response.status})`);
  return response.blob();
}

/**
 * Mount the interface for `detail` (GET …/review/{task}) in `root`; keys go to `hotkeys` (a Hotkeys) and are
 * removed by the returned controller's destroy(). Resolves to the interface's controller: value(), focus().
 */
export async function openEditor(root, { project, detail, hotkeys, initial }) {
  const spec = INTERFACES[project.kind];
  if (!spec) throw new Error(`No editor for projects of kind "${project.kind}"`);
  const [module] = await Promise.all([import(`../interfaces/${spec[0]}`), loadCss(`/static/css/${spec[1]}`)]);
  const offs = [];
  const keys = {
    register: (...args) => {
      const off = hotkeys.register(...args);
      offs.push(off);
      return off;
    },
    list: () => hotkeys.list(),
    toggleHelp: () => hotkeys.toggleHelp(),
  };
  const area = h("div.ws-interface", { dataset: { taskId: detail.task_id } });
  root.append(area);
  const task = { task_id: detail.task_id, item: detail.item, schema_version: detail.schema_version, predictions: [] };
  const controller = await module.mount(area, {
    task, project, schema: project.schema, initial, hotkeys: keys, media, changed: () => {},
  });
  area.dataset.ready = "true";
  return {
    value: () => controller.value(),
    focus: () => controller.focus(),
    destroy() {
      for (const off of offs.splice(0)) off();
      try {
        controller.destroy();
      } finally {
        area.remove();
      }
    },
  };
}
