// AgentIQ web queue. No framework, no inline script (the CSP forbids it).
// Everything the page shows comes from the server as escaped HTML; this file
// only re-fetches fragments, runs dialogs, saves what a person types and
// sends actions.
(function () {
  "use strict";
  const body = document.body;
  const t = JSON.parse(body.dataset.i18n || "{}");
  const csrf = body.dataset.csrf || "";
  const baseTitle = document.title;

  function toast(message, bad) {
    const el = document.getElementById("toast");
    if (!el) return;
    el.textContent = message;
    el.className = bad ? "show bad" : "show";
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { el.className = ""; }, 4000);
  }

  // ---- connection ----
  // The banner shows while the daemon cannot be reached (a fetch fails or
  // the event stream drops) and goes when it answers again.
  function offline(down) {
    const el = document.getElementById("offline");
    if (el) el.hidden = !down;
  }

  // A page that is not ours to load any more (the session ended): keep
  // what is typed in this tab and come back here after logging in.
  function toLogin() {
    keepLocally();
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
  }

  class Unauthorized extends Error {}

  async function request(path, options) {
    let res;
    try {
      res = await fetch(path, { credentials: "same-origin", ...options });
    } catch (err) {
      offline(true);
      throw new Error(t.offline);
    }
    offline(false);
    if (res.status === 401) { toLogin(); throw new Unauthorized(t.login_expired); }
    return res;
  }

  async function post(path, payload) {
    const res = await request(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload || {}),
    });
    let data = {};
    try { data = await res.json(); } catch (_) { /* empty body */ }
    if (!res.ok) throw new Error(data.error || (t.error + " " + res.status));
    return data;
  }

  // ---- what a person types is saved as they type ----
  const unsavedKey = (id) => "agentiq-unsaved-" + id;
  let saveTimer = null;
  let saving = null;

  function editor() { return document.getElementById("editor"); }

  function keepLocally() {
    const ed = editor();
    if (ed && ed.dataset.dirty === "1") sessionStorage.setItem(unsavedKey(ed.dataset.draft), ed.value);
  }

  function savedMark(text) {
    const el = document.getElementById("saved");
    if (el) el.textContent = text;
  }

  async function saveNow() {
    clearTimeout(saveTimer);
    saveTimer = null;
    const ed = editor();
    if (!ed || ed.dataset.dirty !== "1") return;
    const id = ed.dataset.draft;
    const text = ed.value;
    sessionStorage.setItem(unsavedKey(id), text);
    savedMark(t.saving);
    try {
      await post("/api/drafts/" + id + "/working", { text });
      if (editor() === ed && ed.value === text) {
        ed.dataset.dirty = "0";
        sessionStorage.removeItem(unsavedKey(id));
      }
      savedMark(t.saved);
    } catch (err) {
      if (err instanceof Unauthorized) return;
      savedMark(t.save_failed);
      saveTimer = setTimeout(flush, 3000);
    }
  }

  function flush() {
    saving = (saving || Promise.resolve()).then(saveNow, saveNow);
    return saving;
  }

  function typed() {
    const ed = editor();
    if (!ed) return;
    ed.dataset.dirty = "1";
    sessionStorage.setItem(unsavedKey(ed.dataset.draft), ed.value);
    savedMark(t.saving);
    clearTimeout(saveTimer);
    saveTimer = setTimeout(flush, 600);
  }

  // Text typed in this tab that never reached the server (the daemon was
  // down, or the session ended) goes back into the editor.
  function restoreUnsaved() {
    const ed = editor();
    if (!ed) return;
    const kept = sessionStorage.getItem(unsavedKey(ed.dataset.draft));
    if (kept !== null && kept !== ed.value) {
      ed.value = kept;
      typed();
    } else if (kept !== null) {
      sessionStorage.removeItem(unsavedKey(ed.dataset.draft));
    }
  }
  window.addEventListener("pagehide", keepLocally);

  // ---- fragments and live updates ----
  async function refresh(el) {
    const url = el.dataset.fragment;
    if (!url) return;
    // Refreshes can overlap and their answers arrive in any order: an older
    // answer must never overwrite a newer one, or the page would stay stale
    // until the next change.
    const seq = (el.__asked = (el.__asked || 0) + 1);
    let res;
    try {
      res = await request(url, {});
    } catch (_) { return; }
    if (res.redirected) { toLogin(); return; }
    if (!res.ok) return;
    const html = await res.text();
    const ed = el.querySelector("#editor");
    if (ed) await flush();
    if (seq < (el.__shown || 0)) return;
    el.__shown = seq;
    const mark = el.querySelector("#saved");
    const kept = ed ? { draft: ed.dataset.draft, value: ed.value, dirty: ed.dataset.dirty, start: ed.selectionStart, end: ed.selectionEnd, focused: document.activeElement === ed, mark: mark ? mark.textContent : "" } : null;
    el.innerHTML = html;
    const fresh = el.querySelector("#editor");
    if (kept && fresh) {
      fresh.value = kept.value;
      fresh.dataset.dirty = kept.dirty || "0";
      if (kept.focused) { fresh.focus(); fresh.setSelectionRange(kept.start, kept.end); }
      // The same draft redrawn: "текст сохранён" still holds.
      if (fresh.dataset.draft === kept.draft && kept.mark) savedMark(kept.mark);
    }
    afterRender();
  }

  function refreshAll() {
    return Promise.all(Array.from(document.querySelectorAll("[data-fragment]")).map(refresh));
  }

  let pending = null;
  function scheduleRefresh() {
    if (pending) return;
    pending = setTimeout(() => { pending = null; refreshAll(); }, 150);
  }

  if (document.querySelector("[data-fragment]")) {
    const events = new EventSource("/events");
    let lost = false;
    events.addEventListener("changed", scheduleRefresh);
    // The server only reports changes made after it subscribed us. After a
    // lost stream everything is fetched again; on the first connection only
    // the lists are, so a draft created between rendering this page and
    // subscribing still shows up, while a form the person is already using
    // (the draft panel) is not redrawn under their hands.
    let first = true;
    events.onopen = () => {
      offline(false);
      if (first) {
        first = false;
        document.querySelectorAll("#queue[data-fragment], #inbox[data-fragment]").forEach(refresh);
      }
      if (lost) { lost = false; scheduleRefresh(); flush(); }
    };
    events.onerror = async () => {
      // The browser reconnects by itself. Whether the daemon is out of
      // reach or only refused the stream (an ended session) decides what
      // the page says.
      lost = true;
      let up = false;
      try { up = (await fetch("/healthz", { cache: "no-store" })).ok; } catch (_) { up = false; }
      offline(!up);
      if (up && events.readyState === EventSource.CLOSED) {
        await refreshAll();
        setTimeout(() => location.reload(), 5000);
      }
    };
    const sync = document.getElementById("sync");
    if (sync) setInterval(() => refresh(sync), 30000);
  }

  // ---- times, in the shop's time zone ----
  const formats = new Map();
  function format(tz, clockOnly) {
    const key = (tz || "") + (clockOnly ? ":clock" : "");
    if (!formats.has(key)) {
      const opts = clockOnly ? { hour: "2-digit", minute: "2-digit" } : { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" };
      try {
        formats.set(key, new Intl.DateTimeFormat("ru-RU", { ...opts, timeZone: tz || undefined }));
      } catch (_) {
        formats.set(key, new Intl.DateTimeFormat("ru-RU", opts));
      }
    }
    return formats.get(key);
  }
  function pad(n) { return String(n).padStart(2, "0"); }
  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-send-at]").forEach((el) => {
      const left = Math.max(0, Math.round((Number(el.dataset.sendAt) - now) / 1000));
      el.textContent = Math.floor(left / 60) + ":" + pad(left % 60);
    });
  }
  function times() {
    document.querySelectorAll("time[data-at]").forEach((el) => {
      const at = Number(el.dataset.at);
      if (!at) { el.textContent = ""; return; }
      const zone = el.closest("[data-tz]");
      el.textContent = format(zone ? zone.dataset.tz : "", !!el.dataset.clock).format(new Date(at)).replace(",", "");
    });
  }
  setInterval(tick, 1000);

  // ---- editor ----
  function count() {
    const ed = editor();
    const out = document.getElementById("count");
    if (!ed || !out) return;
    const n = Array.from(ed.value.trim()).length;
    out.textContent = n;
    out.parentElement.classList.toggle("over", n > Number(ed.dataset.max));
  }
  document.addEventListener("input", (e) => {
    if (e.target.id === "editor") { count(); typed(); }
    if (e.target.classList.contains("pick")) bulkState();
  });

  // Where the caret was when the editor lost focus (to a quick-reply
  // button); an editor never touched takes the phrase at its end.
  let caret = null;
  document.addEventListener("focusout", (e) => {
    if (e.target.id === "editor") caret = { draft: e.target.dataset.draft, start: e.target.selectionStart, end: e.target.selectionEnd };
  });

  function insertQuick(text) {
    const ed = editor();
    if (!ed) return;
    const here = document.activeElement === ed ? { start: ed.selectionStart, end: ed.selectionEnd }
      : caret && caret.draft === ed.dataset.draft ? caret : { start: ed.value.length, end: ed.value.length };
    const start = here.start;
    const end = here.end;
    const before = ed.value.slice(0, start);
    const glue = before && !/\s$/.test(before) ? " " : "";
    ed.value = before + glue + text + ed.value.slice(end);
    const at = (before + glue + text).length;
    ed.focus();
    ed.setSelectionRange(at, at);
    count();
    typed();
  }

  // ---- tab title: how many wait for a decision; a chime when it grows ----
  const soundKey = "agentiq-sound";
  const soundButton = document.getElementById("sound");
  let waitingBefore = null;
  let audio = null;
  function soundOn() { return localStorage.getItem(soundKey) === "1"; }
  function showSound() {
    if (!soundButton) return;
    soundButton.textContent = soundOn() ? t.sound_on : t.sound_off;
    soundButton.setAttribute("aria-pressed", soundOn() ? "true" : "false");
  }
  if (soundButton) {
    soundButton.addEventListener("click", () => {
      localStorage.setItem(soundKey, soundOn() ? "0" : "1");
      showSound();
      // Browsers let a page play sound only after a gesture: this click.
      if (soundOn()) chime();
    });
    showSound();
  }
  // A short two-note chime made in the page (no file to load).
  function chime() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const now = audio.currentTime;
      [880, 1320].forEach((hz, i) => {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = hz;
        gain.gain.setValueAtTime(0.0001, now + i * 0.15);
        gain.gain.exponentialRampToValueAtTime(0.2, now + i * 0.15 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.15 + 0.3);
        osc.connect(gain).connect(audio.destination);
        osc.start(now + i * 0.15);
        osc.stop(now + i * 0.15 + 0.32);
      });
    } catch (_) { /* no audio on this device: the title still counts */ }
    document.body.dataset.chimes = String(Number(document.body.dataset.chimes || 0) + 1);
  }
  function title() {
    const el = document.querySelector("[data-waiting]");
    if (!el) return;
    const n = Number(el.dataset.waiting);
    document.title = n > 0 ? "(" + n + ") " + baseTitle : baseTitle;
    if (waitingBefore !== null && n > waitingBefore && soundOn()) chime();
    waitingBefore = n;
  }

  // ---- dialogs ----
  // `check` (approve only) is the server's guard verdict on exactly `text`:
  // every finding is listed, and an error needs a reason to go out anyway.
  // `list` (bulk approve) is one verdict per draft.
  function ask(kind, text, check, list) {
    const dialog = document.getElementById("confirm");
    const reasonLabel = document.getElementById("confirm-reason-label");
    const reason = document.getElementById("confirm-reason");
    const overrideLabel = document.getElementById("confirm-override-label");
    const override = document.getElementById("confirm-override");
    const checkBox = document.getElementById("confirm-check");
    const findings = document.getElementById("confirm-findings");
    const many = document.getElementById("confirm-list");
    const quote = document.getElementById("confirm-text");
    const titles = { reject: t.reject, retract: t.confirm_retract, delete_answer: t.confirm_delete_answer, bulk: t.bulk_title };
    const blocked = !!(check && check.blocked);
    document.getElementById("confirm-title").textContent = titles[kind] || t.confirm_send;
    quote.textContent = text || "";
    quote.hidden = kind === "bulk";
    document.getElementById("confirm-question").textContent = kind === "approve" || kind === "bulk" ? t.confirm_question : "";
    document.getElementById("confirm-yes").textContent =
      kind === "reject" ? t.reject : kind === "retract" ? t.retract : kind === "delete_answer" ? t.delete_answer : blocked ? t.send_anyway : t.yes;
    findings.textContent = "";
    many.textContent = "";
    many.hidden = kind !== "bulk";
    checkBox.hidden = !check;
    const describe = (f) => (f.severity === "error" ? t.severity_error : t.severity_warning) + ": " + f.message + (f.excerpt ? " — «" + f.excerpt + "»" : "");
    if (check) {
      document.getElementById("confirm-check-title").textContent = check.findings.length ? t.confirm_findings : t.confirm_clean;
      check.findings.forEach((f) => {
        const li = document.createElement("li");
        li.className = f.severity === "error" ? "error" : "warning";
        li.textContent = describe(f);
        findings.appendChild(li);
      });
    }
    (list || []).forEach((item) => {
      const li = document.createElement("li");
      const head = document.createElement("b");
      head.textContent = "№" + item.id;
      const q = document.createElement("blockquote");
      q.textContent = item.check.text;
      li.append(head, q);
      item.check.findings.forEach((f) => {
        const p = document.createElement("small");
        p.className = f.severity === "error" ? "error" : "warn";
        p.textContent = describe(f);
        li.append(p, document.createElement("br"));
      });
      if (item.check.blocked) {
        const p = document.createElement("p");
        p.className = "blocked";
        p.textContent = t.bulk_blocked;
        li.append(p);
      }
      many.appendChild(li);
    });
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

  // ---- after a decision, the next draft opens ----
  function nextDraft(id) {
    const items = Array.from(document.querySelectorAll("#inbox .inbox-item[data-state=pending]"));
    const all = Array.from(document.querySelectorAll("#inbox .inbox-item"));
    const here = all.findIndex((li) => li.dataset.id === String(id));
    const after = items.find((li) => all.indexOf(li) > here && li.dataset.id !== String(id));
    const any = after || items.find((li) => li.dataset.id !== String(id));
    return any ? any.dataset.id : null;
  }

  function advance(id, message) {
    const next = document.getElementById("inbox") ? nextDraft(id) : null;
    if (!next) return false;
    sessionStorage.setItem("agentiq-flash", message);
    location.href = "/drafts/" + next;
    return true;
  }

  async function act(action, id, text, confirmKind) {
    try {
      let message = t.done;
      if (action === "approve") {
        const ed = editor();
        const value = (ed ? ed.value : text || "").trim();
        if (!value) { toast(t.empty, true); return; }
        const max = ed ? Number(ed.dataset.max) : 1000;
        if (Array.from(value).length > max) { toast(t.too_long, true); return; }
        if (ed) await flush();
        const check = await post("/api/drafts/" + id + "/check", { text: value });
        const answer = await ask("approve", check.text, check);
        if (!answer.ok) return;
        if (check.blocked && !answer.override) { toast(t.override_needed, true); return; }
        const payload = { text: check.text };
        if (check.blocked) payload.override = answer.override;
        const done = await post("/api/drafts/" + id + "/approve", payload);
        message = "№" + id + ": " + (done.state === "sent" ? "✓" : t.done);
        if (ed && String(id) === ed.dataset.draft) ed.dataset.dirty = "0";
        sessionStorage.removeItem(unsavedKey(id));
        if (advance(id, message)) return;
      } else if (action === "reject") {
        const outgoing = document.querySelector("#actions blockquote.outgoing");
        const ed = editor();
        const answer = await ask("reject", text || (ed ? ed.value : "") || (outgoing ? outgoing.textContent : ""));
        if (!answer.ok) return;
        await post("/api/drafts/" + id + "/reject", { reason: answer.reason });
        if (ed) ed.dataset.dirty = "0";
        sessionStorage.removeItem(unsavedKey(id));
        if (advance(id, "№" + id + ": " + t.done)) return;
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
        const kind = confirmKind === "answer" ? "delete_answer" : "retract";
        const answer = await ask(kind, outgoing ? outgoing.textContent : "");
        if (!answer.ok) return;
        await post("/api/drafts/" + id + "/retract", {});
      }
      toast(message, false);
      refreshAll();
    } catch (err) {
      toast(err.message, true);
    }
  }

  // ---- bulk approve: every text listed, each through the same guards ----
  function picked() { return Array.from(document.querySelectorAll("input.pick:checked")); }
  function bulkState() {
    const button = document.getElementById("bulk-approve");
    if (!button) return;
    const n = picked().length;
    button.disabled = n === 0;
    document.getElementById("bulk-count").textContent = n ? "(" + n + ")" : "";
  }

  async function bulkApprove() {
    const ids = picked().map((box) => box.dataset.id);
    if (!ids.length) { toast(t.bulk_none, true); return; }
    try {
      const list = [];
      for (const id of ids) {
        const row = document.querySelector('tr.row[data-id="' + id + '"]');
        const check = await post("/api/drafts/" + id + "/check", { text: row ? row.dataset.text : undefined });
        list.push({ id, check });
      }
      const answer = await ask("bulk", "", null, list);
      if (!answer.ok) return;
      let sentCount = 0;
      const failures = [];
      for (const item of list.filter((i) => !i.check.blocked)) {
        try {
          await post("/api/drafts/" + item.id + "/approve", { text: item.check.text });
          sentCount += 1;
        } catch (err) {
          failures.push("№" + item.id + ": " + err.message);
        }
      }
      toast(t.bulk_done + " " + sentCount + (failures.length ? ". " + failures.join("; ") : ""), failures.length > 0);
      await refreshAll();
      bulkState();
    } catch (err) {
      toast(err.message, true);
    }
  }

  document.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-action]");
    if (button) { act(button.dataset.action, button.dataset.id, undefined, button.dataset.confirm); return; }
    const chip = e.target.closest("button[data-quick]");
    if (chip) { insertQuick(chip.dataset.quick); return; }
    if (e.target.id === "bulk-approve" || e.target.closest("#bulk-approve")) { bulkApprove(); return; }
    if (e.target.id === "logout") {
      fetch("/logout", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" })
        .then(() => { location.href = "/login"; });
      return;
    }
    if (e.target.closest("input, label, .pick-cell")) return;
    const row = e.target.closest("tr.row");
    if (row && !e.target.closest("a")) location.href = "/drafts/" + row.dataset.id;
  });

  // ---- keyboard: by physical key, so any layout works; never while typing ----
  let selected = null;
  let selectedIndex = -1;
  function rows() { return Array.from(document.querySelectorAll("tr.row")); }
  function select(index) {
    const all = rows();
    if (!all.length) return;
    const i = Math.max(0, Math.min(all.length - 1, index));
    all.forEach((r) => r.classList.remove("selected"));
    all[i].classList.add("selected");
    all[i].focus();
    selected = all[i].dataset.id;
    selectedIndex = i;
  }
  // After an action the row may be gone: the one now in its place is selected.
  function restoreSelection() {
    if (!selected) return;
    const all = rows();
    if (!all.length) return;
    let i = all.findIndex((r) => r.dataset.id === selected);
    if (i < 0) i = Math.min(selectedIndex, all.length - 1);
    all.forEach((r) => r.classList.remove("selected"));
    all[i].classList.add("selected");
    if (!document.querySelector("dialog[open]") && !["INPUT", "TEXTAREA", "SELECT"].includes((document.activeElement || {}).tagName)) all[i].focus();
    selected = all[i].dataset.id;
    selectedIndex = i;
  }
  function current() { return rows().findIndex((r) => r.dataset.id === selected); }
  function sideStep(delta) {
    const all = Array.from(document.querySelectorAll("#inbox .inbox-item"));
    const here = all.findIndex((li) => li.classList.contains("current"));
    const to = all[here + delta];
    if (to) location.href = "/drafts/" + to.dataset.id;
  }

  document.addEventListener("keydown", (e) => {
    const field = e.target.closest && e.target.closest("textarea, input, select, [contenteditable]");
    if (document.getElementById("confirm").open) return;
    if (e.target.id === "editor" && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      const b = document.querySelector('button[data-action="approve"]');
      if (b) { e.preventDefault(); act("approve", b.dataset.id); }
      return;
    }
    if (field) {
      if (e.key === "Escape") e.target.blur();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    const onDraft = !!document.getElementById("actions");
    const draftButton = (a) => document.querySelector('button[data-action="' + a + '"]');
    const handled = () => { e.preventDefault(); e.stopPropagation(); };
    switch (e.code) {
      case "KeyJ": case "ArrowDown":
        handled();
        if (onDraft) sideStep(1); else select(current() + 1);
        break;
      case "KeyK": case "ArrowUp":
        handled();
        if (onDraft) sideStep(-1); else select(current() - 1);
        break;
      case "Enter": case "KeyO":
        if (!onDraft && selected) { handled(); location.href = "/drafts/" + selected; }
        break;
      case "KeyX": {
        const row = rows()[current()];
        const box = row && row.querySelector("input.pick");
        if (box) { handled(); box.checked = !box.checked; bulkState(); }
        break;
      }
      case "KeyE":
        if (editor()) { handled(); editor().focus(); }
        break;
      case "Slash": {
        const search = document.getElementById("search");
        if (search) { handled(); search.focus(); search.select(); }
        break;
      }
      case "KeyA": {
        handled();
        const b = draftButton("approve");
        if (b) { act("approve", b.dataset.id); return; }
        const row = rows()[current()];
        if (row && row.dataset.state === "pending") act("approve", row.dataset.id, row.dataset.text);
        break;
      }
      case "KeyR": {
        handled();
        const b = draftButton("reject");
        if (b) { act("reject", b.dataset.id); return; }
        const row = rows()[current()];
        if (row && row.dataset.state === "pending") act("reject", row.dataset.id, row.dataset.text);
        break;
      }
      default:
    }
  });

  function afterRender() {
    tick();
    times();
    count();
    title();
    restoreSelection();
    bulkState();
  }

  const flash = sessionStorage.getItem("agentiq-flash");
  if (flash) { sessionStorage.removeItem("agentiq-flash"); toast(flash, false); }
  restoreUnsaved();
  afterRender();
})();
