//! The daemon against the Yandex Market simulator: chats read chat by chat,
//! sends reconciled by text, 420 throttling, parallel and hourly limits.

use agentiq::actions;
use agentiq::domain::{DraftState, Marketplace};
use agentiq::store::{ConnectorState, ConnectorStatus};
use serde_json::{Value, json};

use crate::helpers::{ShopSpec, TestApp, assert_cut_send_confirmed_once, wait_until};

fn ym_shop(id: &str) -> ShopSpec {
    ShopSpec::on(id, &["ym"])
}

async fn ym_app() -> TestApp {
    TestApp::builder().shop(ym_shop("shop")).spawn().await
}

fn is_ym(r: &Value) -> bool {
    r["marketplace"] == "yandex_market" || r["marketplace"] == "ym"
}

async fn ym_requests(app: &TestApp) -> Vec<Value> {
    app.requests().await.into_iter().filter(is_ym).collect()
}

fn path_ends(r: &Value, tail: &str) -> bool {
    r["path"].as_str().is_some_and(|p| p.ends_with(tail))
}

async fn ym_status(app: &TestApp, shop: &str) -> Option<ConnectorStatus> {
    app.store
        .call(|c| agentiq::store::list_status(c))
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.shop == shop && r.marketplace == Marketplace::YandexMarket)
}

async fn draft_path(app: &TestApp, id: i64) -> Vec<String> {
    actions::show(&app.store, id)
        .await
        .unwrap()
        .events
        .iter()
        .map(|e| e.to.clone())
        .collect()
}

async fn stored_message_ids(app: &TestApp) -> Vec<String> {
    app.store
        .call(|c| {
            let mut stmt = c.prepare("SELECT external_id FROM messages ORDER BY id")?;
            let ids = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ids)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_buyer_message_becomes_a_draft_and_the_approved_reply_is_delivered_once() {
    let app = ym_app().await;
    let posted = app
        .buyer_writes_on(
            "ym",
            "Здравствуйте! Когда привезут мой заказ?",
            json!({ "client_name": "Алёна", "order": { "order_id": "4815162342", "chat_kind": "order" } }),
        )
        .await;

    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.state, DraftState::Pending);
    assert_eq!(draft.marketplace, "ym");
    assert!(
        app.sent_on("ym").await.is_empty(),
        "nothing goes out without approval"
    );

    let edited = "Здравствуйте! Заказ уже в пути, статус видно в личном кабинете.";
    app.approve(draft.id, Some(edited.into())).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    app.drain().await;

    let sent = app.sent_on("ym").await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["text"], edited);
    assert_eq!(sent[0]["chat_id"], posted.chat_id.as_str());
    // The echo of our send was read back and recognised as ours, not as a
    // person. It arrives with a later poll of the history, so wait for it.
    let echoes = "SELECT COUNT(*) FROM messages WHERE author = 'seller' AND draft_id IS NOT NULL";
    wait_until("the reply's echo in the history", || async {
        (app.count(echoes).await > 0).then_some(())
    })
    .await;
    assert_eq!(app.count(echoes).await, 1);
    assert_eq!(draft_path(&app, draft.id).await.last().unwrap(), "sent");
    // int64 ids above 2^53 are stored digit for digit.
    let ids = stored_message_ids(&app).await;
    assert_eq!(ids[0], posted.message_id);
    assert!(posted.message_id.parse::<i64>().unwrap() > 1 << 53);
    assert_eq!(ids[1], sent[0]["message_id"].as_str().unwrap());
    let (buyer, order): (Option<String>, Option<String>) = app
        .store
        .call(|c| {
            Ok(
                c.query_row("SELECT buyer_name, order_json FROM chats", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?,
            )
        })
        .await
        .unwrap();
    assert_eq!(buyer.as_deref(), Some("Алёна"));
    let order: Value = serde_json::from_str(&order.unwrap()).unwrap();
    assert_eq!(order["order_id"], "4815162342");
}

#[tokio::test]
async fn a_restart_loses_and_repeats_nothing() {
    let mut app = ym_app().await;
    let first = app
        .buyer_writes_on("ym", "Где мой заказ? Жду уже неделю", json!({}))
        .await;
    let draft = app.wait_for_draft(&first.chat_id).await;
    app.approve(draft.id, None).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    app.drain().await;

    // Messages written while the daemon is down are read once after it starts again.
    app.stop().await;
    app.buyer_writes_on(
        "ym",
        "И ещё: можно ли поменять адрес доставки?",
        json!({ "chat_id": first.chat_id }),
    )
    .await;
    let second = app
        .buyer_writes_on(
            "ym",
            "Заказ должен был прийти вчера, до сих пор нет",
            json!({}),
        )
        .await;
    app.start().await;
    app.wait_for_draft(&second.chat_id).await;
    wait_until("a second draft in the first chat", || async {
        (app.drafts()
            .await
            .iter()
            .filter(|d| d.chat_id == first.chat_id)
            .count()
            == 2)
            .then_some(())
    })
    .await;
    app.stop().await;

    // Forget every chat's marker: every history is read again from where the store is.
    app.store
        .call(|c| Ok(c.execute("UPDATE chats SET sync_marker = NULL", [])?))
        .await
        .unwrap();
    let before = ym_requests(&app)
        .await
        .iter()
        .filter(|r| path_ends(r, "/chats/history"))
        .count();
    app.start().await;
    wait_until("the histories to be read again", || async {
        let after = ym_requests(&app)
            .await
            .iter()
            .filter(|r| path_ends(r, "/chats/history"))
            .count();
        (after >= before + 2).then_some(())
    })
    .await;
    app.drain().await;

    // Chat 1: buyer, our echo, buyer; chat 2: buyer.
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 4);
    assert_eq!(app.count("SELECT COUNT(*) FROM chats").await, 2);
    assert_eq!(app.drafts().await.len(), 3);
    assert_eq!(app.sent_on("ym").await.len(), 1, "nothing was resent");
}

#[tokio::test]
async fn after_a_420_the_daemon_waits_until_the_until_header_and_carries_on() {
    let app = ym_app().await;
    app.drain().await;
    app.fault(json!({ "kind": "status", "marketplace": "ym", "status": 420, "retry_after_secs": 2, "path": "/chats" }))
        .await;
    let posted = app
        .buyer_writes_on("ym", "Спасибо большое, всё пришло!", json!({}))
        .await;

    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.intent, "thanks");
    app.wait_for_state(draft.id, DraftState::Sent).await;

    let requests = ym_requests(&app).await;
    let throttled = requests
        .iter()
        .position(|r| r["status"] == 420)
        .expect("a 420 was served");
    let at = requests[throttled]["at"].as_i64().unwrap();
    let waited = requests[throttled + 1]["at"].as_i64().unwrap() - at;
    assert!(
        waited >= 1900,
        "the next request came {waited} ms after the 420 whose -Until was 2 s away"
    );
    assert_eq!(app.sent_on("ym").await.len(), 1);
}

#[tokio::test]
async fn a_420_storm_shows_as_rate_limited_then_the_daemon_recovers_and_delivers() {
    let app = ym_app().await;
    app.drain().await;
    app.fault(json!({ "kind": "status", "marketplace": "ym", "status": 420, "retry_after_secs": 1, "times": 3, "path": "/chats" }))
        .await;
    let posted = app
        .buyer_writes_on("ym", "Спасибо, всё пришло в целости!", json!({}))
        .await;

    let status = wait_until("the rate-limited status", || async {
        ym_status(&app, "shop")
            .await
            .filter(|s| s.state == ConnectorState::RateLimited)
    })
    .await;
    assert!(status.retry_at.is_some());
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.wait_for_state(draft.id, DraftState::Sent).await;
    wait_until("the status to recover", || async {
        ym_status(&app, "shop")
            .await
            .filter(|s| s.state == ConnectorState::Ok)
    })
    .await;

    let requests = ym_requests(&app).await;
    let storm: Vec<usize> = requests
        .iter()
        .enumerate()
        .filter(|(_, r)| r["status"] == 420)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(storm.len(), 3, "{requests:?}");
    for i in storm {
        let waited = requests[i + 1]["at"].as_i64().unwrap() - requests[i]["at"].as_i64().unwrap();
        assert!(
            waited >= 1000,
            "a request {waited} ms after a 420 that said 1 s"
        );
    }
    assert_eq!(app.sent_on("ym").await.len(), 1);
}

/// Several chats change at once while every history read takes 300 ms: the
/// daemon reads them in parallel, but never more than the API's two.
#[tokio::test]
async fn the_parallel_limit_keeps_a_busy_daemon_at_zero_420s() {
    let app = TestApp::builder()
        .shop(ym_shop("shop"))
        .sim_config(|c| c.ym_parallel = 2)
        .spawn()
        .await;
    app.drain().await;
    app.fault(json!({ "kind": "slow_after_accept", "marketplace": "ym", "path": "/chats/history", "delay_ms": 300, "times": 0 }))
        .await;
    let mut chats = Vec::new();
    for i in 0..6 {
        let text = format!("Спасибо большое, заказ №{i} пришёл!");
        chats.push(app.buyer_writes_on("ym", &text, json!({})).await.chat_id);
    }
    for chat in &chats {
        let d = app.wait_for_draft(chat).await;
        app.wait_for_state(d.id, DraftState::Sent).await;
    }

    let requests = ym_requests(&app).await;
    let throttled: Vec<_> = requests.iter().filter(|r| r["status"] == 420).collect();
    assert!(throttled.is_empty(), "{throttled:?}");
    let reads: Vec<i64> = requests
        .iter()
        .filter(|r| path_ends(r, "/chats/history"))
        .map(|r| r["at"].as_i64().unwrap())
        .collect();
    assert!(reads.len() >= 6, "{reads:?}");
    assert!(
        reads.windows(2).any(|w| w[1] - w[0] < 250),
        "history reads overlapped (each holds its slot for 300 ms): {reads:?}"
    );
    assert_eq!(app.sent_on("ym").await.len(), 6);
}

/// Configured above what the API allows, the daemon gets one 420 for it,
/// takes the API's number and carries on.
#[tokio::test]
async fn a_parallel_setting_above_the_apis_limit_is_corrected_by_the_first_420() {
    let mut shop = ym_shop("shop");
    shop.section_extra.insert("ym", "max_parallel = 3".into());
    let app = TestApp::builder()
        .shop(shop)
        .sim_config(|c| c.ym_parallel = 2)
        .spawn()
        .await;
    app.drain().await;
    app.fault(json!({ "kind": "slow_after_accept", "marketplace": "ym", "path": "/chats/history", "delay_ms": 300, "times": 0 }))
        .await;
    let mut chats = Vec::new();
    for i in 0..6 {
        let text = format!("Спасибо, посылка №{i} получена!");
        chats.push(app.buyer_writes_on("ym", &text, json!({})).await.chat_id);
    }
    for chat in &chats {
        let d = app.wait_for_draft(chat).await;
        app.wait_for_state(d.id, DraftState::Sent).await;
    }

    let throttled = ym_requests(&app)
        .await
        .iter()
        .filter(|r| r["status"] == 420)
        .count();
    assert!(
        (1..=2).contains(&throttled),
        "three reads at once hit the limit of two, then the daemon kept to two: {throttled}"
    );
    assert_eq!(app.sent_on("ym").await.len(), 6);
}

#[tokio::test]
async fn a_spent_hourly_limit_stops_the_method_before_any_420() {
    let app = TestApp::builder()
        .shop(ym_shop("shop"))
        .sim_config(|c| c.ym_hourly_limit = Some(5))
        .spawn()
        .await;
    let status = wait_until("the rate-limited status", || async {
        ym_status(&app, "shop")
            .await
            .filter(|s| s.state == ConnectorState::RateLimited)
    })
    .await;
    app.drain().await;

    let requests = ym_requests(&app).await;
    assert_eq!(
        requests.iter().filter(|r| path_ends(r, "/chats")).count(),
        5,
        "the chat list is read exactly as often as the hour allows: {requests:?}"
    );
    assert!(requests.iter().all(|r| r["status"] != 420), "{requests:?}");
    let retry_in = status.retry_at.unwrap() - agentiq::domain::now_ms();
    assert!(
        retry_in > 50 * 60 * 1000,
        "the next try waits for -Until, about an hour: {retry_in} ms"
    );
}

#[tokio::test]
async fn a_rejected_api_key_pauses_only_that_shop() {
    let mut bad = ym_shop("bad");
    bad.known_to_sim = false;
    let app = TestApp::builder()
        .shop(ym_shop("good"))
        .shop(bad)
        .spawn()
        .await;
    let posted = app
        .buyer_writes_on("ym", "Где мой заказ?", json!({ "seller": "good" }))
        .await;

    app.wait_for_draft(&posted.chat_id).await;
    let status = wait_until("the bad shop's status", || async {
        ym_status(&app, "bad")
            .await
            .filter(|s| s.state == ConnectorState::AuthFailed)
    })
    .await;
    let detail = status.detail.unwrap_or_default();
    assert!(
        detail.contains("401") && detail.contains("Api-Key"),
        "{detail}"
    );
    assert_eq!(
        ym_status(&app, "good").await.unwrap().state,
        ConnectorState::Ok
    );
}

#[tokio::test]
async fn a_key_used_for_another_business_is_an_auth_failure() {
    let app = TestApp::builder()
        .shop(ym_shop("shop"))
        .sim_config(|c| {
            c.sellers.get_mut("shop").unwrap().ym_business_id = Some(424242);
        })
        .spawn()
        .await;
    let status = wait_until("the auth failure", || async {
        ym_status(&app, "shop")
            .await
            .filter(|s| s.state == ConnectorState::AuthFailed)
    })
    .await;
    let detail = status.detail.unwrap_or_default();
    assert!(
        detail.contains("403") && detail.contains("Access denied"),
        "{detail}"
    );
    let requests = ym_requests(&app).await;
    assert!(requests.iter().all(|r| r["status"] == 403), "{requests:?}");
}

#[tokio::test]
async fn a_send_cut_after_acceptance_is_reconciled_as_sent_not_resent() {
    let app = ym_app().await;
    let posted = app
        .buyer_writes_on("ym", "Подскажите, есть ли размер XXL?", json!({}))
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.fault(
        json!({ "kind": "drop_after_accept", "marketplace": "ym", "path": "/chats/message" }),
    )
    .await;

    app.approve(draft.id, None).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    // Past the reconcile grace and a few polls: a blind resend would have happened by now.
    app.drain().await;

    assert_eq!(app.sent_on("ym").await.len(), 1);
    let path = draft_path(&app, draft.id).await;
    assert_cut_send_confirmed_once(&path, &path);
}

#[tokio::test]
async fn a_send_cut_before_acceptance_is_sent_again_once_after_reconciliation() {
    let app = ym_app().await;
    let posted = app
        .buyer_writes_on("ym", "Есть в наличии чёрного цвета?", json!({}))
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.fault(json!({ "kind": "drop", "marketplace": "ym", "path": "/chats/message" }))
        .await;

    app.approve(draft.id, None).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    app.drain().await;

    assert_eq!(app.sent_on("ym").await.len(), 1);
    assert_eq!(
        draft_path(&app, draft.id).await,
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

/// A history whose paging stops moving can neither show the reply nor prove
/// it absent: the send goes to a person instead of out again.
#[tokio::test]
async fn an_unknown_send_in_a_history_that_never_ends_waits_for_a_person() {
    let app = ym_app().await;
    let posted = app
        .buyer_writes_on("ym", "Есть ли эта модель в белом?", json!({}))
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.fault(
        json!({ "kind": "drop_after_accept", "marketplace": "ym", "path": "/chats/message" }),
    )
    .await;
    // Every history page from now on is empty and points to itself.
    app.fault(json!({
        "kind": "garbage", "marketplace": "ym", "path": "/chats/history", "times": 0,
        "body": r#"{"status":"OK","result":{"messages":[],"paging":{"nextPageToken":"again"}}}"#,
    }))
    .await;

    app.approve(draft.id, None).await.unwrap();
    let failed = app.wait_for_state(draft.id, DraftState::Failed).await;
    assert!(
        failed
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("не удалось проверить, дошёл ли ответ")),
        "{:?}",
        failed.reason
    );
    app.drain().await;
    assert_eq!(app.sent_on("ym").await.len(), 1, "never sent blindly again");
    assert_eq!(
        draft_path(&app, draft.id).await,
        ["pending", "scheduled", "sending", "unknown", "failed"]
    );
}

/// A person answering in the seller cabinet takes the chat off the waiting
/// list; the daemon still reads it once more and sees the answer.
#[tokio::test]
async fn a_cabinet_reply_cancels_the_waiting_draft() {
    let app = ym_app().await;
    let posted = app
        .buyer_writes_on("ym", "Подойдёт ли на iPhone 15?", json!({}))
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;

    app.portal_reply_on("ym", &posted.chat_id, "Да, подойдёт.")
        .await;
    let d = app.wait_for_state(draft.id, DraftState::Cancelled).await;
    assert!(d.reason.unwrap_or_default().contains("вне AgentIQ"));
    assert!(app.sent_on("ym").await.is_empty());
}

#[tokio::test]
async fn quiet_chats_are_not_read_again() {
    let app = ym_app().await;
    let posted = app
        .buyer_writes_on(
            "ym",
            "Оформила возврат, когда придут деньги?",
            json!({ "order": { "order_id": "90001", "return_id": "5501", "chat_kind": "return" } }),
        )
        .await;
    app.wait_for_draft(&posted.chat_id).await;
    // Let the chat's marker settle (its `updatedAt` has one-second precision,
    // so a chat read in the second of its last message is read once more).
    wait_until("the chat's marker to settle", || async {
        let unsettled = app
            .count("SELECT COUNT(*) FROM chats WHERE sync_marker IS NULL OR sync_marker LIKE 'unsettled:%'")
            .await;
        (unsettled == 0).then_some(())
    })
    .await;
    app.drain().await;
    let reads = |requests: &[Value]| {
        requests
            .iter()
            .filter(|r| path_ends(r, "/chats/history"))
            .count()
    };
    let (lists_before, reads_before) = {
        let r = ym_requests(&app).await;
        (
            r.iter().filter(|r| path_ends(r, "/chats")).count(),
            reads(&r),
        )
    };
    // The daemon keeps polling the chat list.
    let requests = wait_until("six more reads of the chat list", || async {
        let requests = ym_requests(&app).await;
        let lists = requests.iter().filter(|r| path_ends(r, "/chats")).count();
        (lists > lists_before + 5).then_some(requests)
    })
    .await;
    assert_eq!(
        reads(&requests),
        reads_before,
        "an unchanged chat is not read again"
    );

    // A new message is noticed from the list's `updatedAt`.
    app.buyer_writes_on("ym", "Алло?", json!({ "chat_id": posted.chat_id }))
        .await;
    wait_until("the new message", || async {
        (app.count("SELECT COUNT(*) FROM messages").await == 2).then_some(())
    })
    .await;
    let order: String = app
        .store
        .call(|c| Ok(c.query_row("SELECT order_json FROM chats", [], |r| r.get(0))?))
        .await
        .unwrap();
    let order: Value = serde_json::from_str(&order).unwrap();
    assert_eq!(order["order_id"], "90001", "{order}");
}

#[tokio::test]
async fn a_long_catch_up_records_the_status_before_it_ends() {
    // Ten requests a second against a backlog of 150 new chats: about 20 s
    // of reading, in polls of at most 40 histories (and 2 s) each.
    let mut shop = ym_shop("shop");
    shop.section_extra.insert(
        "ym",
        "rate_limit_requests = 10\nrate_limit_period = \"1s\"".into(),
    );
    let mut app = TestApp::builder().shop(shop).spawn_without_daemon().await;
    let chats = 150;
    for i in 0..chats {
        app.buyer_writes_on("ym", &format!("Вопрос номер {i}"), json!({}))
            .await;
    }
    app.start().await;
    wait_until("a status during the catch-up", || async {
        ym_status(&app, "shop").await
    })
    .await;
    let histories = ym_requests(&app)
        .await
        .iter()
        .filter(|r| path_ends(r, "/chats/history"))
        .count();
    assert!(
        histories < chats,
        "the status came only after {histories} of {chats} chats were read"
    );
    // The catch-up went on after the status: every chat is stored.
    wait_until("every chat stored", || async {
        (app.count("SELECT COUNT(*) FROM messages WHERE author = 'buyer'")
            .await
            == chats as i64)
            .then_some(())
    })
    .await;
    // The drafts' own requests wait in the same line of ten a second behind
    // the catch-up; on a loaded machine the last turns are still waiting for
    // a slot when the last chat is stored. Let them finish.
    app.drain().await;
}
