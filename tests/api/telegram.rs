//! The Telegram bot against the simulator's Bot API: one message per waiting
//! draft, buttons that act through the same actions as the web queue, stale
//! buttons, strangers, crashes and Telegram's own failures.

use agentiq::domain::DraftState;
use serde_json::{Value, json};

use crate::helpers::{Daemon, TestApp, WAIT, WEB_PASSWORD, settle, wait_until};

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
        .header("X-Actor", "maria")
        .json(&json!({ "text": "Ответ из веб-очереди.", "override": "тест" }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    app.wait_for_state(draft, DraftState::Sent).await;

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
        (now["text"].as_str()?.contains("отправлено, maria, api")
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
    settle().await;
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
