// End-to-end test of the web queue in headless Chromium (Debian's package,
// driven by playwright-core): the real daemon and the real simulator on
// loopback, a real browser clicking through the approve and reject flows.
//
// Run: AGENTIQ_BIN=../../target/debug/agentiq npm test
// Screenshots of the queue and the conversation view go to docs/screenshots/.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const bin = resolve(process.env.AGENTIQ_BIN || join(repo, "target/debug/agentiq"));
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const password = "e2e-operator-password";

const freePort = () =>
  new Promise((ok) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });

let sim, daemon, browser, simUrl, webUrl, config;
const procs = [];

function start(args, env) {
  const p = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  p.stderr.on("data", (d) => process.env.E2E_LOG && process.stderr.write(d));
  procs.push(p);
  return p;
}

async function waitFor(what, fn, ms = 20000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (_) { /* not yet */ }
    if (Date.now() > deadline) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function buyerWrites(text, extra = {}) {
  const res = await fetch(simUrl + "/_sim/buyer-messages", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ marketplace: "wb", text, ...extra }),
  });
  assert.equal(res.status, 201);
  return res.json();
}

const sent = async () => (await fetch(simUrl + "/_sim/sent")).json();

before(async () => {
  const simPort = await freePort();
  const webPort = await freePort();
  simUrl = `http://127.0.0.1:${simPort}`;
  webUrl = `http://127.0.0.1:${webPort}`;
  const dir = mkdtempSync(join(tmpdir(), "agentiq-e2e-"));
  writeFileSync(
    join(dir, "config.toml"),
    `
[database]
path = "${join(dir, "agentiq.db")}"
[pipeline]
debounce = "500ms"
tick = "100ms"
[sender]
tick = "100ms"
[web]
listen = "127.0.0.1:${webPort}"
[log]
level = "warn"
[sim.sellers.demo]
wb_token = "e2e-token"
avito_client_id = "e2e-avito"
avito_client_secret = "e2e-avito-secret"
avito_user_id = 5550001
[shops.demo]
display_name = "Уютный дом"
policy = "${join(repo, "policies/cautious-start.toml")}"
prompts = "${join(repo, "prompts/default")}"
[[shops.demo.quick_replies]]
label = "Спасибо"
text = "Спасибо, что выбрали наш магазин!"
[shops.demo.wildberries]
base_url = "${simUrl}"
token = "e2e-token"
poll_interval = "1s"
[shops.demo.avito]
base_url = "${simUrl}"
client_id = "e2e-avito"
client_secret = "e2e-avito-secret"
poll_interval = "1s"
`,
  );
  config = join(dir, "config.toml");
  sim = start(["sim", "--listen", `127.0.0.1:${simPort}`, "--no-scenario", "--config", config]);
  await waitFor("the simulator", async () => (await fetch(simUrl + "/_sim/stats")).ok);
  daemon = start(["run", "--config", config], { AGENTIQ_WEB_PASSWORD: password });
  await waitFor("the web queue", async () => (await fetch(webUrl + "/healthz")).ok, 90000);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  if (browser) await browser.close();
  for (const p of procs) p.kill("SIGTERM");
});

async function restartDaemon(whileDown) {
  const old = daemon;
  const exited = new Promise((ok) => old.once("exit", ok));
  old.kill("SIGTERM");
  await exited;
  if (whileDown) await whileDown();
  daemon = start(["run", "--config", config], { AGENTIQ_WEB_PASSWORD: password });
  await waitFor("the web queue after a restart", async () => (await fetch(webUrl + "/healthz")).ok, 90000);
}

async function logIn(page) {
  await page.fill('input[name="name"]', "Оля");
  await page.fill('input[name="password"]', password);
  await page.click('button[type="submit"]');
}

// After a decision the page opens the next draft by itself; a test that
// navigates at the same moment waits for that navigation and then goes
// where it meant to.
async function goto(page, url) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await page.goto(url);
    } catch (e) {
      if (attempt >= 3 || !/interrupted by another navigation/.test(e.message)) throw e;
      await page.waitForLoadState("load");
    }
  }
}

async function loggedInPage(viewport = { width: 1280, height: 860 }, options = {}) {
  const context = await browser.newContext({ viewport, ...options });
  const page = await context.newPage();
  page.on("dialog", (d) => { throw new Error("a JavaScript dialog opened: " + d.message()); });
  page.on("close", () => context.close().catch(() => {}));
  await goto(page, webUrl + "/");
  assert.match(page.url(), /\/login$/);
  await logIn(page);
  await page.waitForSelector("#queue");
  return page;
}

const draftOf = (page, id) => page.evaluate(async (id) => (await fetch(`/api/drafts/${id}`)).json(), id);

async function stateBecomes(page, id, state, ms = 20000) {
  return waitFor(`draft ${id} to be ${state}`, async () => (await draftOf(page, id)).draft.state === state, ms);
}

// A key pressed in the Russian layout: the physical key `code`, the
// character `key` — sent through the DevTools protocol as real input, so a
// key that is not handled would type `key` into a focused field.
async function pressRu(page, code, key) {
  const cdp = await page.context().newCDPSession(page);
  const vk = code.startsWith("Key") ? code.charCodeAt(3) : code === "Enter" ? 13 : 0;
  const common = { code, key, windowsVirtualKeyCode: vk, nativeVirtualKeyCode: vk };
  await cdp.send("Input.dispatchKeyEvent", { type: "keyDown", ...common, text: key.length === 1 ? key : undefined });
  await cdp.send("Input.dispatchKeyEvent", { type: "keyUp", ...common });
  await cdp.detach();
}

async function noHorizontalOverflow(page, width) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= width, `the page is ${wide}px wide on a ${width}px screen`);
}

test("a draft appears live, is edited, approved through the confirmation and delivered once", async () => {
  const page = await loggedInPage();
  await page.evaluate(() => { window.__stayed = true; });
  const posted = await buyerWrites("Здравствуйте! Когда ожидать доставку? Статус не обновляется.", {
    client_name: "Алёна",
    order: { product_id: "151234567", price: 1290, size: "150×200", status: "in_transit" },
  });
  const row = page.locator("tr.row", { hasText: "Алёна" });
  await row.waitFor({ timeout: 20000 });
  assert.equal(await page.evaluate(() => window.__stayed), true, "the row appeared without a reload");

  await buyerWrites("Спасибо большое, плед чудесный!", { client_name: "Игорь" });
  await buyerWrites("Пришёл бракованный, шов разошёлся", { client_name: "Сергей", order: { price: 2490, status: "delivered" } });
  await page.locator("tr.row", { hasText: "Сергей" }).waitFor({ timeout: 20000 });
  mkdirSync(join(repo, "docs/screenshots"), { recursive: true });
  await page.screenshot({ path: join(repo, "docs/screenshots/queue.png"), fullPage: true });

  await row.click();
  await page.waitForSelector("#editor");
  const edited = "Алёна, здравствуйте! Заказ в пути, дату доставки видно в разделе «Доставки».";
  await page.fill("#editor", edited);
  assert.equal(await page.textContent("#count"), String([...edited].length));
  await page.screenshot({ path: join(repo, "docs/screenshots/conversation.png"), fullPage: true });
  await page.click('button[data-action="approve"]');
  const dialog = page.locator("dialog#confirm");
  await dialog.waitFor({ state: "visible" });
  assert.equal(await page.textContent("#confirm-title"), "Вы отправите:");
  assert.equal(await page.textContent("#confirm-text"), edited);
  assert.equal(await page.textContent("#confirm-question"), "Отправить?");
  const id = await page.locator("#actions").getAttribute("data-draft");
  await page.click("#confirm-yes");
  await page.waitForURL((url) => url.pathname.startsWith("/drafts/") && !url.pathname.endsWith("/" + id), { timeout: 20000 });
  await page.waitForSelector("#editor");
  await stateBecomes(page, id, "sent");

  const delivered = await waitFor("the delivery", async () => {
    const mine = (await sent()).filter((m) => m.chat_id === posted.chat_id);
    return mine.length ? mine : null;
  });
  assert.equal(delivered.length, 1);
  assert.equal(delivered[0].text, edited);
  await goto(page, webUrl + "/drafts/" + id);
  await page.locator("#actions .badge", { hasText: "✓ отправлен" }).waitFor({ timeout: 20000 });
  const again = (await sent()).filter((m) => m.chat_id === posted.chat_id);
  assert.equal(again.length, 1, "delivered once");
  await page.close();
});

test("with the sound on, a new waiting draft chimes, and the choice is kept", async () => {
  const page = await loggedInPage();
  const chimes = () => page.evaluate(() => Number(document.body.dataset.chimes || 0));
  const sound = page.locator("#sound");
  assert.equal(await sound.getAttribute("aria-pressed"), "false", "silent by default");
  await sound.click();
  assert.equal(await sound.getAttribute("aria-pressed"), "true");
  assert.equal(await sound.textContent(), "Звук включён");
  const before = await chimes();
  await buyerWrites("Подскажите, размер M на рост 170 подойдёт?", { client_name: "Злата" });
  await page.locator("tr.row", { hasText: "Злата" }).waitFor({ timeout: 20000 });
  await waitFor("a chime", async () => (await chimes()) > before);
  await page.reload();
  assert.equal(await page.locator("#sound").getAttribute("aria-pressed"), "true", "kept after a reload");
  await page.locator("#sound").click();
  assert.equal(await page.locator("#sound").getAttribute("aria-pressed"), "false");
  await page.close();
});

test("a draft is rejected with a reason", async () => {
  const page = await loggedInPage();
  await buyerWrites("Есть ли в наличии синий цвет?", { client_name: "Ольга" });
  const row = page.locator("tr.row", { hasText: "Ольга" });
  await row.waitFor({ timeout: 20000 });
  const id = await row.getAttribute("data-id");
  await row.click();
  await page.waitForSelector("#editor");
  await page.click('button[data-action="reject"]');
  await page.fill("#confirm-reason", "синего не будет, ответим сами");
  await page.click("#confirm-yes");
  await stateBecomes(page, id, "rejected", 10000);
  await goto(page, webUrl + "/drafts/" + id);
  await page.locator("#actions .badge", { hasText: "отклонён" }).waitFor({ timeout: 10000 });
  assert.match(await page.textContent("#actions"), /синего не будет, ответим сами/);
  const before = (await sent()).length;
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await sent()).length, before, "nothing was sent for the rejected draft");
  await page.close();
});

test("a person corrects the intent on a phone, and the draft shows it", async () => {
  const page = await loggedInPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await buyerWrites("Скажите, а кот на фото в комплект входит?", { client_name: "Тимур" });
  const row = page.locator("tr.row", { hasText: "Тимур" });
  await row.waitFor({ timeout: 20000 });
  const id = await row.getAttribute("data-id");
  await row.click();
  await page.waitForSelector("select#retag");
  const current = await page.inputValue("select#retag");
  const target = current === "availability" ? "compatibility" : "availability";
  await page.selectOption("select#retag", target);
  const button = page.locator('button[data-action="retag"]');
  const box = await button.boundingBox();
  assert.ok(box && box.x >= 0 && box.x + box.width <= 390, "the button fits the phone's width");
  await button.click();
  await page.locator("#live", { hasText: "Тему исправил человек" }).waitFor({ timeout: 10000 });
  const draft = await page.evaluate(async (id) => (await fetch(`/api/drafts/${id}`)).json(), id);
  assert.equal(draft.draft.intent, target);
  // The history names the intent in words, never its code.
  const label = { availability: "наличие", compatibility: "совместимость" }[target];
  assert.ok(draft.events.some((e) => e.actor.includes("Оля") && (e.note || "").includes("→ «" + label + "»")), JSON.stringify(draft.events));
  await page.close();
});

test("buyer HTML is shown as text and never runs", async () => {
  const page = await loggedInPage();
  const probe = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2"> где заказ?';
  await buyerWrites(probe, { client_name: "Хакер" });
  const row = page.locator("tr.row", { hasText: "Хакер" });
  await row.waitFor({ timeout: 20000 });
  await row.click();
  await page.waitForSelector(".msg.turn");
  assert.equal(await page.textContent(".msg.turn .body"), probe);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  assert.equal(await page.locator(".msg img").count(), 0);
  await page.close();
});

test("a state-changing request without the CSRF token is refused", async () => {
  const page = await loggedInPage();
  await buyerWrites("Подскажите размер", { client_name: "Марина" });
  const row = page.locator("tr.row", { hasText: "Марина" });
  await row.waitFor({ timeout: 20000 });
  const id = await row.getAttribute("data-id");
  const status = await page.evaluate(async (id) => {
    const res = await fetch(`/api/drafts/${id}/approve`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    return res.status;
  }, id);
  assert.equal(status, 403);
  const draft = await page.evaluate(async (id) => (await fetch(`/api/drafts/${id}`)).json(), id);
  assert.equal(draft.draft.state, "pending");
  await page.close();
});

test("an Avito reply shows the buyer's read mark and can be deleted from the chat within the hour", async () => {
  const page = await loggedInPage();
  const posted = await buyerWrites("Здравствуйте! Диван ещё продаётся?", { marketplace: "avito", client_name: "Кира" });
  const row = page.locator("tr.row", { hasText: "Кира" });
  await row.waitFor({ timeout: 20000 });
  await row.click();
  await page.waitForSelector("#editor");
  const reply = "Кира, здравствуйте! Да, диван продаётся.";
  const id = await page.locator("#actions").getAttribute("data-draft");
  await page.fill("#editor", reply);
  await page.click('button[data-action="approve"]');
  await page.click("#confirm-yes");
  await stateBecomes(page, id, "sent");
  await goto(page, webUrl + "/drafts/" + id);
  await page.locator("#actions .badge", { hasText: "✓ отправлен" }).waitFor({ timeout: 20000 });
  await page.locator('button[data-action="retract"]').waitFor({ timeout: 10000 });

  // The buyer writes again, so has read our reply: the conversation shows ✓✓.
  await buyerWrites("Спасибо, подумаю", { marketplace: "avito", chat_id: posted.chat_id });
  await waitFor("the read mark", async () => {
    await page.reload();
    return (await page.locator(".msg.we .read").count()) > 0;
  }, 20000);
  await page.screenshot({ path: join(repo, "docs/screenshots/avito-read-retract.png"), fullPage: true });

  await page.click('button[data-action="retract"]');
  await page.locator("dialog#confirm").waitFor({ state: "visible" });
  assert.equal(await page.textContent("#confirm-text"), reply);
  await page.click("#confirm-yes");
  await page.locator("#actions .badge", { hasText: "отозван" }).waitFor({ timeout: 20000 });
  assert.equal(await page.locator('button[data-action="retract"]').count(), 0);
  const delivered = (await sent()).filter((m) => m.chat_id === posted.chat_id);
  assert.equal(delivered.length, 1, "sent once, then deleted; never sent again");
  await page.close();
});

test("an edit promising a refund and a discount goes out only with a reason, shown next to the text", async () => {
  const page = await loggedInPage();
  const posted = await buyerWrites("Где мой заказ? Жду уже неделю", { client_name: "Вера" });
  const row = page.locator("tr.row", { hasText: "Вера" });
  await row.waitFor({ timeout: 20000 });
  await row.click();
  await page.waitForSelector("#editor");
  const risky = "Вера, вернём вам деньги сегодня же и дадим скидку 50% на следующий заказ!";
  await page.fill("#editor", risky);
  await page.click('button[data-action="approve"]');
  await page.locator("dialog#confirm").waitFor({ state: "visible" });
  assert.equal(await page.textContent("#confirm-text"), risky);
  const findings = await page.locator("#confirm-findings li.error").allTextContents();
  assert.ok(findings.some((f) => f.includes("вернуть деньги")), findings.join(" | "));
  assert.ok(findings.some((f) => f.includes("скидку")), findings.join(" | "));
  assert.equal(await page.isVisible("#confirm-override"), true);
  assert.equal(await page.textContent("#confirm-yes"), "Отправить вопреки проверке");

  // Without a reason nothing goes out.
  await page.click("#confirm-yes");
  await page.locator("#toast.bad").waitFor({ timeout: 5000 });
  let draft = await page.evaluate(async () => (await fetch(location.pathname.replace("/drafts/", "/api/drafts/"))).json());
  assert.equal(draft.draft.state, "pending");

  await page.click('button[data-action="approve"]');
  await page.fill("#confirm-override", "возврат согласован с руководителем");
  await page.screenshot({ path: join(repo, "docs/screenshots/override.png") });
  const id = await page.locator("#actions").getAttribute("data-draft");
  await page.click("#confirm-yes");
  await stateBecomes(page, id, "sent");
  draft = await draftOf(page, id);
  assert.ok(draft.events.some((e) => (e.note || "").includes("возврат согласован с руководителем")));
  const delivered = (await sent()).filter((m) => m.chat_id === posted.chat_id);
  assert.deepEqual(delivered.map((m) => m.text), [risky]);
  await page.close();
});

test("a failed send stays in the queue and its counts until it is retried", async () => {
  const page = await loggedInPage();
  await buyerWrites("Подскажите, когда будет доставка?", { client_name: "Фёдор" });
  const row = page.locator("tr.row", { hasText: "Фёдор" });
  await row.waitFor({ timeout: 20000 });
  await row.click();
  await page.waitForSelector("#editor");
  const res = await fetch(simUrl + "/_sim/faults", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ kind: "status", status: 400, path: "/api/v1/seller/message" }),
  });
  assert.ok(res.ok);
  const id = await page.locator("#actions").getAttribute("data-draft");
  await page.click('button[data-action="approve"]');
  await page.locator("dialog#confirm").waitFor({ state: "visible" });
  await page.click("#confirm-yes");
  await stateBecomes(page, id, "failed");

  await goto(page, webUrl + "/");
  const failed = page.locator("tr.row", { hasText: "Фёдор" });
  await failed.waitFor({ timeout: 10000 });
  assert.match(await failed.textContent(), /не отправлен/);
  assert.match(await page.textContent(".counts"), /не отправлен: 1/);
  assert.doesNotMatch(await page.textContent("#queue"), /Очередь пуста/);

  await failed.click();
  await page.click('button[data-action="retry"]');
  await page.locator("#actions .badge", { hasText: "✓ отправлен" }).waitFor({ timeout: 20000 });
  await goto(page, webUrl + "/");
  await page.waitForSelector("#queue");
  assert.equal(await page.locator("tr.row", { hasText: "Фёдор" }).count(), 0, "gone once sent");
  await page.close();
});

test("a queue is cleared by keyboard in the Russian layout, and r never types into the reason", async () => {
  const page = await loggedInPage({ width: 1280, height: 800 });
  const chats = [];
  for (const [name, text] of [["Гоша", "Клавиатура: когда привезёте?"], ["Дина", "Клавиатура: есть ли чек?"], ["Ефим", "Клавиатура: какой гарантийный срок?"]]) {
    chats.push((await buyerWrites(text, { client_name: name })).chat_id);
  }
  await goto(page, webUrl + "/?q=" + encodeURIComponent("клавиатура"));
  await waitFor("three drafts", async () => (await page.locator("tr.row[data-state=pending]").count()) === 3);
  assert.match(await page.title(), /^\(\d+\) /, "the tab title counts what waits");

  await pressRu(page, "KeyJ", "о");
  const first = await page.getAttribute("tr.row.selected", "data-id");
  assert.ok(first, "о (j) selects a row");
  await pressRu(page, "KeyR", "к");
  await page.locator("dialog#confirm").waitFor({ state: "visible" });
  assert.equal(await page.inputValue("#confirm-reason"), "", "the key that opened the dialog typed nothing");
  await page.keyboard.press("Escape");
  await page.locator("dialog#confirm").waitFor({ state: "hidden" });

  const selectedState = () => page.evaluate(() => (document.querySelector("tr.row.selected") || {}).dataset?.state);
  for (let i = 0; i < 3; i++) {
    for (let n = 0; n < 6 && (await selectedState()) !== "pending"; n++) await pressRu(page, "KeyJ", "о");
    const id = await page.getAttribute("tr.row.selected", "data-id");
    await pressRu(page, "KeyA", "ф");
    await page.locator("dialog#confirm").waitFor({ state: "visible" });
    await page.keyboard.press("Enter");
    await page.locator("dialog#confirm").waitFor({ state: "hidden" });
    const row = () => page.evaluate((id) => (document.querySelector(`tr.row[data-id="${id}"]`) || { dataset: { state: "gone" } }).dataset.state, id);
    await waitFor("the row to leave pending", async () => (await row()) !== "pending");
    const now = await page.getAttribute("tr.row.selected", "data-id");
    assert.ok(now, "a row stays selected after the action");
    if ((await row()) !== "gone") assert.equal(now, id, "the same row, while it is listed");
  }
  await waitFor("three replies delivered", async () => {
    const out = await sent();
    return chats.every((c) => out.some((m) => m.chat_id === c));
  });
  await page.close();
});

test("typed text survives a buyer follow-up, an ended session and a daemon restart; the daemon's absence is shown", async () => {
  const page = await loggedInPage({ width: 1280, height: 800 });
  const posted = await buyerWrites("Сохранение: где посылка?", { client_name: "Лиля" });
  const row = page.locator("tr.row", { hasText: "Лиля" });
  await row.waitFor({ timeout: 20000 });
  const firstId = await row.getAttribute("data-id");
  await row.click();
  await page.waitForSelector("#editor");
  const typed = "Лиля, здравствуйте! Посылка уже в пункте выдачи";
  await page.fill("#editor", typed);
  await page.locator("#saved", { hasText: "текст сохранён" }).waitFor({ timeout: 10000 });
  // Another buyer writes: the page is redrawn, and the mark still says the text is saved.
  await page.evaluate(() => { document.getElementById("editor").__before = true; });
  await buyerWrites("Сохранение: а подарочная упаковка есть?", { client_name: "Мирон" });
  await page.locator(".inbox-list li", { hasText: "Мирон" }).waitFor({ timeout: 20000 });
  await waitFor("the draft panel redrawn", async () => page.evaluate(() => !document.getElementById("editor").__before));
  assert.equal(await page.textContent("#saved"), "текст сохранён");

  await buyerWrites("И ещё: можно продлить хранение?", { chat_id: posted.chat_id });
  const link = page.locator("#actions .successor a");
  await link.waitFor({ timeout: 20000 });
  assert.match(await page.textContent("#actions"), /Посылка уже в пункте выдачи/);
  await link.click();
  await page.waitForURL((url) => url.pathname.startsWith("/drafts/") && !url.pathname.endsWith("/" + firstId));
  assert.equal(await page.inputValue("#editor"), typed);
  await page.locator(".note.carried").waitFor();

  // The session ends while typing: back to the login form, and back here with the text.
  await page.context().clearCookies();
  await page.locator("#editor").press("Control+End");
  await page.keyboard.type(", ждёт вас");
  await page.waitForURL(/\/login\?next=/, { timeout: 10000 });
  await logIn(page);
  await page.waitForSelector("#editor");
  await waitFor("the typed text back in the editor", async () => (await page.inputValue("#editor")) === typed + ", ждёт вас")
    .catch(async (e) => { throw new Error(e.message + ": " + page.url() + " " + JSON.stringify(await page.inputValue("#editor")) + " " + JSON.stringify(await page.evaluate(() => ({ ...sessionStorage })))); });
  await page.locator("#saved", { hasText: "текст сохранён" }).waitFor({ timeout: 10000 });

  // The daemon stops: the page says so; what is typed meanwhile is kept and saved after.
  await restartDaemon(async () => {
    await page.locator("#offline").waitFor({ state: "visible", timeout: 15000 });
    await page.locator("#editor").press("Control+End");
    await page.keyboard.type(" до пятницы.");
  });
  await page.locator("#offline").waitFor({ state: "hidden", timeout: 30000 });
  const draftId = await page.locator("#actions").getAttribute("data-draft");
  await waitFor("the text saved on the server", async () =>
    (await page.evaluate(async (id) => (await fetch(`/fragments/drafts/${id}/actions`)).text(), draftId)).includes("ждёт вас до пятницы."), 30000);
  await page.reload();
  assert.doesNotMatch(page.url(), /login/, "the session outlived the restart");
  await page.waitForSelector("#editor");
  assert.equal(await page.inputValue("#editor"), typed + ", ждёт вас до пятницы.");
  await page.close();
});

test("bulk approve lists every text and sends each through the guards", async () => {
  const page = await loggedInPage({ width: 1280, height: 800 });
  const chats = [];
  for (const [name, text] of [["Жанна", "Пакет: спасибо, всё пришло!"], ["Зоя", "Пакет: благодарю за быструю доставку"]]) {
    chats.push((await buyerWrites(text, { client_name: name })).chat_id);
  }
  await goto(page, webUrl + "/?q=" + encodeURIComponent("пакет"));
  await waitFor("two drafts", async () => (await page.locator("tr.row[data-state=pending]").count()) === 2);
  const texts = await page.locator("tr.row[data-state=pending]").evaluateAll((rows) => rows.map((r) => r.dataset.text));
  for (const box of await page.locator("input.pick").all()) await box.check();
  await page.click("#bulk-approve");
  await page.locator("dialog#confirm").waitFor({ state: "visible" });
  const listed = await page.locator("#confirm-list li blockquote").allTextContents();
  assert.deepEqual(listed.sort(), texts.sort());
  await page.screenshot({ path: join(repo, "docs/screenshots/bulk-approve.png") });
  await page.click("#confirm-yes");
  await waitFor("both delivered", async () => {
    const out = await sent();
    return chats.every((c) => out.some((m) => m.chat_id === c));
  });
  await page.close();
});

test("on a phone (390×844) a queue is cleared by touch: list, open, edit, confirm, reject, retract", async () => {
  const page = await loggedInPage({ width: 390, height: 844 }, { hasTouch: true, isMobile: true });
  const long = "Заказ 2077155534889004432117766554433221100998877 не пришёл";
  await buyerWrites("Телефон: " + long, { client_name: "Ирина", order: { product_id: "98765432109876543210987654321", price: 990 } });
  await buyerWrites("Телефон: а есть ли размер M?", { client_name: "Карина" });
  const avito = await buyerWrites("Телефон: диван ещё продаётся?", { marketplace: "avito", client_name: "Лев" });
  await goto(page, webUrl + "/?q=" + encodeURIComponent("телефон"));
  await waitFor("three drafts", async () => (await page.locator("tr.row[data-state=pending]").count()) === 3);
  await noHorizontalOverflow(page, 390);
  await page.screenshot({ path: join(repo, "docs/screenshots/phone-queue.png"), fullPage: true });

  // Open and edit: the editor is on the first screen.
  await page.locator("tr.row", { hasText: "Ирина" }).tap();
  await page.waitForSelector("#editor");
  await noHorizontalOverflow(page, 390);
  const box = await page.locator("#editor").boundingBox();
  assert.ok(box && box.y + box.height <= 844, "the editor is visible without scrolling");
  const reply = (await page.inputValue("#editor")).trim() + " Спасибо, что написали нам.";
  await page.fill("#editor", reply);
  await page.screenshot({ path: join(repo, "docs/screenshots/phone-draft.png") });
  const irina = await page.locator("#actions").getAttribute("data-draft");
  await page.locator('button[data-action="approve"]').tap();
  await page.locator("dialog#confirm").waitFor({ state: "visible" });
  assert.equal(await page.textContent("#confirm-text"), reply);
  const quote = await page.locator("#confirm-text").boundingBox();
  const yes = await page.locator("#confirm-yes").boundingBox();
  assert.ok(quote && quote.y >= 0 && quote.y + quote.height <= 844, "the whole reply is on screen");
  assert.ok(yes && yes.y + yes.height <= 844 && yes.x + yes.width <= 390, "and so is the button");
  await page.screenshot({ path: join(repo, "docs/screenshots/phone-confirm.png") });
  await page.locator("#confirm-yes").tap();
  await page.waitForURL((url) => !url.pathname.endsWith("/" + irina), { timeout: 10000 });
  await page.waitForSelector("#editor");
  await stateBecomes(page, irina, "sent").catch(async (e) => {
    throw new Error(e.message + ": " + (await page.textContent("#toast")) + " | " + (await page.textContent("#confirm-findings")) + " | " + page.url() + " | " + JSON.stringify((await draftOf(page, irina)).draft.state));
  });

  // Reject by touch.
  await goto(page, webUrl + "/?q=" + encodeURIComponent("телефон"));
  await page.locator("tr.row", { hasText: "Карина" }).tap();
  await page.waitForSelector("#editor");
  const karina = await page.locator("#actions").getAttribute("data-draft");
  await page.locator('button[data-action="reject"]').tap();
  await page.fill("#confirm-reason", "ответим сами");
  await page.locator("#confirm-yes").tap();
  await stateBecomes(page, karina, "rejected");

  // Approve the Avito reply, then retract it by touch.
  await goto(page, webUrl + "/?q=" + encodeURIComponent("телефон"));
  await page.locator("tr.row", { hasText: "Лев" }).tap();
  await page.waitForSelector("#editor");
  const lev = await page.locator("#actions").getAttribute("data-draft");
  await page.locator('button[data-action="approve"]').tap();
  await page.locator("#confirm-yes").tap();
  await stateBecomes(page, lev, "sent");
  await goto(page, webUrl + "/drafts/" + lev);
  await page.locator('button[data-action="retract"]').tap();
  await page.locator("dialog#confirm").waitFor({ state: "visible" });
  await page.locator("#confirm-yes").tap();
  await page.locator("#actions .badge", { hasText: "отозван" }).waitFor({ timeout: 20000 });
  await noHorizontalOverflow(page, 390);
  const delivered = (await sent()).filter((m) => m.chat_id === avito.chat_id);
  assert.equal(delivered.length, 1);
  await page.close();
});

test("the inbox at 1280×800: the conversation beside the list, the next draft opens after a decision", async () => {
  const page = await loggedInPage({ width: 1280, height: 800 });
  await buyerWrites("Входящие: а можно забрать самовывозом?", { client_name: "Нина" });
  await buyerWrites("Входящие: пришлите фото упаковки", { client_name: "Олег" });
  await goto(page, webUrl + "/?q=" + encodeURIComponent("входящие"));
  await waitFor("two drafts", async () => (await page.locator("tr.row[data-state=pending]").count()) === 2);
  const buyerCell = await page.locator("tr.row", { hasText: "Нина" }).locator("td.buyer").textContent();
  assert.match(buyerCell, /самовывозом/, "the list shows what the buyer wrote");
  await page.locator("tr.row", { hasText: "Нина" }).click();
  await page.waitForSelector("#editor");
  assert.ok(await page.isVisible("#inbox"), "the list stays beside the conversation");
  const here = await page.locator("#actions").getAttribute("data-draft");
  assert.equal(await page.getAttribute("#inbox .inbox-item.current", "data-id"), here);
  await page.screenshot({ path: join(repo, "docs/screenshots/inbox.png") });
  await page.click('button[data-quick]');
  assert.match(await page.inputValue("#editor"), /Спасибо, что выбрали наш магазин!$/, "a quick reply goes into the editor");
  await page.click('button[data-action="reject"]');
  await page.fill("#confirm-reason", "ответим сами");
  await page.click("#confirm-yes");
  await page.waitForURL((url) => url.pathname.startsWith("/drafts/") && !url.pathname.endsWith("/" + here), { timeout: 10000 });
  await page.waitForSelector("#editor");
  await page.close();
});
