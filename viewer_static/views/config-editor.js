// The Configuration tab: a document edited as a form or as JSON (one draft for both), saved with If-Match on the
// version loaded. A rejected field is shown at the field; an edit someone else overtook (412) offers Reload.

import { ApiError, api, isStale, unlessMissing } from "../api.js";
import { fill, h, loading, nextId } from "../dom.js";
import { clearFieldErrors, showFieldError } from "../field-errors.js";
import { formatDate, t } from "../i18n.js";
import { errorText, flash, problem } from "../notices.js";
import { clone } from "../objects.js";
import { state } from "../state.js";
import { buildConfigForm, buildJsonEditor, formToDoc, parseJsonDoc } from "./config-form.js";
import { tenantTypes, typePicker } from "./type-picker.js";

export async function renderConfig(body, route) {
  const type = route.type || "config";
  fill(body, loading());
  const types = (await tenantTypes(route)).filter((x) => x !== "credentials");
  let editor;
  try {
    editor = await openEditor(route, type);
  } catch (err) {
    fill(body, problem(err));
    return;
  }
  editor.keep = false;
  if (type !== "config") editor.mode = "json";
  const page = new ConfigPage(body, route, type, editor);
  state.syncDraft = () => page.syncDraft();
  fill(body, typePicker(route, types, "config"), page.versionLine(), page.form);
  page.drawEditor();
}

// The editor kept from the last render (after a save or a language switch), else the document loaded afresh.
// The view mode (form or JSON) carries over from whatever was open before.
async function openEditor(route, type) {
  const id = `${route.tenant}/${route.domain}/${type}`;
  const before = state.editor;
  if (before && before.id === id && before.keep) return before;
  const loaded = await unlessMissing(api.getDoc(route.tenant, route.domain, type));
  state.editor = { id, loaded, missing: loaded === null, draft: clone(loaded ? loaded.data : {}) || {},
    mode: before && before.mode ? before.mode : "form", keep: false };
  return state.editor;
}

class ConfigPage {
  constructor(body, route, type, editor) {
    Object.assign(this, { body, route, type, editor });
    this.formHost = h("div");
    this.banner = h("div", { class: "banner-host" });
    this.saveButton = h("button", { type: "submit", class: "primary" }, t("common.save"));
    this.form = h("form", { class: "config-form", novalidate: true, "aria-describedby": "config-version",
      onsubmit: (event) => { event.preventDefault(); this.save(); } },
    this.modePicker(), this.banner, this.formHost, h("div", { class: "actions sticky" }, this.saveButton));
  }

  versionLine() {
    const { loaded, missing } = this.editor;
    return h("p", { class: "version-line", id: "config-version" }, missing ? t("config.missing", { type: this.type })
      : t("config.status", { version: loaded.version, when: formatDate(loaded.updated_at) }));
  }

  // Only the `config` document has a form; other types are edited as JSON.
  modePicker() {
    if (this.type !== "config") return h("p", { class: "muted" }, t("config.form.only_json"));
    const name = nextId("mode");
    return h("fieldset", { class: "segmented" },
      h("legend", {}, t("config.view")),
      ["form", "json"].map((mode) => {
        const input = h("input", { type: "radio", name, value: mode, checked: this.editor.mode === mode,
          id: `${name}-${mode}`, onchange: () => this.switchMode(mode) });
        return h("span", {}, input, h("label", { for: input.id }, t(`config.view.${mode}`)));
      }));
  }

  drawEditor() {
    const { mode, draft } = this.editor;
    fill(this.formHost, mode === "form" ? buildConfigForm(draft) : buildJsonEditor(draft));
  }

  // The document as the user has it now; JSON that does not parse throws, with the message to show.
  currentDoc() {
    if (this.editor.mode === "form") return formToDoc(this.formHost, this.editor.draft);
    return parseJsonDoc(this.formHost.querySelector("textarea").value);
  }

  // Keeps what is typed for the next render (the language toggle); a draft that does not parse is dropped.
  syncDraft() {
    try {
      this.editor.draft = this.currentDoc();
      this.editor.keep = true;
    } catch {
      this.editor.keep = false;
    }
  }

  switchMode(mode) {
    this.clearBanner();
    try {
      this.editor.draft = this.currentDoc();
    } catch (err) {
      this.showBanner(err.message, "error");
      this.form.querySelector(`input[value="${this.editor.mode}"]`).checked = true;
      return;
    }
    this.editor.mode = mode;
    this.drawEditor();
  }

  clearBanner() {
    this.banner.replaceChildren();
    clearFieldErrors(this.formHost);
  }

  showBanner(message, kind, extra) {
    fill(this.banner, h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" },
      h("p", {}, message), extra || null));
  }

  async save() {
    this.clearBanner();
    let data;
    try {
      data = this.currentDoc();
    } catch (err) {
      this.showBanner(err.message, "error");
      return;
    }
    this.editor.draft = data;
    this.setBusy(true);
    try {
      await this.put(data);
      return;
    } catch (err) {
      this.showSaveError(err);
    }
    this.setBusy(false);
  }

  setBusy(busy) {
    this.saveButton.disabled = busy;
    this.saveButton.textContent = t(busy ? "common.saving" : "common.save");
  }

  // Saved: the page shows the version now stored (read back), in the same view mode.
  async put(data) {
    const { body, route, type, editor } = this;
    const result = await api.putDoc(route.tenant, route.domain, type, data, editor.missing ? null : editor.loaded.version);
    const fresh = await api.getDoc(route.tenant, route.domain, type).catch(() => null);
    state.tenants = null;
    state.editor = { id: editor.id, loaded: fresh || { ...editor.loaded, version: result.version, data }, missing: false,
      draft: clone(fresh ? fresh.data : data), mode: editor.mode, keep: true };
    flash(t("config.saved", { version: result.version }));
    renderConfig(body, route);
  }

  showSaveError(err) {
    if (isStale(err)) {
      const reload = () => {
        state.editor = null;
        renderConfig(this.body, this.route);
      };
      this.showBanner(t("config.stale", { version: this.editor.loaded.version }), "error",
        h("button", { type: "button", onclick: reload }, t("common.reload")));
    } else if (err instanceof ApiError && err.field) {
      this.showBanner(t("config.invalid", { message: err.message }), "error",
        h("p", {}, t("config.invalid_field", { field: err.field })));
      if (this.editor.mode === "form") showFieldError(this.formHost, err.field, err.message);
    } else {
      this.showBanner(errorText(err), "error");
    }
  }
}
