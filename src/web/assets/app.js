// AgentIQ web queue. No framework, no inline script (the CSP forbids it).
// Everything the page shows comes from the server as escaped HTML; this file
// only re-fetches fragments, runs dialogs and sends actions.
(function () {
  "use strict";
  const body = document.body;
  const t = JSON.parse(body.dataset.i18n || "{}");
  const csrf = body.dataset.csrf || "";

  function toast(message, bad) {
    const el = document.getElementById("toast");
    if (!el) return;
    el.textContent = message;
    el.className = bad ? "show bad" : "show";
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { el.className = ""; }, 4000);
  }

  async function post(path, payload) {
    const res = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload || {}),
      credentials: "same-origin",
    });
    let data = {};
    try { data = await res.json(); } catch (_) { /* empty body */ }
    if (!res.ok) throw new Error(data.error || (t.error + " " + res.status));
    return data;
  }

  // ---- fragments and live updates ----
  async function refresh(el) {
    const url = el.dataset.fragment;
    if (!url) return;
    // Refreshes can overlap and their answers arrive in any order: an older
    // answer must never overwrite a newer one, or the page would stay stale
    // until the next change.
    const seq = (el.__asked = (el.__asked || 0) + 1);
    const res = await fetch(url, { credentials: "same-origin" });
    if (res.status === 401 || res.redirected) { location.href = "/login"; return; }
    if (!res.ok) return;
    const html = await res.text();
    if (seq < (el.__shown || 0)) return;
    el.__shown = seq;
    const editor = el.querySelector("#editor");
    const kept = editor ? { value: editor.value, start: editor.selectionStart, end: editor.selectionEnd, focused: document.activeElement === editor } : null;
    el.innerHTML = html;
    const fresh = el.querySelector("#editor");
    if (kept && fresh) {
      fresh.value = kept.value;
      if (kept.focused) { fresh.focus(); fresh.setSelectionRange(kept.start, kept.end); }
    }
    tick();
    count();
    restoreSelection();
  }

  function refreshAll() {
    document.querySelectorAll("[data-fragment]").forEach(refresh);
  }

  let pending = null;
  function scheduleRefresh() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; refreshAll(); }, 150);
  }

  if (document.querySelector("[data-fragment]")) {
    const events = new EventSource("/events");
    events.addEventListener("changed", scheduleRefresh);
    // The server only reports changes made after it subscribed us, so whatever
    // changed between rendering this page and (re)connecting is fetched now;
    // otherwise a draft created in that gap would stay invisible until the next one.
    events.onopen = scheduleRefresh;
    events.onerror = () => { /* the browser reconnects by itself */ };
  }

  // ---- times ----
  function pad(n) { return String(n).padStart(2, "0"); }
  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-send-at]").forEach((el) => {
      const left = Math.max(0, Math.round((Number(el.dataset.sendAt) - now) / 1000));
      el.textContent = Math.floor(left / 60) + ":" + pad(left % 60);
    });
    document.querySelectorAll("time[data-at]").forEach((el) => {
      const d = new Date(Number(el.dataset.at));
      el.textContent = pad(d.getDate()) + "." + pad(d.getMonth() + 1) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
    });
    document.querySelectorAll(".ago[data-at]").forEach((el) => {
      const at = Number(el.dataset.at);
      if (!at) { el.textContent = ""; return; }
      const s = Math.max(0, Math.round((now - at) / 1000));
      el.textContent = s < 60 ? s + " с назад" : Math.floor(s / 60) + " мин назад";
    });
  }
  setInterval(tick, 1000);
  tick();

  // ---- editor ----
  function count() {
    const editor = document.getElementById("editor");
    const out = document.getElementById("count");
    if (!editor || !out) return;
    const n = Array.from(editor.value.trim()).length;
    out.textContent = n;
    out.parentElement.classList.toggle("over", n > Number(editor.dataset.max));
  }
  document.addEventListener("input", (e) => { if (e.target.id === "editor") count(); });
  count();

  // ---- dialogs ----
  // `check` (approve only) is the server's guard verdict on exactly `text`:
  // every finding is listed, and an error needs a reason to go out anyway.
  function ask(kind, text, check) {
    const dialog = document.getElementById("confirm");
    const reasonLabel = document.getElementById("confirm-reason-label");
    const reason = document.getElementById("confirm-reason");
    const overrideLabel = document.getElementById("confirm-override-label");
    const override = document.getElementById("confirm-override");
    const checkBox = document.getElementById("confirm-check");
    const list = document.getElementById("confirm-findings");
    const titles = { reject: t.reject, retract: t.confirm_retract };
    const blocked = !!(check && check.blocked);
    document.getElementById("confirm-title").textContent = titles[kind] || t.confirm_send;
    document.getElementById("confirm-text").textContent = text;
    document.getElementById("confirm-question").textContent = kind === "approve" ? t.confirm_question : "";
    document.getElementById("confirm-yes").textContent =
      kind === "reject" ? t.reject : kind === "retract" ? t.retract : blocked ? t.send_anyway : t.yes;
    list.textContent = "";
    checkBox.hidden = !check;
    if (check) {
      document.getElementById("confirm-check-title").textContent = check.findings.length ? t.confirm_findings : t.confirm_clean;
      check.findings.forEach((f) => {
        const li = document.createElement("li");
        li.className = f.severity === "error" ? "error" : "warning";
        li.textContent = (f.severity === "error" ? t.severity_error : t.severity_warning) + ": " + f.message + (f.excerpt ? " — «" + f.excerpt + "»" : "");
        list.appendChild(li);
      });
    }
    reasonLabel.hidden = kind !== "reject";
    overrideLabel.hidden = !blocked;
    reason.value = "";
    override.value = "";
    return new Promise((resolve) => {
      dialog.onclose = () => resolve({ ok: dialog.returnValue === "yes", reason: reason.value, override: override.value.trim() });
      dialog.returnValue = "";
      dialog.showModal();
      (kind === "reject" ? reason : blocked ? override : document.getElementById("confirm-yes")).focus();
    });
  }

  async function act(action, id, text) {
    try {
      if (action === "approve") {
        const editor = document.getElementById("editor");
        const value = (editor ? editor.value : text || "").trim();
        if (!value) { toast(t.empty, true); return; }
        const max = editor ? Number(editor.dataset.max) : 1000;
        if (Array.from(value).length > max) { toast(t.too_long, true); return; }
        const check = await post("/api/drafts/" + id + "/check", { text: value });
        const answer = await ask("approve", check.text, check);
        if (!answer.ok) return;
        if (check.blocked && !answer.override) { toast(t.override_needed, true); return; }
        const payload = { text: check.text };
        if (check.blocked) payload.override = answer.override;
        await post("/api/drafts/" + id + "/approve", payload);
      } else if (action === "reject") {
        const outgoing = document.querySelector("#actions blockquote.outgoing");
        const answer = await ask("reject", text || (document.getElementById("editor") || {}).value || (outgoing ? outgoing.textContent : ""));
        if (!answer.ok) return;
        await post("/api/drafts/" + id + "/reject", { reason: answer.reason });
      } else if (action === "retag") {
        const select = document.getElementById("retag");
        await post("/api/drafts/" + id + "/retag", { intent: select.value });
      } else if (action === "cancel") {
        await post("/api/drafts/" + id + "/cancel", {});
      } else if (action === "send-now") {
        await post("/api/drafts/" + id + "/send-now", {});
      } else if (action === "retry") {
        await post("/api/drafts/" + id + "/retry", {});
      } else if (action === "dismiss") {
        await post("/api/drafts/" + id + "/dismiss", {});
      } else if (action === "retract") {
        const outgoing = document.querySelector("#actions blockquote.outgoing");
        const answer = await ask("retract", outgoing ? outgoing.textContent : "");
        if (!answer.ok) return;
        await post("/api/drafts/" + id + "/retract", {});
      }
      toast(t.done, false);
      refreshAll();
    } catch (err) {
      toast(err.message, true);
    }
  }

  document.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-action]");
    if (button) { act(button.dataset.action, button.dataset.id); return; }
    if (e.target.id === "logout") {
      fetch("/logout", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" })
        .then(() => { location.href = "/login"; });
      return;
    }
    const row = e.target.closest("tr.row");
    if (row && !e.target.closest("a")) location.href = "/drafts/" + row.dataset.id;
  });

  // ---- keyboard ----
  let selected = null;
  function rows() { return Array.from(document.querySelectorAll("tr.row")); }
  function select(index) {
    const all = rows();
    if (!all.length) return;
    const i = Math.max(0, Math.min(all.length - 1, index));
    all.forEach((r) => r.classList.remove("selected"));
    all[i].classList.add("selected");
    all[i].focus();
    selected = all[i].dataset.id;
  }
  function restoreSelection() {
    if (!selected) return;
    const i = rows().findIndex((r) => r.dataset.id === selected);
    if (i >= 0) rows()[i].classList.add("selected");
  }
  function current() { return rows().findIndex((r) => r.dataset.id === selected); }

  document.addEventListener("keydown", (e) => {
    const typing = e.target.tagName === "TEXTAREA" || e.target.tagName === "INPUT" || e.target.tagName === "SELECT";
    if (document.getElementById("confirm").open) return;
    if (e.target.id === "editor" && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      const b = document.querySelector('button[data-action="approve"]');
      if (b) { e.preventDefault(); act("approve", b.dataset.id); }
      return;
    }
    if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
    const draftButton = (a) => document.querySelector('button[data-action="' + a + '"]');
    if (e.key === "j") { select(current() + 1); e.preventDefault(); }
    else if (e.key === "k") { select(current() - 1); e.preventDefault(); }
    else if ((e.key === "Enter" || e.key === "o") && selected) { location.href = "/drafts/" + selected; }
    else if (e.key === "a") {
      const b = draftButton("approve");
      if (b) { act("approve", b.dataset.id); return; }
      const row = rows()[current()];
      if (row && row.dataset.state === "pending") act("approve", row.dataset.id, row.dataset.text);
    } else if (e.key === "r") {
      const b = draftButton("reject");
      if (b) { act("reject", b.dataset.id); return; }
      const row = rows()[current()];
      if (row && row.dataset.state === "pending") act("reject", row.dataset.id, row.dataset.text);
    }
  });
})();
