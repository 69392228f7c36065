// Saved templates for a form (kompira.conf [template:NAME] sections): a select that fills the
// form, "Save as template…" with a name, and delete. Both forms share one list, refreshed
// whenever either changes it.
import { register, t, translate } from "./i18n.js";
import { command } from "./calls.js";


register({
  en: {
    "tpl.label": "Template", "tpl.none": "— none —", "tpl.saveAs": "Save as template…",
    "tpl.name": "Template name", "tpl.save": "Save", "tpl.cancel": "Cancel", "tpl.delete": "Delete template",
    "tpl.saved": "Saved template: ", "tpl.deleted": "Deleted template: ",
  },
  ja: {
    "tpl.label": "テンプレート", "tpl.none": "— なし —", "tpl.saveAs": "テンプレートとして保存…",
    "tpl.name": "テンプレート名", "tpl.save": "保存", "tpl.cancel": "キャンセル", "tpl.delete": "テンプレートを削除",
    "tpl.saved": "テンプレートを保存しました: ", "tpl.deleted": "テンプレートを削除しました: ",
  },
});

let templates = [];
const pickers = [];

function publish(list) {
  templates = list;
  for (const picker of pickers) picker.render();
}

async function loadTemplates() {
  try {
    publish(await command("list_templates"));
  } catch (message) {
    for (const picker of pickers) picker.showError(String(message));
  }
}

function element(tag, props = {}) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "i18n") el.dataset.i18n = value;
    else if (key === "label") el.dataset.i18nLabel = value;
    else el[key] = value;
  }
  return el;
}

// `kind` is "event" or "jobflow"; `fill(template)` puts a template in the form; `collect()`
// returns the form as a template without its name (or throws a message to show).
export function createTemplatePicker(container, kind, { fill, collect }) {
  const prefix = `${kind}-tpl`;
  const label = element("label", { htmlFor: `${prefix}-select`, i18n: "tpl.label" });
  const select = element("select", { id: `${prefix}-select` });
  const saveAs = element("button", { type: "button", i18n: "tpl.saveAs" });
  const remove = element("button", { type: "button", i18n: "tpl.delete", disabled: true });
  const row = element("div", { className: "toolbar" });
  row.append(select, saveAs, remove);

  const nameBox = element("div", { className: "toolbar", hidden: true });
  const nameLabel = element("label", { htmlFor: `${prefix}-name`, className: "visually-hidden", i18n: "tpl.name" });
  const name = element("input", { id: `${prefix}-name`, autocomplete: "off", spellcheck: false });
  name.dataset.i18nPlaceholder = "tpl.name";
  const save = element("button", { type: "button", i18n: "tpl.save" });
  const cancel = element("button", { type: "button", i18n: "tpl.cancel" });
  nameBox.append(nameLabel, name, save, cancel);

  const error = element("p", { className: "error", hidden: true });
  error.setAttribute("role", "alert");
  const done = element("p", { className: "result", hidden: true });
  done.setAttribute("role", "status");
  container.classList.add("templates");
  container.append(label, row, nameBox, error, done);
  translate(container);

  const say = (el, text) => {
    error.hidden = done.hidden = true;
    if (el) {
      el.textContent = text;
      el.hidden = false;
    }
  };
  const mine = () => templates.filter((tpl) => tpl.kind === kind);

  function render() {
    const chosen = select.value;
    const none = element("option", { value: "", i18n: "tpl.none" });
    none.textContent = t("tpl.none");
    const options = mine().map((tpl) => {
      const option = element("option", { value: tpl.name });
      option.textContent = tpl.name;
      return option;
    });
    select.replaceChildren(none, ...options);
    select.value = mine().some((tpl) => tpl.name === chosen) ? chosen : "";
    remove.disabled = !select.value;
  }

  select.addEventListener("change", () => {
    remove.disabled = !select.value;
    const tpl = mine().find((x) => x.name === select.value);
    if (tpl) fill(tpl);
    say(null);
  });

  saveAs.addEventListener("click", () => {
    nameBox.hidden = false;
    name.value = select.value;
    name.focus();
    name.select();
  });
  const closeNameBox = () => { nameBox.hidden = true; saveAs.focus(); };
  cancel.addEventListener("click", closeNameBox);

  async function doSave() {
    let template;
    try {
      template = { ...collect(), kind, name: name.value };
    } catch (message) {
      return say(error, String(message));
    }
    try {
      publish(await command("save_template", { template }));
      select.value = name.value.trim();
      remove.disabled = !select.value;
      nameBox.hidden = true;
      say(done, t("tpl.saved") + name.value.trim());
    } catch (message) {
      say(error, String(message));
    }
  }
  save.addEventListener("click", doSave);
  name.addEventListener("keydown", (e) => {
    // Enter saves the template, not the form around it; Esc closes only the name box.
    if (e.key === "Enter") { e.preventDefault(); e.stopPropagation(); doSave(); }
    if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); closeNameBox(); }
  });

  remove.addEventListener("click", async () => {
    const chosen = select.value;
    if (!chosen) return;
    try {
      publish(await command("delete_template", { name: chosen }));
      say(done, t("tpl.deleted") + chosen);
    } catch (message) {
      say(error, String(message));
    }
  });

  const picker = { render, showError: (text) => say(error, text) };
  pickers.push(picker);
  render();
  if (pickers.length === 1) loadTemplates();
  document.addEventListener("language-changed", render);
  return picker;
}
