// Config Viewer: plain DOM and ES modules, no build step. This entry is the router: it draws the page chrome in the
// current language and the view the hash names (views/), and handles sign-out, a refused key and the language toggle.

import { adminKey, setUnauthorizedHandler, signOut } from "./api.js";
import { lang, setLang, t } from "./i18n.js";
import { clearFlash } from "./notices.js";
import { parseRoute } from "./routes.js";
import { forgetAll, state } from "./state.js";
import { renderMappings } from "./views/mappings.js";
import { renderSignIn } from "./views/signin.js";
import { renderTenant } from "./views/tenant.js";
import { renderTenants } from "./views/tenants.js";
import { renderVectorizePage } from "./views/vectorize.js";

// Route name → view(root, route, redraw); `redraw` draws the same route again (e.g. Refresh).
const VIEWS = new Map([
  ["tenants", renderTenants],
  ["mappings", renderMappings],
  ["vectorize", renderVectorizePage],
  ["tenant", renderTenant],
]);

// `focus` moves focus to the page heading (after navigating); `message` is shown on the sign-in form.
function render({ focus = false, message } = {}) {
  const signedIn = Boolean(adminKey());
  drawChrome(signedIn);
  const route = parseRoute();
  markCurrentNav(route);
  const root = document.getElementById("main");
  root.replaceChildren();
  if (signedIn) VIEWS.get(route.name)(root, route, () => render());
  else renderSignIn(root, { message, onSignedIn });
  if (focus) {
    const heading = root.querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: false });
    }
  }
}

// The labels of index.html in the current language; the nav and Sign out only for a signed-in tab.
function drawChrome(signedIn) {
  document.title = t("app.title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  const langButton = document.getElementById("lang");
  langButton.textContent = t("lang.toggle");
  langButton.setAttribute("aria-label", t("lang.toggle.label"));
  langButton.setAttribute("lang", lang() === "en" ? "pt-BR" : "en");
  const nav = document.getElementById("nav");
  nav.setAttribute("aria-label", t("nav.label"));
  nav.hidden = !signedIn;
  document.getElementById("signout").hidden = !signedIn;
}

function markCurrentNav(route) {
  for (const link of document.querySelectorAll("#nav a")) {
    const active = link.dataset.route === route.name || (route.name === "tenant" && link.dataset.route === "tenants");
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function onSignedIn() {
  forgetAll();
  clearFlash();
  render({ focus: true });
}

setUnauthorizedHandler(() => {
  signOut();
  forgetAll();
  render({ message: t("signin.expired") });
});

document.getElementById("lang").addEventListener("click", () => {
  setLang(lang() === "en" ? "pt-BR" : "en");
  // Keep what is being typed in the configuration editor across the re-render.
  const route = parseRoute();
  if (route.name === "tenant" && route.tab === "config" && state.syncDraft && document.querySelector(".config-form")) {
    state.syncDraft();
  }
  render();
});

document.getElementById("signout").addEventListener("click", () => {
  signOut();
  forgetAll();
  clearFlash();
  location.hash = "#/";
  render({ focus: true });
});

window.addEventListener("hashchange", () => {
  clearFlash();
  render({ focus: true });
});

setLang(lang());
render();
