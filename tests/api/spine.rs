//! The daemon's spine, end to end against the Wildberries simulator.

use std::time::Duration;

use agentiq::actions;
use agentiq::domain::{DraftState, Flag};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{
    ShopSpec, TEST_POLICY, TestApp, assert_cut_send_confirmed_once, binary, wait_until,
};

#[tokio::test]
async fn a_buyer_message_becomes_a_queued_draft_and_the_edited_approval_is_delivered_once() {
    let app = TestApp::spawn().await;
    let posted = app
        .buyer_writes("Здравствуйте! Когда привезут мой заказ?")
        .await;

    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.state, DraftState::Pending);
    assert_eq!(draft.intent, "delivery_status");
    assert!(draft.confidence > 0.0);
    assert!(
        app.sent().await.is_empty(),
        "nothing goes out without approval"
    );

    let edited = "Здравствуйте! Заказ уже в пути, статус видно в личном кабинете.";
    app.approve(draft.id, Some(edited.into())).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    app.drain().await;

    let sent = app.sent().await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["text"], edited);
    assert_eq!(sent[0]["chat_id"], posted.chat_id.as_str());
}

#[tokio::test]
async fn three_quick_messages_get_one_draft() {
    let app = TestApp::builder().debounce("2s").spawn().await;
    let first = app.buyer_writes("Добрый день!").await;
    app.buyer_writes_in(&first.chat_id, "Подскажите, какой размер выбрать?")
        .await;
    app.buyer_writes_in(&first.chat_id, "Рост 170, обычно ношу M")
        .await;

    let draft = app.wait_for_draft(&first.chat_id).await;
    app.drain().await;
    let drafts = app.drafts().await;
    assert_eq!(drafts.len(), 1, "{drafts:?}");
    assert_eq!(draft.intent, "sizing_fit");
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 3);
}

#[tokio::test]
async fn replayed_events_and_restarts_store_nothing_twice() {
    let mut app = TestApp::spawn().await;
    let posted = app.buyer_writes("Где мой заказ? Жду уже неделю").await;
    app.wait_for_draft(&posted.chat_id).await;

    // Messages that arrive while the daemon is down are read once after it starts again.
    app.stop().await;
    let second = app
        .buyer_writes("Заказ должен был прийти вчера, до сих пор нет")
        .await;
    app.start().await;
    app.wait_for_draft(&second.chat_id).await;
    app.stop().await;

    // Forget the cursor: the whole event stream is read again from the start.
    app.store
        .call(|c| Ok(c.execute("UPDATE sync_state SET cursor = NULL", [])?))
        .await
        .unwrap();
    app.start().await;
    wait_until("the stream to be re-read", || async {
        let reqs = app.requests().await;
        (reqs
            .iter()
            .filter(|r| r["path"] == "/api/v1/seller/events")
            .count()
            > 6)
        .then_some(())
    })
    .await;
    app.drain().await;

    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM chats").await, 2);
    assert_eq!(app.drafts().await.len(), 2);
}

#[tokio::test]
async fn a_send_whose_connection_drops_after_acceptance_is_reconciled_as_sent_not_resent() {
    let app = TestApp::spawn().await;
    let posted = app.buyer_writes("Подскажите, есть ли размер XXL?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.fault(json!({ "kind": "drop_after_accept", "path": "/api/v1/seller/message" }))
        .await;

    app.approve(draft.id, None).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    // Past the reconcile grace and a few polls: a blind resend would have happened by now.
    app.drain().await;

    assert_eq!(app.sent().await.len(), 1);
    let detail = actions::show(&app.store, draft.id).await.unwrap();
    let path: Vec<_> = detail.events.iter().map(|e| e.to.as_str()).collect();
    assert_cut_send_confirmed_once(&path, &detail.events);
}

#[tokio::test]
async fn a_send_that_provably_did_not_arrive_is_sent_again_once() {
    let app = TestApp::spawn().await;
    let posted = app.buyer_writes("Есть в наличии чёрного цвета?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    // The marketplace answers 500 without taking the message: outcome unknown.
    app.fault(json!({ "kind": "status", "status": 500, "path": "/api/v1/seller/message" }))
        .await;

    app.approve(draft.id, None).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    app.drain().await;

    assert_eq!(app.sent().await.len(), 1);
    let detail = actions::show(&app.store, draft.id).await.unwrap();
    let path: Vec<_> = detail.events.iter().map(|e| e.to.as_str()).collect();
    assert_eq!(
        path,
        [
            "pending",
            "scheduled",
            "sending",
            "unknown",
            "scheduled",
            "sending",
            "sent"
        ],
        "{:?}",
        detail.events
    );
}

#[tokio::test]
async fn after_a_429_the_daemon_waits_as_told_and_carries_on() {
    let app = TestApp::spawn().await;
    app.drain().await;
    app.fault(json!({ "kind": "status", "status": 429, "retry_after_secs": 2, "path": "/api/v1/seller/events" })).await;
    let posted = app.buyer_writes("Спасибо большое, всё пришло!").await;

    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.intent, "thanks");
    app.wait_for_state(draft.id, DraftState::Sent).await;

    let requests = app.requests().await;
    let throttled = requests
        .iter()
        .position(|r| r["status"] == 429)
        .expect("a 429 was served");
    let at = requests[throttled]["at"].as_i64().unwrap();
    let next = &requests[throttled + 1];
    let waited = next["at"].as_i64().unwrap() - at;
    assert!(
        waited >= 1900,
        "the next request came {waited} ms after the 429 that said 2 s"
    );
}

#[tokio::test]
async fn a_rejected_token_pauses_only_that_shop() {
    let mut bad = ShopSpec::new("bad");
    bad.known_to_sim = false;
    let app = TestApp::builder()
        .shop(ShopSpec::new("good"))
        .shop(bad)
        .spawn()
        .await;
    let posted = app.buyer_writes_as("good", None, "Где мой заказ?").await;

    app.wait_for_draft(&posted.chat_id).await;
    let status = wait_until("the bad shop's status", || async {
        let rows = app
            .store
            .call(|c| agentiq::store::list_status(c))
            .await
            .unwrap();
        rows.into_iter()
            .find(|r| r.shop == "bad" && r.state == agentiq::store::ConnectorState::AuthFailed)
    })
    .await;
    let detail = status.detail.unwrap_or_default();
    assert!(
        detail.contains("401") && detail.contains("токен"),
        "{detail}"
    );
    let rows = app
        .store
        .call(|c| agentiq::store::list_status(c))
        .await
        .unwrap();
    let good = rows.iter().find(|r| r.shop == "good").unwrap();
    assert_eq!(good.state, agentiq::store::ConnectorState::Ok);
}

#[tokio::test]
async fn a_portal_reply_cancels_the_waiting_draft() {
    let app = TestApp::spawn().await;
    let posted = app.buyer_writes("Подойдёт ли на iPhone 15?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;

    app.portal_reply(&posted.chat_id, "Да, подойдёт.").await;
    let d = app.wait_for_state(draft.id, DraftState::Cancelled).await;
    assert!(d.reason.unwrap().contains("кабинете продавца"));
    assert!(app.sent().await.is_empty());
}

async fn llm_app(server: &MockServer) -> TestApp {
    let mut shop = ShopSpec::new("shop");
    shop.extra = "drafter = \"llm\"\nllm_provider = \"fake\"".into();
    TestApp::builder()
        .config(&format!(
            "[llm.providers.fake]\nbase_url = \"{}/v1\"\nmodel = \"test\"\ntimeout = \"500ms\"\n",
            server.uri()
        ))
        .shop(shop)
        .spawn()
        .await
}

#[tokio::test]
async fn an_llm_timeout_queues_the_template_fallback_and_says_why() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let app = llm_app(&server).await;
    // The test policy auto-sends thanks; a failed drafter must still stop that.
    let posted = app.buyer_writes("Спасибо большое, всё пришло!").await;

    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.state, DraftState::Pending);
    let detail = actions::show(&app.store, draft.id).await.unwrap();
    let note = detail.draft.drafter_note.clone().unwrap_or_default();
    assert!(
        note.contains("нет ответа за") && note.contains("шаблон ответа"),
        "{note}"
    );
    assert!(
        detail
            .draft
            .classification
            .flags
            .contains(&Flag::DrafterFallback)
    );
    assert!(
        detail
            .draft
            .decision
            .floor
            .iter()
            .any(|f| f.contains("запасной вариант")),
        "{:?}",
        detail.draft.decision
    );
    app.drain().await;
    assert!(app.sent().await.is_empty());
}

#[tokio::test]
async fn garbage_from_the_llm_is_never_auto_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>502 Bad Gateway</html>"))
        .mount(&server)
        .await;
    let app = llm_app(&server).await;
    let posted = app.buyer_writes("Спасибо, всё отлично!").await;

    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.state, DraftState::Pending);
    let detail = actions::show(&app.store, draft.id).await.unwrap();
    assert!(
        detail
            .draft
            .drafter_note
            .unwrap_or_default()
            .contains("не составила черновик")
    );
    app.drain().await;
    assert!(app.sent().await.is_empty());
}

#[tokio::test]
async fn check_reports_a_broken_policy_with_file_and_line() {
    let app = TestApp::spawn().await;
    let broken = TEST_POLICY.replace("when.intent = \"thanks\"", "when.intent = \"thank_you\"");
    app.write_file("policy-shop.toml", &broken);

    let out = tokio::process::Command::new(binary())
        .args(["check", "--config"])
        .arg(app.config_path())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = broken
        .lines()
        .position(|l| l.contains("thank_you"))
        .unwrap()
        + 1;
    assert!(
        stderr.contains(&format!("policy-shop.toml:{line}:")),
        "{stderr}"
    );
    assert!(stderr.contains("unknown intent `thank_you`"), "{stderr}");
}

#[tokio::test]
async fn the_client_side_limit_keeps_the_daemon_under_the_documented_wildberries_limit() {
    // The simulator enforces 10 requests per 10 s with a burst of 10, as WB documents;
    // the daemon polls every 100 ms but its own limiter holds it to the same budget.
    let app = TestApp::builder()
        .sim_rate(10, 1.0)
        .client_rate(10, "10s")
        .spawn()
        .await;
    let posted = app.buyer_writes("Спасибо, всё пришло!").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.wait_for_state(draft.id, DraftState::Sent).await;
    // The daemon keeps polling, held under the documented limit.
    let requests = wait_until("10 requests", || async {
        Some(app.requests().await).filter(|r| r.len() >= 10)
    })
    .await;
    let throttled = requests.iter().filter(|r| r["status"] == 429).count();
    assert_eq!(throttled, 0, "{requests:?}");
}

#[tokio::test]
async fn a_missing_or_stale_reply_sign_is_refreshed_from_the_chat_list() {
    let app = TestApp::spawn().await;
    let posted = app
        .buyer_writes("Подскажите, подойдёт к Samsung Galaxy S24?")
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    // As if the stream never carried it (WB sends replySign only on a chat's first event).
    app.store
        .call(|c| Ok(c.execute("UPDATE chats SET reply_handle = NULL", [])?))
        .await
        .unwrap();

    app.approve(draft.id, None).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;

    assert_eq!(app.sent().await.len(), 1);
    let chat_list_calls = app
        .requests()
        .await
        .iter()
        .filter(|r| r["path"] == "/api/v1/seller/chats")
        .count();
    assert_eq!(chat_list_calls, 1);
}
