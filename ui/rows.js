// KEY=VALUE rows editor, shared by the Quick send and Job flow forms: add, remove, move up and
// down (buttons with labels, reachable by keyboard), and inline checks that mirror the engine's
// (empty key, '=' in a key, a key used twice). The command checks again; this only tells early.
import { register, t, translate } from "./i18n.js";

register({
  en: {
    "rows.key": "Key", "rows.value": "Value", "rows.add": "Add row",
    "rows.up": "Move row up", "rows.down": "Move row down", "rows.remove": "Remove row",
    "rows.emptyKey": "The key is empty.", "rows.equals": "A key cannot contain '='.",
    "rows.duplicate": "This key is already used above.",
    "rows.expression": "Expression",
    "rows.expressionHelp": "Off: the value is sent as text, exactly as typed. On: it is a Kompira expression (42, true, [1, \"a\"], $VAR).",
  },
  ja: {
    "rows.key": "キー", "rows.value": "値", "rows.add": "行を追加",
    "rows.up": "行を上へ", "rows.down": "行を下へ", "rows.remove": "行を削除",
    "rows.emptyKey": "キーが空です。", "rows.equals": "キーに '=' は使えません。",
    "rows.duplicate": "このキーは上で使われています。",
    "rows.expression": "式",
    "rows.expressionHelp": "オフ: 値は入力したとおりの文字列として送られます。オン: Kompira の式として評価されます (42, true, [1, \"a\"], $VAR)。",
  },
});

// The problem of each row (a text key for t()), or null; same rules as `check_rows`.
export function rowProblems(rows) {
  const seen = new Set();
  return rows.map(({ key, value }) => {
    const k = key.trim();
    if (!k && !value.trim()) return null;
    if (!k) return "rows.emptyKey";
    if (k.includes("=")) return "rows.equals";
    if (seen.has(k)) return "rows.duplicate";
    seen.add(k);
    return null;
  });
}

function iconButton(text, labelKey, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = text;
  button.dataset.i18nLabel = labelKey;
  button.setAttribute("aria-label", t(labelKey));
  button.title = t(labelKey);
  button.addEventListener("click", onClick);
  return button;
}

// Turns an empty container into an editor; `name` prefixes ids and labels ("fields", "params").
// With `expressions`, each row has an "Expression" switch (job-flow parameters): off by default,
// so a value is text unless the person asks for a Kompira expression.
export function createRowsEditor(container, name, { expressions = false } = {}) {
  container.classList.add("rows");
  const list = document.createElement("ol");
  list.className = "row-list";
  const add = document.createElement("button");
  add.type = "button";
  add.dataset.i18n = "rows.add";
  add.textContent = t("rows.add");
  container.append(list, add);
  let counter = 0;

  const items = () => [...list.children];
  const read = () => items().map((item) => {
    const row = { key: item.querySelector(".row-key").value, value: item.querySelector(".row-value").value };
    if (expressions) row.expression = item.querySelector(".row-expression").checked;
    return row;
  });

  function check() {
    const problems = rowProblems(read());
    items().forEach((item, i) => {
      const note = item.querySelector(".row-problem");
      const key = item.querySelector(".row-key");
      note.textContent = problems[i] ? t(problems[i]) : "";
      note.hidden = !problems[i];
      key.setAttribute("aria-invalid", String(Boolean(problems[i])));
      item.querySelector(".row-up").disabled = i === 0;
      item.querySelector(".row-down").disabled = i === problems.length - 1;
    });
    return problems.every((p) => p === null);
  }

  function move(item, offset) {
    const target = offset < 0 ? item.previousElementSibling : item.nextElementSibling?.nextElementSibling;
    list.insertBefore(item, target ?? null);
    check();
    // Keep the focus on the button pressed, or on its twin when it became disabled at an end.
    const button = item.querySelector(offset < 0 ? ".row-up" : ".row-down");
    (button.disabled ? item.querySelector(offset < 0 ? ".row-down" : ".row-up") : button).focus();
  }

  function addRow(key = "", value = "", focus = false, expression = false) {
    const id = `${name}-row-${++counter}`;
    const item = document.createElement("li");
    const keyInput = document.createElement("input");
    keyInput.className = "row-key";
    keyInput.id = `${id}-key`;
    keyInput.value = key;
    keyInput.spellcheck = false;
    keyInput.autocomplete = "off";
    keyInput.placeholder = t("rows.key");
    keyInput.dataset.i18nPlaceholder = "rows.key";
    keyInput.setAttribute("aria-label", t("rows.key"));
    keyInput.dataset.i18nLabel = "rows.key";
    const valueInput = document.createElement("input");
    valueInput.className = "row-value";
    valueInput.value = value;
    valueInput.spellcheck = false;
    valueInput.autocomplete = "off";
    valueInput.placeholder = t("rows.value");
    valueInput.dataset.i18nPlaceholder = "rows.value";
    valueInput.setAttribute("aria-label", t("rows.value"));
    valueInput.dataset.i18nLabel = "rows.value";
    const note = document.createElement("span");
    note.className = "row-problem error";
    note.id = `${id}-problem`;
    note.hidden = true;
    keyInput.setAttribute("aria-describedby", note.id);
    const up = iconButton("↑", "rows.up", () => move(item, -1));
    up.classList.add("row-up");
    const down = iconButton("↓", "rows.down", () => move(item, 1));
    down.classList.add("row-down");
    const remove = iconButton("✕", "rows.remove", () => {
      const next = item.nextElementSibling ?? item.previousElementSibling;
      item.remove();
      if (!list.children.length) addRow();
      check();
      (next ?? list.lastElementChild)?.querySelector(".row-key").focus();
    });
    remove.classList.add("row-remove");
    for (const input of [keyInput, valueInput]) input.addEventListener("input", check);
    // Enter moves on (key → value → next row, adding one at the end) instead of submitting
    // the form: running a job flow takes Ctrl+Enter or the button.
    keyInput.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.ctrlKey) { e.preventDefault(); valueInput.focus(); }
    });
    valueInput.addEventListener("keydown", (e) => {
      if (e.key !== "Enter" || e.ctrlKey) return;
      e.preventDefault();
      const next = item.nextElementSibling;
      if (next) next.querySelector(".row-key").focus();
      else addRow("", "", true);
    });
    item.append(keyInput, valueInput);
    if (expressions) {
      const label = document.createElement("label");
      label.className = "row-expression-switch";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.className = "row-expression";
      box.id = `${id}-expression`;
      box.checked = expression;
      const text = document.createElement("span");
      text.dataset.i18n = "rows.expression";
      text.textContent = t("rows.expression");
      label.title = t("rows.expressionHelp");
      label.dataset.i18nTitle = "rows.expressionHelp";
      label.append(box, text);
      item.append(label);
    }
    item.append(up, down, remove, note);
    list.append(item);
    check();
    if (focus) keyInput.focus();
  }

  add.addEventListener("click", () => addRow("", "", true));

  const editor = {
    // Non-blank rows as {key, value}; blank rows are left out (the command skips them too).
    rows: () => read().filter((r) => r.key.trim() || r.value.trim()),
    // Replaces every row; always leaves one row to type in.
    set(rows) {
      list.replaceChildren();
      for (const r of rows) addRow(r.key, r.value, false, Boolean(r.expression));
      if (!rows.length) addRow();
    },
    // True when every row is fine; marks the bad ones.
    check,
  };
  editor.set([]);
  document.addEventListener("language-changed", () => {
    translate(container);
    for (const button of container.querySelectorAll("button[data-i18n-label]")) button.title = button.getAttribute("aria-label");
    for (const label of container.querySelectorAll("[data-i18n-title]")) label.title = t(label.dataset.i18nTitle);
    check();
  });
  return editor;
}
