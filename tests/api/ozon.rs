//! ozon: the connector against the simulator over real sockets.

use agentiq::actions;
use agentiq::domain::DraftState;
use agentiq::sim::RateConfig;
use agentiq::store::ConnectorState;
use serde_json::{Value, json};

use crate::helpers::{ShopSpec, TestApp, assert_cut_send_confirmed_once, wait_until};

const LIST: &str = "/v3/chat/list";
const HISTORY: &str = "/v3/chat/history";
const SEND: &str = "/v1/chat/send/message";
const READ: &str = "/v2/chat/read";

async fn ozon_app() -> TestApp {
    TestApp::builder()
        .shop(ShopSpec::on("shop", &["ozon"]))
        .spawn()
        .await
}

/// Ozon requests the simulator served, in order.
async fn ozon_requests(app: &TestApp) -> Vec<Value> {
    app.requests()
        .await
        .into_iter()
        .filter(|r| r["marketplace"] == "ozon")
        .collect()
}

fn count_path(requests: &[Value], path: &str) -> usize {
    requests.iter().filter(|r| r["path"] == path).count()
}

async fn state_path(app: &TestApp, id: i64) -> Vec<String> {
    let detail = actions::show(&app.store, id).await.unwrap();
    detail.events.iter().map(|e| e.to.to_string()).collect()
}

/// Ask the simulated Ozon API directly, as the shop `spec`.
async fn ozon_api(app: &TestApp, spec: &ShopSpec, path: &str, body: Value) -> Value {
    app.http
        .post(format!("{}{path}", app.sim.url()))
        .header("Client-Id", spec.ozon_client_id())
        .header("Api-Key", &spec.token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_buyer_message_becomes_a_draft_and_the_approved_reply_is_delivered_once() {
    let app = ozon_app().await;
    let posted = app
        .buyer_writes_on(
            "ozon",
            "Здравствуйте! Когда привезут мой заказ?",
            json!({ "order": { "order_id": "47873153-0052", "product_id": "987654321" } }),
        )
        .await;

    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.state, DraftState::Pending);
    assert_eq!(draft.marketplace, "ozon");
    assert!(
        app.sent_on("ozon").await.is_empty(),
        "nothing goes out without approval"
    );
    let detail = actions::show(&app.store, draft.id).await.unwrap();
    let order = &detail.draft.chat.order;
    assert_eq!(order.order_id.as_deref(), Some("47873153-0052"));
    assert_eq!(order.product_id.as_deref(), Some("987654321"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM chats").await,
        1,
        "the account's Seller_Support chat is not a buyer chat"
    );

    let edited = "Здравствуйте! Заказ уже в пути, статус видно в личном кабинете.";
    app.approve(draft.id, Some(edited.into())).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    app.drain().await;

    let sent = app.sent_on("ozon").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["text"], edited);
    assert_eq!(sent[0]["chat_id"], posted.chat_id.as_str());
    // The echo in the history was matched to the draft, not taken for a
    // person. It arrives with a later poll of the history, so wait for it.
    let echoes = "SELECT COUNT(*) FROM messages WHERE author = 'seller' AND draft_id IS NOT NULL";
    wait_until("the reply's echo in the history", || async {
        (app.count(echoes).await > 0).then_some(())
    })
    .await;
    assert_eq!(app.count(echoes).await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM messages WHERE author = 'seller'")
            .await,
        1,
        "the echo is not also stored as a person's message"
    );
    assert_eq!(app.draft(draft.id).await.state, DraftState::Sent);
}

#[tokio::test]
async fn a_restart_loses_and_repeats_nothing() {
    let mut app = ozon_app().await;
    let first = app
        .buyer_writes_on("ozon", "Где мой заказ? Жду уже неделю", json!({}))
        .await;
    let draft = app.wait_for_draft(&first.chat_id).await;
    app.approve(draft.id, None).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    app.drain().await;

    // Messages that arrive while the daemon is down are read once after it starts again.
    app.stop().await;
    let second = app
        .buyer_writes_on(
            "ozon",
            "Заказ должен был прийти вчера, до сих пор нет",
            json!({}),
        )
        .await;
    app.start().await;
    app.wait_for_draft(&second.chat_id).await;
    app.stop().await;

    // Forget every chat's marker: all histories are read again.
    app.store
        .call(|c| Ok(c.execute("UPDATE chats SET sync_marker = NULL", [])?))
        .await
        .unwrap();
    let before = count_path(&ozon_requests(&app).await, HISTORY);
    app.start().await;
    wait_until("both histories to be read again", || async {
        (count_path(&ozon_requests(&app).await, HISTORY) >= before + 2).then_some(())
    })
    .await;
    app.drain().await;

    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 3);
    assert_eq!(app.count("SELECT COUNT(*) FROM chats").await, 2);
    assert_eq!(app.drafts().await.len(), 2);
    assert_eq!(app.sent_on("ozon").await.len(), 1, "nothing was resent");
    assert_eq!(app.draft(draft.id).await.state, DraftState::Sent);
}

/// The gap between a 429 and the next Ozon request, in ms.
async fn pause_after_throttle(app: &TestApp) -> i64 {
    let requests = ozon_requests(app).await;
    let throttled = requests
        .iter()
        .position(|r| r["status"] == 429)
        .expect("a 429 was served");
    let next = requests
        .get(throttled + 1)
        .expect("the daemon carried on after the 429");
    next["at"].as_i64().unwrap() - requests[throttled]["at"].as_i64().unwrap()
}

#[tokio::test]
async fn after_a_429_the_daemon_waits_as_told_and_carries_on() {
    let app = ozon_app().await;
    app.drain().await;
    app.fault(json!({ "kind": "status", "marketplace": "ozon", "status": 429, "retry_after_secs": 2, "path": LIST }))
        .await;
    let posted = app
        .buyer_writes_on("ozon", "Спасибо большое, всё пришло!", json!({}))
        .await;

    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.intent, "thanks");
    app.wait_for_state(draft.id, DraftState::Sent).await;
    let waited = pause_after_throttle(&app).await;
    assert!(
        waited >= 1900,
        "the next request came {waited} ms after the 429 that said 2 s"
    );
    assert_eq!(app.sent_on("ozon").await.len(), 1);
}

#[tokio::test]
async fn a_429_without_a_hint_backs_off_about_a_second() {
    let app = ozon_app().await;
    app.drain().await;
    app.fault(json!({ "kind": "status", "marketplace": "ozon", "status": 429, "path": LIST }))
        .await;
    let posted = app
        .buyer_writes_on("ozon", "Подскажите, есть ли размер XXL?", json!({}))
        .await;
    app.wait_for_draft(&posted.chat_id).await;
    let waited = pause_after_throttle(&app).await;
    assert!(
        (950..5000).contains(&waited),
        "the next request came {waited} ms after a bare 429"
    );
}

/// Ozon's bucket shape (a second's worth of burst), scaled to what the test
/// configuration expresses: the daemon may make 40 requests per `period`.
async fn burst_app(period: &str) -> TestApp {
    let mut shop = ShopSpec::on("shop", &["ozon"]);
    shop.section_extra
        .insert("ozon", format!("rate_limit_period = \"{period}\""));
    let mut app = TestApp::builder()
        .shop(shop)
        .sim_config(|c| {
            c.ozon_rate = RateConfig {
                burst: 40,
                per_second: 20.0,
            }
        })
        .spawn_without_daemon()
        .await;
    for i in 0..80 {
        app.buyer_writes_on(
            "ozon",
            &format!("Добрый день! Вопрос №{i} по товару"),
            json!({}),
        )
        .await;
    }
    app.start().await;
    wait_until("all eighty messages to be stored", || async {
        (app.count("SELECT COUNT(*) FROM messages").await == 80).then_some(())
    })
    .await;
    app
}

#[tokio::test]
async fn the_client_side_limit_spaces_a_burst_of_chats_under_the_simulated_bucket() {
    // Eighty chats waiting at start-up need a list call and eighty history
    // reads at once; the simulator allows 40 at once and 20 a second, the
    // daemon is configured for 40 per 2 s and spaces them.
    let app = burst_app("2s").await;
    let requests = ozon_requests(&app).await;
    assert!(count_path(&requests, HISTORY) >= 80, "{}", requests.len());
    let throttled = requests.iter().filter(|r| r["status"] == 429).count();
    assert_eq!(throttled, 0, "{requests:?}");
    // Every chat of the burst gets its draft.
    app.drain().await;
    assert_eq!(app.drafts().await.len(), 80);
}

#[tokio::test]
async fn a_normally_polling_daemon_gets_no_throttle_answers_under_the_documented_limit() {
    // The simulator enforces Ozon's documented 50 requests per second per Client-Id.
    let app = TestApp::builder()
        .shop(ShopSpec::on("shop", &["ozon"]))
        .sim_config(|c| c.ozon_rate = agentiq::sim::SimConfig::ozon_documented_rate())
        .spawn()
        .await;
    let posted = app
        .buyer_writes_on("ozon", "Спасибо, всё пришло!", json!({}))
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.wait_for_state(draft.id, DraftState::Sent).await;
    // The daemon keeps polling, held under the documented limit.
    let requests = wait_until("20 requests", || async {
        Some(ozon_requests(&app).await).filter(|r| r.len() >= 20)
    })
    .await;
    let throttled = requests.iter().filter(|r| r["status"] == 429).count();
    assert_eq!(throttled, 0, "{requests:?}");
}

#[tokio::test]
async fn a_rejected_key_pauses_only_that_shop() {
    let mut bad = ShopSpec::on("bad", &["ozon"]);
    bad.known_to_sim = false;
    let app = TestApp::builder()
        .shop(ShopSpec::on("good", &["ozon"]))
        .shop(bad)
        .spawn()
        .await;
    let posted = app
        .buyer_writes_on("ozon", "Где мой заказ?", json!({ "seller": "good" }))
        .await;

    app.wait_for_draft(&posted.chat_id).await;
    let status = wait_until("the bad shop's status", || async {
        let rows = app
            .store
            .call(|c| agentiq::store::list_status(c))
            .await
            .unwrap();
        rows.into_iter()
            .find(|r| r.shop == "bad" && r.state == ConnectorState::AuthFailed)
    })
    .await;
    let detail = status.detail.unwrap_or_default();
    assert!(
        detail.contains("Api-Key") && detail.contains("ключ"),
        "{detail}"
    );
    let rows = app
        .store
        .call(|c| agentiq::store::list_status(c))
        .await
        .unwrap();
    let good = rows.iter().find(|r| r.shop == "good").unwrap();
    assert_eq!(good.state, ConnectorState::Ok);
}

#[tokio::test]
async fn a_send_whose_connection_drops_after_acceptance_is_reconciled_as_sent_not_resent() {
    let app = ozon_app().await;
    let posted = app
        .buyer_writes_on("ozon", "Подскажите, есть ли размер XXL?", json!({}))
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.fault(json!({ "kind": "drop_after_accept", "marketplace": "ozon", "path": SEND }))
        .await;

    app.approve(draft.id, None).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    // Past the reconcile grace and a few polls: a blind resend would have happened by now.
    app.drain().await;

    assert_eq!(app.sent_on("ozon").await.len(), 1);
    let path = state_path(&app, draft.id).await;
    assert_cut_send_confirmed_once(&path, &path);
}

#[tokio::test]
async fn a_send_cut_before_acceptance_is_delivered_once_after_reconciliation() {
    let app = ozon_app().await;
    let posted = app
        .buyer_writes_on("ozon", "Есть в наличии чёрного цвета?", json!({}))
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.fault(json!({ "kind": "drop", "marketplace": "ozon", "path": SEND }))
        .await;

    app.approve(draft.id, None).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    app.drain().await;

    assert_eq!(app.sent_on("ozon").await.len(), 1);
    assert_eq!(
        state_path(&app, draft.id).await,
        [
            "pending",
            "scheduled",
            "sending",
            "unknown",
            "scheduled",
            "sending",
            "sent"
        ]
    );
}

#[tokio::test]
async fn a_reply_after_the_48_hour_window_is_refused_and_not_delivered() {
    let app = ozon_app().await;
    let at = agentiq::domain::now_ms() - 49 * 3600 * 1000;
    let posted = app
        .buyer_writes_on(
            "ozon",
            "Подскажите, как оформить возврат?",
            json!({ "at": at }),
        )
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;

    // The queue may refuse the approval itself; if it takes it, Ozon must refuse the send.
    if app.approve(draft.id, None).await.is_ok() {
        let d = wait_until("the send to end", || async {
            Some(app.draft(draft.id).await).filter(|d| {
                matches!(
                    d.state,
                    DraftState::Failed | DraftState::Cancelled | DraftState::Expired
                )
            })
        })
        .await;
        let reason = d.reason.unwrap_or_default();
        assert!(
            reason.contains("не принимает ответы") && reason.contains("48 часов"),
            "{reason}"
        );
        let refused = ozon_requests(&app)
            .await
            .into_iter()
            .filter(|r| r["path"] == SEND)
            .map(|r| r["status"].as_u64().unwrap_or_default())
            .collect::<Vec<_>>();
        assert_eq!(refused, [400], "Ozon refused the one attempt");
    }
    app.drain().await;
    assert!(app.sent_on("ozon").await.is_empty());
    assert_ne!(app.draft(draft.id).await.state, DraftState::Sent);
}

#[tokio::test]
async fn a_missing_premium_subscription_pauses_the_shop_with_a_clear_reason() {
    let app = ozon_app().await;
    app.drain().await;
    // Ozon lists chats without the subscription but refuses their history.
    app.fault(json!({ "kind": "status", "marketplace": "ozon", "status": 403, "path": HISTORY, "times": 0 }))
        .await;
    let posted = app
        .buyer_writes_on("ozon", "Здравствуйте, товар в наличии?", json!({}))
        .await;

    let status = wait_until("the shop to be paused", || async {
        let rows = app
            .store
            .call(|c| agentiq::store::list_status(c))
            .await
            .unwrap();
        rows.into_iter()
            .find(|r| r.shop == "shop" && r.state == ConnectorState::AuthFailed)
    })
    .await;
    let detail = status.detail.unwrap_or_default();
    assert!(
        detail.contains("Premium Plus") && detail.contains("подписк"),
        "{detail}"
    );
    assert!(
        app.drafts()
            .await
            .iter()
            .all(|d| d.chat_id != posted.chat_id)
    );
}

#[tokio::test]
async fn an_answered_chat_is_marked_read_and_the_buyers_reads_come_back() {
    let spec = ShopSpec::on("shop", &["ozon"]);
    let app = ozon_app().await;
    let posted = app
        .buyer_writes_on("ozon", "Подойдёт ли чехол к iPhone 15?", json!({}))
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    let unread = ozon_api(
        &app,
        &spec,
        LIST,
        json!({ "filter": { "unread_only": true }, "limit": 100 }),
    )
    .await;
    assert_eq!(
        unread["chats"].as_array().unwrap().len(),
        2,
        "buyer and support chats: {unread}"
    );

    app.approve(draft.id, Some("Да, подойдёт.".into()))
        .await
        .unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    wait_until("the answered chat to be marked read", || async {
        (count_path(&ozon_requests(&app).await, READ) >= 1).then_some(())
    })
    .await;
    let unread = ozon_api(
        &app,
        &spec,
        LIST,
        json!({ "filter": { "unread_only": true }, "limit": 100 }),
    )
    .await;
    let still_unread: Vec<_> = unread["chats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["chat"]["chat_id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(!still_unread.contains(&posted.chat_id), "{unread}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM messages WHERE author = 'seller' AND read_at IS NOT NULL")
            .await,
        0,
        "the buyer has not read our reply yet"
    );

    // The buyer writes again, so has seen our reply: its read mark comes back.
    app.buyer_writes_on("ozon", "Спасибо!", json!({ "chat_id": posted.chat_id }))
        .await;
    wait_until("our reply to be seen as read", || async {
        (app.count("SELECT COUNT(*) FROM messages WHERE author = 'seller' AND read_at IS NOT NULL")
            .await
            == 1)
            .then_some(())
    })
    .await;
    // The buyer's last message still gets its draft.
    app.drain().await;
}

#[tokio::test]
async fn a_portal_reply_cancels_the_waiting_draft() {
    let app = ozon_app().await;
    let posted = app
        .buyer_writes_on("ozon", "Подойдёт ли на iPhone 15?", json!({}))
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;

    // The person read the chat in the portal: it is not unread any more, so
    // only the periodic full listing can find the reply.
    app.portal_reply_on("ozon", &posted.chat_id, "Да, подойдёт.")
        .await;
    let d = app.wait_for_state(draft.id, DraftState::Cancelled).await;
    assert!(d.reason.unwrap().contains("вне AgentIQ"));
    assert!(app.sent_on("ozon").await.is_empty());
}
