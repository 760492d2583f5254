//! The Telegram bot against the simulator's Bot API: one message per waiting
//! draft, buttons that act through the same actions as the web queue, stale
//! buttons, strangers, crashes and Telegram's own failures.

use agentiq::domain::DraftState;
use serde_json::{Value, json};

use crate::helpers::{Daemon, ShopSpec, TEST_POLICY, TestApp, WAIT, WEB_PASSWORD, wait_until};

const MARIA: i64 = 1001;
const VIEWER: i64 = 1002;
const STRANGER: i64 = 666;

const USERS: &str = r#"
[[telegram.users]]
id = 1001
name = "Мария"
role = "approve"

[[telegram.users]]
id = 1002
name = "Олег"
role = "view"
"#;

/// A question the test policy leaves for a person.
const QUESTION: &str = "Здравствуйте! Подскажите, когда привезут мой заказ?";

async fn app() -> TestApp {
    TestApp::builder().telegram(USERS).spawn().await
}

/// The bot's card for a draft in a user's chat, once it is there.
async fn card(app: &TestApp, user: i64, draft: i64) -> Value {
    let marker = format!("черновик №{draft}");
    wait_until(&format!("the card of draft {draft} for {user}"), || async {
        app.tg_chat(user)
            .await
            .into_iter()
            .find(|m| m["text"].as_str().unwrap_or_default().contains(&marker))
    })
    .await
}

/// The bot's message with this text fragment in a user's chat, once it is there.
async fn message_with(app: &TestApp, user: i64, fragment: &str) -> Value {
    wait_until(
        &format!("a message with `{fragment}` for {user}"),
        || async {
            app.tg_chat(user)
                .await
                .into_iter()
                .rev()
                .find(|m| m["text"].as_str().unwrap_or_default().contains(fragment))
        },
    )
    .await
}

async fn answer(app: &TestApp, query: &str) -> String {
    wait_until(&format!("the answer to tap {query}"), || async {
        app.tg_answers()
            .await
            .into_iter()
            .find(|a| a["callback_query_id"] == query)
            .map(|a| a["text"].as_str().unwrap_or_default().to_string())
    })
    .await
}

fn id(m: &Value) -> i64 {
    m["message_id"].as_i64().unwrap()
}

fn buttons(m: &Value) -> Vec<String> {
    m["buttons"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .map(|b| b["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn callback(m: &Value, text: &str) -> String {
    m["buttons"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().cloned().unwrap_or_default())
        .find(|b| b["text"] == text)
        .and_then(|b| b["callback_data"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no button `{text}` in {m}"))
}

async fn pending_draft(app: &TestApp, text: &str) -> (i64, String) {
    let posted = app.buyer_writes(text).await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.state, DraftState::Pending, "{draft:?}");
    (draft.id, posted.chat_id)
}

async fn approved_by(app: &TestApp, id: i64) -> Option<String> {
    app.store
        .read(move |c| agentiq::store::get_draft(c, id))
        .await
        .unwrap()
        .unwrap()
        .approved_by
}

#[tokio::test]
async fn a_waiting_draft_arrives_once_and_send_delivers_it_exactly_once() {
    let app = app().await;
    let (draft, _) = pending_draft(&app, QUESTION).await;
    let card = card(&app, MARIA, draft).await;
    let text = card["text"].as_str().unwrap();
    assert!(text.contains(QUESTION), "{text}");
    assert!(text.contains("Wildberries"), "{text}");
    assert_eq!(
        buttons(&card),
        ["✅ Отправить", "✏️ Изменить", "❌ Отклонить", "🌐 Открыть"]
    );
    let viewer = self::card(&app, VIEWER, draft).await;
    assert_eq!(buttons(&viewer), ["🌐 Открыть"], "a viewer cannot act");

    let tap = app.tg_press(MARIA, id(&card), "✅ Отправить").await;
    app.wait_for_state(draft, DraftState::Sent).await;
    assert!(answer(&app, &tap).await.contains("Одобрено"));
    assert_eq!(
        approved_by(&app, draft).await.as_deref(),
        Some("telegram:Мария")
    );
    // The card is edited in place: no buttons to press, the outcome shown.
    wait_until("the card to show the sent state", || async {
        let now = app
            .tg_chat(MARIA)
            .await
            .into_iter()
            .find(|m| id(m) == id(&card))?;
        let t = now["text"].as_str()?.to_string();
        (t.contains("отправлено, Мария, Telegram") && buttons(&now) == ["🌐 Открыть"]).then_some(())
    })
    .await;
    // A second tap of the same (old) button sends nothing.
    let again = app
        .tg_press_data(MARIA, id(&card), &callback(&card, "✅ Отправить"))
        .await;
    assert!(answer(&app, &again).await.contains("устарела"));
    assert_eq!(app.sent_on("wb").await.len(), 1, "delivered exactly once");
    assert_eq!(app.tg_chat(MARIA).await.len(), 1, "one message per draft");
}

#[tokio::test]
async fn an_edit_shows_the_exact_text_with_its_findings_and_sends_only_after_confirmation() {
    let app = app().await;
    let (draft, _) = pending_draft(&app, QUESTION).await;
    let card = card(&app, MARIA, draft).await;
    app.tg_press(MARIA, id(&card), "✏️ Изменить").await;
    let prompt = message_with(&app, MARIA, "ответом на это сообщение").await;
    assert_eq!(prompt["force_reply"], true);

    // A promise the guards refuse: shown with its finding, and no way to send it here.
    let risky = "Вернём вам деньги сегодня же и дадим скидку 50% на следующий заказ!";
    app.tg_reply(MARIA, Some(id(&prompt)), risky).await;
    let refused = message_with(&app, MARIA, "Вернём вам деньги").await;
    let t = refused["text"].as_str().unwrap();
    assert!(t.contains(risky) && t.contains("⛔"), "{t}");
    assert!(
        !buttons(&refused).contains(&"✅ Отправить".to_string()),
        "{refused}"
    );

    // A clean text: shown exactly, sent only once confirmed.
    let clean = "Здравствуйте! Заказ уже в пути <скоро> & спасибо за терпение.";
    app.tg_reply(MARIA, Some(id(&card)), clean).await;
    let confirm = message_with(&app, MARIA, "ровно этот текст").await;
    let confirm = if confirm["text"].as_str().unwrap().contains(clean) {
        confirm
    } else {
        message_with(&app, MARIA, "спасибо за терпение").await
    };
    assert!(
        confirm["text"].as_str().unwrap().contains(clean),
        "{confirm}"
    );
    assert!(
        app.sent_on("wb").await.is_empty(),
        "nothing is sent before confirmation"
    );
    assert_eq!(app.draft(draft).await.state, DraftState::Pending);

    app.tg_press(MARIA, id(&confirm), "✅ Отправить").await;
    app.wait_for_state(draft, DraftState::Sent).await;
    let sent = app.sent_on("wb").await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["text"], clean);
}

#[tokio::test]
async fn a_stale_button_after_a_web_approval_sends_nothing() {
    let app = TestApp::builder().telegram(USERS).web().spawn().await;
    let (draft, _) = pending_draft(&app, QUESTION).await;
    let card = card(&app, MARIA, draft).await;
    let send = callback(&card, "✅ Отправить");
    let res = app
        .http
        .post(format!(
            "http://{}/api/drafts/{draft}/approve",
            app.web.unwrap()
        ))
        .bearer_auth(WEB_PASSWORD)
        // A non-ASCII name, sent as raw UTF-8 bytes (what most clients do).
        .header(
            "X-Actor",
            reqwest::header::HeaderValue::from_bytes("Мария".as_bytes()).unwrap(),
        )
        .json(&json!({ "text": "Ответ из веб-очереди.", "override": "тест" }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    app.wait_for_state(draft, DraftState::Sent).await;

    assert_eq!(
        approved_by(&app, draft).await.as_deref(),
        Some("api:Мария"),
        "the actor's name survives the header"
    );
    let tap = app.tg_press_data(MARIA, id(&card), &send).await;
    let said = answer(&app, &tap).await;
    assert!(said.contains("устарела"), "{said}");
    assert_eq!(app.sent_texts().await, ["Ответ из веб-очереди."]);
    wait_until("the card to show who sent it, and where", || async {
        let now = app
            .tg_chat(MARIA)
            .await
            .into_iter()
            .find(|m| id(m) == id(&card))?;
        (now["text"].as_str()?.contains("отправлено, Мария, api")
            && buttons(&now) == ["🌐 Открыть"])
        .then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_unlisted_user_and_a_viewer_can_do_nothing() {
    let app = app().await;
    let (draft, _) = pending_draft(&app, QUESTION).await;
    let card = card(&app, MARIA, draft).await;
    let send = callback(&card, "✅ Отправить");

    let stranger = app.tg_press_data(STRANGER, id(&card), &send).await;
    app.tg_reply(STRANGER, Some(id(&card)), "Отправь всё что есть")
        .await;
    let viewer = app.tg_press_data(VIEWER, id(&card), &send).await;
    assert!(answer(&app, &viewer).await.contains("только для просмотра"));
    wait_until("the bot to read every update", || async {
        (app.tg_unread_updates().await == 0).then_some(())
    })
    .await;

    assert!(
        app.tg_answers()
            .await
            .iter()
            .all(|a| a["callback_query_id"] != stranger.as_str())
    );
    assert!(
        app.tg_chat(STRANGER).await.is_empty(),
        "a stranger gets no data"
    );
    assert_eq!(app.draft(draft).await.state, DraftState::Pending);
    assert!(app.sent_on("wb").await.is_empty());
}

#[tokio::test]
async fn reject_offers_reasons_and_records_the_one_chosen() {
    let app = app().await;
    let (draft, _) = pending_draft(&app, QUESTION).await;
    let card = card(&app, MARIA, draft).await;
    app.tg_press(MARIA, id(&card), "❌ Отклонить").await;
    let reasons = message_with(&app, MARIA, "Почему отклоняете").await;
    app.tg_press(MARIA, id(&reasons), "Отвечу сам").await;
    let d = app.wait_for_state(draft, DraftState::Rejected).await;
    let row = app
        .store
        .read(move |c| agentiq::store::get_draft(c, d.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state_reason.as_deref(), Some("Отвечу сам"));
    assert!(app.sent_on("wb").await.is_empty());
}

#[tokio::test]
async fn telegram_429_and_5xx_delay_its_messages_but_not_drafts_or_sends() {
    let app = TestApp::builder()
        .telegram(USERS)
        .spawn_without_daemon()
        .await;
    app.tg_fault(json!({ "status": 500 })).await;
    let mut app = app;
    app.start().await;
    // Thanks are auto-sent by the test policy; a question waits for a person.
    let thanks = app.buyer_writes("Спасибо большое, всё пришло!").await;
    let (draft, _) = pending_draft(&app, QUESTION).await;
    wait_until(
        "the thanks reply to go out while Telegram fails",
        || async {
            app.sent_on("wb")
                .await
                .iter()
                .any(|s| s["chat_id"] == thanks.chat_id.as_str())
                .then_some(())
        },
    )
    .await;
    assert!(app.tg_sent().await.is_empty());
    app.tg_fault(json!({ "status": 429, "retry_after": 1, "count": 3 }))
        .await;
    let started = std::time::Instant::now();
    let card = card(&app, MARIA, draft).await;
    assert!(started.elapsed() < WAIT);
    let faulted = app.tg_stats().await["faulted"].as_u64().unwrap();
    assert!(faulted >= 4, "both faults were met: {faulted}");
    assert_eq!(
        app.tg_chat(MARIA)
            .await
            .iter()
            .filter(|m| m["text"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("черновик №{draft}")))
            .count(),
        1,
        "{card}"
    );
}

/// Like `wait_until`, with room for a fresh daemon process, which trains its
/// models before it polls (slow on a loaded machine).
async fn wait_long<T, Fut: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut f: impl FnMut() -> Fut,
) -> T {
    let deadline = std::time::Instant::now() + 6 * WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn kill_9_between_the_event_and_the_telegram_call_neither_loses_nor_doubles() {
    let app = TestApp::builder()
        .telegram(USERS)
        .spawn_without_daemon()
        .await;
    // Telegram is down: the card is recorded in the bot's outbox but cannot go out.
    app.tg_fault(json!({ "status": 502 })).await;
    let daemon = Daemon::start(&app.config_path());
    let posted = app.buyer_writes(QUESTION).await;
    let chat = posted.chat_id.clone();
    let draft = wait_long("the draft", || async {
        app.drafts().await.into_iter().find(|d| d.chat_id == chat)
    })
    .await
    .id;
    wait_long("the cards to be recorded and tried", || async {
        let n = app
            .count("SELECT COUNT(*) FROM telegram_outbox WHERE kind = 'card' AND attempts > 0")
            .await;
        (n >= 2).then_some(())
    })
    .await;
    daemon.kill_9().await;
    assert!(app.tg_sent().await.is_empty());

    app.tg_clear_fault().await;
    let daemon = Daemon::start(&app.config_path());
    wait_long("both cards after the restart", || async {
        (!app.tg_chat(MARIA).await.is_empty() && !app.tg_chat(VIEWER).await.is_empty())
            .then_some(())
    })
    .await;
    card(&app, MARIA, draft).await;
    card(&app, VIEWER, draft).await;
    app.drain_process().await;
    daemon.kill_9().await;
    assert_eq!(app.tg_chat(MARIA).await.len(), 1);
    assert_eq!(app.tg_chat(VIEWER).await.len(), 1);
}

#[tokio::test]
async fn buyer_text_cannot_inject_formatting_or_buttons() {
    let app = app().await;
    let evil = "<b>СРОЧНО</b> <a href=\"https://evil.example\">жми</a> & {\"inline_keyboard\":[]}";
    let (draft, _) = pending_draft(&app, evil).await;
    let card = card(&app, MARIA, draft).await;
    assert!(card["text"].as_str().unwrap().contains(evil), "{card}");
    assert!(
        card["html"]
            .as_str()
            .unwrap()
            .contains("&lt;b&gt;СРОЧНО&lt;/b&gt;")
    );
    assert_eq!(buttons(&card).len(), 4);
}

/// Only these words make the test policy's shop escalate.
const HUMAN: &str = "Позовите менеджера, хочу поговорить с живым человеком";

fn escalating_shop() -> ShopSpec {
    let mut shop = ShopSpec::new("shop");
    shop.policy = format!(
        "{TEST_POLICY}\n[[rule]]\nname = \"people\"\nwhen.intent = [\"human_request\", \"abusive\"]\neffect = \"escalate\"\n"
    );
    shop
}

fn texts(chat: &[Value]) -> Vec<String> {
    chat.iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn an_escalation_arrives_as_a_separate_alert_beside_its_card() {
    let app = TestApp::builder()
        .telegram(USERS)
        .shop(escalating_shop())
        .spawn()
        .await;
    let posted = app.buyer_writes(HUMAN).await;
    let draft = app.wait_for_draft(&posted.chat_id).await.id;
    let alert = message_with(&app, MARIA, "Эскалация: нужен человек").await;
    let text = alert["text"].as_str().unwrap();
    assert!(text.contains(&format!("черновик №{draft}")), "{text}");
    assert_eq!(alert["silent"], false);
    assert_eq!(buttons(&alert), ["📄 Карточка"]);
    let card = card(&app, MARIA, draft).await;
    assert_ne!(id(&card), id(&alert), "the alert is its own message");
    assert!(card["text"].as_str().unwrap().starts_with("🚨"));
    message_with(&app, VIEWER, "Эскалация: нужен человек").await;
    assert!(
        app.sent_on("wb").await.is_empty(),
        "an escalation sends nothing"
    );
}

/// `HH:MM:SS-HH:MM:SS` (UTC) from a minute ago to `ahead` from now.
fn quiet_window(ahead: std::time::Duration) -> String {
    let now = jiff::Timestamp::now();
    let fmt = |t: jiff::Timestamp| {
        t.to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%H:%M:%S")
            .to_string()
    };
    let ahead = jiff::SignedDuration::try_from(ahead).unwrap();
    format!(
        "{}-{}",
        fmt(now - jiff::SignedDuration::from_secs(60)),
        fmt(now + ahead)
    )
}

#[tokio::test]
async fn quiet_hours_hold_cards_until_they_end_then_one_digest_while_escalations_come_through() {
    let quiet_for = std::time::Duration::from_secs(3600);
    let users = format!(
        "[[telegram.users]]\nid = {MARIA}\nname = \"Мария\"\nrole = \"approve\"\ntimezone = \"UTC\"\nquiet_hours = \"{}\"\n",
        quiet_window(quiet_for)
    );
    let app = TestApp::builder()
        .telegram(&users)
        .shop(escalating_shop())
        .spawn()
        .await;
    let (first, _) = pending_draft(&app, QUESTION).await;
    let (second, _) = pending_draft(&app, "Добрый день, а есть этот товар в синем цвете?").await;
    let human = app.buyer_writes(HUMAN).await;
    let escalated = app.wait_for_draft(&human.chat_id).await.id;

    // The escalation comes through at once, silently; the three cards wait.
    let alert = message_with(&app, MARIA, "Эскалация: нужен человек").await;
    assert_eq!(alert["silent"], true, "{alert}");
    wait_until("the three cards to be held back", || async {
        (app.count("SELECT COUNT(*) FROM telegram_outbox WHERE kind = 'card' AND held_at IS NOT NULL AND done_at IS NULL").await == 3)
            .then_some(())
    })
    .await;
    app.drain().await;
    assert_eq!(texts(&app.tg_chat(MARIA).await).len(), 1, "only the alert");

    // When the hours end: one digest for the three, no card each.
    app.advance_clock(quiet_for);
    let digest = message_with(&app, MARIA, "Ждут решения: 3").await;
    assert_eq!(digest["silent"], false);
    let opens: Vec<String> = buttons(&digest)
        .into_iter()
        .filter(|b| b.starts_with("📄"))
        .collect();
    assert_eq!(opens.len(), 3, "{digest}");
    for d in [first, second, escalated] {
        assert!(
            opens.iter().any(|b| b.contains(&format!("№{d} "))),
            "{opens:?}"
        );
    }
    app.drain().await;
    let chat = texts(&app.tg_chat(MARIA).await);
    assert_eq!(chat.len(), 2, "the alert and the digest: {chat:?}");

    // A digest button brings up the card, which acts as usual.
    let open = opens
        .iter()
        .find(|b| b.contains(&format!("№{first} ")))
        .unwrap();
    app.tg_press(MARIA, id(&digest), open).await;
    let card = card(&app, MARIA, first).await;
    app.tg_press(MARIA, id(&card), "✅ Отправить").await;
    app.wait_for_state(first, DraftState::Sent).await;
    assert_eq!(app.sent_on("wb").await.len(), 1);
}

#[tokio::test]
async fn a_digest_user_gets_counts_and_buttons_instead_of_a_message_per_draft() {
    let users = format!(
        "[[telegram.users]]\nid = {MARIA}\nname = \"Мария\"\nrole = \"approve\"\ndigest = \"5s\"\n"
    );
    let app = TestApp::builder().telegram(&users).spawn().await;
    let questions = [
        QUESTION,
        "Добрый день, а есть этот товар в синем цвете?",
        "Подскажите, какой размер выбрать при росте 170?",
    ];
    let mut chats = Vec::new();
    for q in questions {
        chats.push(app.buyer_writes(q).await.chat_id);
    }
    let mut drafts = Vec::new();
    for c in &chats {
        drafts.push(app.wait_for_draft(c).await.id);
    }
    let digest = message_with(&app, MARIA, "Ждут решения: 3").await;
    let text = digest["text"].as_str().unwrap();
    assert!(text.contains("shop — 3"), "{text}");
    assert!(text.contains("Дольше всех ждёт"), "{text}");
    assert_eq!(
        buttons(&digest)
            .iter()
            .filter(|b| b.starts_with("📄"))
            .count(),
        3,
        "{digest}"
    );
    let chat = texts(&app.tg_chat(MARIA).await);
    assert!(
        chat.iter().all(|t| t.starts_with("📋")),
        "digests only, no card per draft: {chat:?}"
    );
    assert!(chat.len() <= 2, "at most one digest per 5 s: {chat:?}");
}

#[tokio::test]
async fn a_failed_send_and_a_chat_that_blocked_the_bot_are_surfaced_not_retried() {
    let app = TestApp::builder().telegram(USERS).web().spawn().await;
    app.tg_block(VIEWER, "blocked").await;
    let (draft, _) = pending_draft(&app, QUESTION).await;
    let card = card(&app, MARIA, draft).await;
    let why = wait_until("the viewer's card to be marked failed", || async {
        let s = app
            .store
            .read(|c| agentiq::store::telegram::failed(c, 10))
            .await
            .unwrap();
        s.1.into_iter().find(|f| f.chat_id == VIEWER)
    })
    .await;
    assert!(why.error.contains("bot was blocked by the user"), "{why:?}");
    assert_eq!(
        app.count("SELECT attempts FROM telegram_outbox WHERE outcome = 'failed'")
            .await,
        1
    );

    // The marketplace refuses the reply: an alert, and Maria's card says so.
    app.fault(json!({ "kind": "status", "status": 400, "path": "/api/v1/seller/message" }))
        .await;
    app.tg_press(MARIA, id(&card), "✅ Отправить").await;
    app.wait_for_state(draft, DraftState::Failed).await;
    let alert = message_with(&app, MARIA, "Ответ не отправлен").await;
    assert!(
        alert["text"]
            .as_str()
            .unwrap()
            .contains(&format!("черновик №{draft}"))
    );

    // The operator sees the refused Telegram messages, in the API and the metrics.
    wait_until("the viewer's alert to be refused too", || async {
        (app.count("SELECT COUNT(*) FROM telegram_outbox WHERE outcome = 'failed'")
            .await
            == 2)
            .then_some(())
    })
    .await;
    let web = app.web.unwrap();
    let status: Value = app
        .http
        .get(format!("http://{web}/api/status"))
        .bearer_auth(WEB_PASSWORD)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        status["telegram_failed"], 2,
        "the card and the alert: {status}"
    );
    assert!(
        status["telegram_failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("403")
    );
    let metrics = app
        .http
        .get(format!("http://{web}/metrics"))
        .bearer_auth(WEB_PASSWORD)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("agentiq_telegram_failed_messages 2"),
        "{metrics}"
    );
    // Each refused message was tried once: none is retried.
    app.drain().await;
    assert_eq!(app.tg_stats().await["refused"], 2);
}

#[tokio::test]
async fn webhook_mode_receives_updates_on_the_web_server_and_long_polling_comes_back() {
    let builder = TestApp::builder().web_on_known_port();
    let port = builder.web_port().unwrap();
    let users = format!(
        "{USERS}\n[telegram.webhook]\nurl = \"http://127.0.0.1:{port}/telegram/webhook\"\nsecret_token = \"s3cret-token_1\"\n"
    );
    let mut app = builder.telegram(&users).spawn().await;
    let hook = wait_until("the webhook to be set", || async {
        let h = app.tg_webhook().await;
        (h["url"] != "").then_some(h)
    })
    .await;
    assert_eq!(
        hook["url"],
        format!("http://127.0.0.1:{port}/telegram/webhook")
    );
    assert_eq!(hook["secret_token"], "s3cret-token_1");

    // A caller without the secret is refused and changes nothing.
    let forged = app
        .http
        .post(format!("http://127.0.0.1:{port}/telegram/webhook"))
        .header("X-Telegram-Bot-Api-Secret-Token", "guess")
        .json(&json!({ "update_id": 999, "message": { "message_id": 1, "chat": { "id": MARIA }, "from": { "id": MARIA }, "text": "hi" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("SELECT COUNT(*) FROM telegram_inbox").await, 0);

    let (draft, _) = pending_draft(&app, QUESTION).await;
    let card = card(&app, MARIA, draft).await;
    let tap = app.tg_press(MARIA, id(&card), "✅ Отправить").await;
    app.wait_for_state(draft, DraftState::Sent).await;
    assert!(answer(&app, &tap).await.contains("Одобрено"));
    assert_eq!(app.sent_on("wb").await.len(), 1);
    let hook = app.tg_webhook().await;
    assert!(hook["deliveries"].as_u64().unwrap() >= 1, "{hook}");
    assert!(
        app.tg_stats().await["calls"]["getUpdates"].is_null(),
        "no long polling while the webhook is set"
    );

    // Back to long polling: the webhook is deleted and taps arrive by getUpdates.
    app.stop().await;
    app.settings.telegram.as_mut().unwrap().webhook = None;
    app.start().await;
    let (second, _) = pending_draft(&app, "Добрый день, а есть этот товар в синем цвете?").await;
    let card = self::card(&app, MARIA, second).await;
    app.tg_press(MARIA, id(&card), "❌ Отклонить").await;
    wait_until("the webhook to be deleted", || async {
        (app.tg_webhook().await["url"] == "").then_some(())
    })
    .await;
    let reasons = message_with(&app, MARIA, "Почему отклоняете").await;
    app.tg_press(MARIA, id(&reasons), "Отвечу сам").await;
    app.wait_for_state(second, DraftState::Rejected).await;
    assert_eq!(app.tg_stats().await["calls"]["deleteWebhook"], 1);
}
