//! Policies, guards and the undo window, end to end against the simulator.

use std::time::Duration;

use agentiq::actions;
use agentiq::domain::DraftState;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{ShopSpec, TestApp, binary, wait_until};

/// A fixed-offset zone in which it is night (23:00–04:00) right now, so a
/// `hours = "22:00-06:00"` rule is really tested against the clock.
fn a_zone_where_it_is_night() -> String {
    let utc_hour = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .hour() as i32;
    // Etc/GMT-N is N hours *ahead* of UTC.
    let ahead = (1 - utc_hour).rem_euclid(24);
    let ahead = if ahead > 14 { ahead - 24 } else { ahead };
    if ahead >= 0 {
        format!("Etc/GMT-{ahead}")
    } else {
        format!("Etc/GMT+{}", -ahead)
    }
}

/// How long a scheduled draft waits before it goes out.
fn window_of(draft: &actions::QueueItem) -> Duration {
    let ms = draft.send_at.expect("scheduled") - draft.created_at;
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

fn night_shop(delay: &str) -> ShopSpec {
    let mut shop = ShopSpec::new("shop");
    shop.extra = format!("timezone = \"{}\"", a_zone_where_it_is_night());
    shop.policy = format!(
        r#"
[settings]
confidence_floor = 0.55

[[rule]]
name = "night-delivery-answers"
when.intent = "delivery_status"
when.hours = "22:00-06:00"
effect = "auto"
delay = "{delay}"
"#
    );
    shop
}

#[tokio::test]
async fn a_night_time_delivery_question_is_auto_sent_after_its_undo_window() {
    let app = TestApp::builder().shop(night_shop("3s")).spawn().await;
    let posted = app.buyer_writes("Когда доставят мой заказ?").await;

    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.state, DraftState::Scheduled);
    let window = draft.send_at.unwrap() - draft.created_at;
    assert!((2900..=3100).contains(&window), "undo window {window} ms");
    app.drain().await;
    assert!(
        app.sent().await.is_empty(),
        "nothing goes out inside the undo window"
    );
    app.advance_clock(window_of(&draft));

    app.wait_for_state(draft.id, DraftState::Sent).await;
    app.drain().await;
    assert_eq!(app.sent().await.len(), 1);
}

#[tokio::test]
async fn a_portal_reply_inside_the_undo_window_cancels_the_auto_reply() {
    let app = TestApp::builder().shop(night_shop("4s")).spawn().await;
    let posted = app.buyer_writes("Где мой заказ?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.state, DraftState::Scheduled);

    app.portal_reply(
        &posted.chat_id,
        "Заказ уже в пути, завтра будет в пункте выдачи.",
    )
    .await;
    let d = app.wait_for_state(draft.id, DraftState::Cancelled).await;
    assert!(d.reason.unwrap().contains("кабинете продавца"));
    app.advance_clock(window_of(&draft));
    app.drain().await;
    assert!(app.sent().await.is_empty());
}

#[tokio::test]
async fn a_new_buyer_message_inside_the_undo_window_brings_a_new_draft() {
    let app = TestApp::builder().shop(night_shop("4s")).spawn().await;
    let posted = app.buyer_writes("Где мой заказ?").await;
    let first = app.wait_for_draft(&posted.chat_id).await;
    app.buyer_writes_in(&posted.chat_id, "И можно ли поменять пункт выдачи?")
        .await;

    app.wait_for_state(first.id, DraftState::Cancelled).await;
    let second = wait_until("a second draft", || async {
        app.drafts().await.into_iter().find(|d| d.id != first.id)
    })
    .await;
    let detail = actions::show(&app.store, second.id).await.unwrap();
    assert_eq!(
        detail
            .messages
            .iter()
            .filter(|m| m.author == agentiq::domain::Author::Buyer)
            .count(),
        2
    );
}

#[tokio::test]
async fn a_draft_that_promises_a_refund_is_never_auto_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{ "message": { "role": "assistant", "content": "Не волнуйтесь, если заказ задержится, мы вернём вам деньги." }, "finish_reason": "stop" }]
        })))
        .mount(&server)
        .await;
    let mut shop = night_shop("0s");
    shop.extra
        .push_str("\ndrafter = \"llm\"\nllm_provider = \"fake\"");
    let app = TestApp::builder()
        .config(&format!(
            "[llm.providers.fake]\nbase_url = \"{}/v1\"\nmodel = \"m\"\n",
            server.uri()
        ))
        .shop(shop)
        .spawn()
        .await;
    let posted = app.buyer_writes("Когда доставят заказ?").await;

    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.state, DraftState::Pending);
    let detail = actions::show(&app.store, draft.id).await.unwrap();
    let promise = detail
        .draft
        .findings
        .iter()
        .find(|f| f.category == "promise_refund")
        .expect("a promise finding");
    assert_eq!(promise.severity, agentiq::guards::Severity::Error);
    assert!(
        detail
            .draft
            .decision
            .rules
            .iter()
            .any(|r| r.name == "night-delivery-answers" && r.matched)
    );
    assert!(
        detail
            .draft
            .decision
            .floor
            .iter()
            .any(|f| f.contains("promise")),
        "{:?}",
        detail.draft.decision.floor
    );
    app.drain().await;
    assert!(app.sent().await.is_empty());
}

async fn cli(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(binary())
        .args(args)
        .arg("--config")
        .arg(app.config_path())
        .output()
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn thanks_after(delay: &str) -> ShopSpec {
    let mut shop = ShopSpec::new("shop");
    shop.policy = format!(
        "[[rule]]\nname = \"thanks\"\nwhen.intent = \"thanks\"\neffect = \"auto\"\ndelay = \"{delay}\"\n"
    );
    shop
}

#[tokio::test]
async fn the_kill_switch_stops_auto_sending_at_once_and_resume_restores_it() {
    let app = TestApp::builder().shop(thanks_after("3s")).spawn().await;
    let first = app.buyer_writes("Спасибо, всё пришло!").await;
    let scheduled = app.wait_for_draft(&first.chat_id).await;
    assert_eq!(scheduled.state, DraftState::Scheduled);

    let (code, out, err) = cli(&app, &["pause", "shop", "--reason", "проверяем шаблоны"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("paused"), "{out}");
    let held = app.wait_for_state(scheduled.id, DraftState::Pending).await;
    assert!(held.reason.unwrap().contains("приостановлена"));
    let second = app.buyer_writes("Спасибо большое!").await;
    let queued = app.wait_for_draft(&second.chat_id).await;
    assert_eq!(queued.state, DraftState::Pending);
    let (_, status, _) = cli(&app, &["status"]).await;
    assert!(
        status.contains("PAUSED") && status.contains("проверяем шаблоны"),
        "{status}"
    );
    app.drain().await;
    assert!(app.sent().await.is_empty(), "nothing went out while paused");

    // A person's approval still goes out while paused.
    app.approve(held.id, None).await.unwrap();
    app.wait_for_state(held.id, DraftState::Sent).await;

    let (code, _, err) = cli(&app, &["resume", "shop"]).await;
    assert_eq!(code, 0, "{err}");
    let third = app.buyer_writes("Спасибо за подарочную упаковку!").await;
    let auto = app.wait_for_draft(&third.chat_id).await;
    assert_eq!(auto.state, DraftState::Scheduled);
    app.advance_clock(window_of(&auto));
    app.wait_for_state(auto.id, DraftState::Sent).await;
    assert_eq!(app.sent().await.len(), 2);
}

#[tokio::test]
async fn a_broken_policy_edit_keeps_the_old_policy_running() {
    let app = TestApp::builder().shop(thanks_after("0s")).spawn().await;
    let policy_file = app.dir.path().join("policy-shop.toml");
    let good = std::fs::read_to_string(&policy_file).unwrap();
    std::fs::write(
        &policy_file,
        good.replace(
            "effect = \"auto\"",
            "effect = \"auto\"\nwhen.weather = \"sunny\"",
        ),
    )
    .unwrap();

    let (_, status, _) = wait_until("the rejected edit to show in the status", || async {
        let r = cli(&app, &["status"]).await;
        r.1.contains("edit rejected").then_some(r)
    })
    .await;
    assert!(
        status.contains("policy-shop.toml:5:") && status.contains("unknown condition `weather`"),
        "{status}"
    );

    let posted = app.buyer_writes("Спасибо, очень довольна!").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.wait_for_state(draft.id, DraftState::Sent).await;

    // A good edit takes effect without a restart.
    std::fs::write(
        &policy_file,
        good.replace("effect = \"auto\"\ndelay = \"0s\"", "effect = \"queue\""),
    )
    .unwrap();
    wait_until("the good edit to load", || async {
        let r = cli(&app, &["status"]).await;
        (!r.1.contains("edit rejected")).then_some(())
    })
    .await;
    let later = app.buyer_writes("Спасибо ещё раз!").await;
    assert_eq!(
        app.wait_for_draft(&later.chat_id).await.state,
        DraftState::Pending
    );
}

#[tokio::test]
async fn after_a_person_answers_in_the_portal_auto_replies_to_that_chat_pause() {
    let app = TestApp::builder().shop(thanks_after("0s")).spawn().await;
    let posted = app.buyer_writes("Подскажите размер").await;
    app.wait_for_draft(&posted.chat_id).await;
    app.portal_reply(&posted.chat_id, "Берите M.").await;
    app.drain().await;

    app.buyer_writes_in(&posted.chat_id, "Спасибо!").await;
    let thanks = wait_until("a draft for the thanks", || async {
        app.drafts()
            .await
            .into_iter()
            .find(|d| d.intent == "thanks")
    })
    .await;
    assert_eq!(thanks.state, DraftState::Pending);
    let detail = actions::show(&app.store, thanks.id).await.unwrap();
    assert!(
        detail
            .draft
            .decision
            .floor
            .iter()
            .any(|f| f.contains("human takeover"))
    );
}

#[tokio::test]
async fn an_escalation_notifies_the_webhook_and_sends_nothing() {
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&hook)
        .await;
    let mut shop = ShopSpec::new("shop");
    shop.policy = "[[rule]]\nname = \"people\"\nwhen.intent = [\"human_request\", \"abusive\"]\neffect = \"escalate\"\n".into();
    let app = TestApp::builder()
        .config(&format!(
            "[notify]\nwebhook_url = \"{}/hook\"\n",
            hook.uri()
        ))
        .shop(shop)
        .spawn()
        .await;
    let posted = app
        .buyer_writes("Позовите менеджера, хочу поговорить с живым человеком")
        .await;

    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.state, DraftState::Pending);
    let body = wait_until("the webhook call", || async {
        hook.received_requests()
            .await
            .unwrap_or_default()
            .first()
            .map(|r| r.body.clone())
    })
    .await;
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["draft_id"], draft.id);
    assert_eq!(body["intent"], "human_request");
    assert!(app.sent().await.is_empty());
}

#[tokio::test]
async fn pending_drafts_expire_and_silence_never_approves() {
    let app = TestApp::builder().config("").spawn().await;
    let posted = app.buyer_writes("Какой размер выбрать?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    let now = agentiq::domain::now_ms();
    let store = app.store.clone();
    let expired = store
        .call(move |c| agentiq::store::expire_stale(c, now + 1000, 500))
        .await
        .unwrap();
    assert_eq!(expired, vec![draft.id]);
    assert_eq!(app.draft(draft.id).await.state, DraftState::Expired);
    assert!(app.approve(draft.id, None).await.is_err());
}

#[tokio::test]
async fn a_corrected_intent_is_learned_by_the_running_daemon() {
    let app = TestApp::spawn().await;
    let text = "Скажите, а кот на фото в комплект входит?";
    let posted = app.buyer_writes(text).await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    // Whatever the model thought, a person says it is something else.
    let target = if draft.intent == "compatibility" {
        "availability"
    } else {
        "compatibility"
    };
    let id = draft.id.to_string();
    let (code, out, err) = cli(&app, &["queue", "retag", &id, target, "--as", "cli:anna"]).await;
    assert_eq!(code, 0, "{out}{err}");
    let detail = actions::show(&app.store, draft.id).await.unwrap();
    assert_eq!(detail.draft.intent.as_str(), target);
    assert!(
        detail.events.iter().any(|e| e.actor == "cli:anna"
            && e.note.as_deref().is_some_and(|n| n.contains(&format!(
                "→ «{}»",
                target
                    .parse::<agentiq::domain::Intent>()
                    .unwrap()
                    .label_ru()
            )))),
        "{:?}",
        detail.events
    );
    // An unknown intent is refused with the list of known ones.
    let (code, _, err) = cli(&app, &["queue", "retag", &id, "complaint"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("human_request"), "{err}");
    // The daemon retrains within a reload tick: the same words in a new chat
    // now get the corrected intent.
    wait_until("the daemon to learn the correction", || async {
        let again = app.buyer_writes(text).await;
        let d = app.wait_for_draft(&again.chat_id).await;
        (d.intent == target).then_some(())
    })
    .await;
}
