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

let sim, daemon, browser, simUrl, webUrl;
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
  const config = join(dir, "config.toml");
  sim = start(["sim", "--listen", `127.0.0.1:${simPort}`, "--no-scenario", "--config", config]);
  await waitFor("the simulator", async () => (await fetch(simUrl + "/_sim/stats")).ok);
  daemon = start(["run", "--config", config], { AGENTIQ_WEB_PASSWORD: password });
  await waitFor("the web queue", async () => (await fetch(webUrl + "/healthz")).ok);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  if (browser) await browser.close();
  for (const p of procs) p.kill("SIGTERM");
});

async function loggedInPage() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on("dialog", (d) => { throw new Error("a JavaScript dialog opened: " + d.message()); });
  await page.goto(webUrl + "/");
  assert.match(page.url(), /\/login$/);
  await page.fill('input[name="name"]', "Оля");
  await page.fill('input[name="password"]', password);
  await page.click('button[type="submit"]');
  await page.waitForSelector("#queue");
  return page;
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
  await page.click("#confirm-yes");
  await page.locator("#actions .badge", { hasText: "✓ отправлен" }).waitFor({ timeout: 20000 });

  await new Promise((r) => setTimeout(r, 1500));
  const delivered = (await sent()).filter((m) => m.chat_id === posted.chat_id);
  assert.equal(delivered.length, 1);
  assert.equal(delivered[0].text, edited);
  await page.close();
});

test("a draft is rejected with a reason", async () => {
  const page = await loggedInPage();
  await buyerWrites("Есть ли в наличии синий цвет?", { client_name: "Ольга" });
  const row = page.locator("tr.row", { hasText: "Ольга" });
  await row.waitFor({ timeout: 20000 });
  await row.click();
  await page.waitForSelector("#editor");
  await page.click('button[data-action="reject"]');
  await page.fill("#confirm-reason", "синего не будет, ответим сами");
  await page.click("#confirm-yes");
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
  assert.ok(draft.events.some((e) => e.actor.includes("Оля") && (e.note || "").includes(target)));
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
  await page.fill("#editor", reply);
  await page.click('button[data-action="approve"]');
  await page.click("#confirm-yes");
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
  await page.click("#confirm-yes");
  await page.locator("#actions .badge", { hasText: "✓ отправлен" }).waitFor({ timeout: 20000 });
  draft = await page.evaluate(async () => (await fetch(location.pathname.replace("/drafts/", "/api/drafts/"))).json());
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
  await page.click('button[data-action="approve"]');
  await page.locator("dialog#confirm").waitFor({ state: "visible" });
  await page.click("#confirm-yes");
  await page.locator("#actions .badge", { hasText: "не отправлен" }).waitFor({ timeout: 20000 });

  await page.goto(webUrl + "/");
  const failed = page.locator("tr.row", { hasText: "Фёдор" });
  await failed.waitFor({ timeout: 10000 });
  assert.match(await failed.textContent(), /не отправлен/);
  assert.match(await page.textContent(".counts"), /не отправлен: 1/);
  assert.doesNotMatch(await page.textContent("#queue"), /Очередь пуста/);

  await failed.click();
  await page.click('button[data-action="retry"]');
  await page.locator("#actions .badge", { hasText: "✓ отправлен" }).waitFor({ timeout: 20000 });
  await page.close();
});
