//! Avito end to end: the real daemon against the Avito part of the
//! simulator, and the connector against the simulator directly where the
//! daemon does not (yet) drive a feature (webhooks, retraction).

use std::time::Duration;

use agentiq::actions;
use agentiq::domain::{Author, DraftState, KnownChats, OrderContext, ReplyText};
use agentiq::marketplace::avito::{AvitoClient, AvitoConfig};
use agentiq::marketplace::{ChatRef, Connector, MarketError};
use agentiq::sim::RateConfig;
use agentiq::store::ConnectorState;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{ShopSpec, TestApp, assert_cut_send_confirmed_once, wait_until};

const AV: &str = "avito";

fn shop(id: &str) -> ShopSpec {
    ShopSpec::on(id, &[AV])
}

async fn app() -> TestApp {
    TestApp::builder().shop(shop("shop")).spawn().await
}

fn listing() -> Value {
    json!({
        "product_id": "3012345678",
        "product_name": "Кроссовки Nike Air Max 90",
        "price": 7990.0,
        "url": "https://www.avito.ru/moskva/odezhda/krossovki_nike_3012345678"
    })
}

/// Our connector, pointed at the simulator with the shop's credentials.
fn connector(app: &TestApp, spec: &ShopSpec) -> AvitoClient {
    AvitoClient::new(AvitoConfig {
        base_url: app.sim.url(),
        client_id: format!("client-{}", spec.id),
        client_secret: SecretString::from(spec.token.clone()),
        timeout: Duration::from_secs(2),
        rate_limit_requests: 100,
        rate_limit_period: Duration::from_secs(1),
    })
}

/// Plain HTTP against the simulated Avito API, as any client would speak it.
struct Raw {
    http: reqwest::Client,
    base: String,
    token: String,
    user_id: i64,
}

impl Raw {
    async fn login(app: &TestApp, spec: &ShopSpec) -> Raw {
        let http = reqwest::Client::new();
        let base = app.sim.url();
        let token: Value = http
            .post(format!("{base}/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &format!("client-{}", spec.id)),
                ("client_secret", &spec.token),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = token["access_token"].as_str().unwrap().to_string();
        let me: Value = http
            .get(format!("{base}/core/v1/accounts/self"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Raw {
            http,
            base,
            token,
            user_id: me["id"].as_i64().unwrap(),
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn history(&self, chat: &str) -> Vec<Value> {
        let (status, body) = self
            .get(&format!(
                "/messenger/v3/accounts/{}/chats/{chat}/messages/",
                self.user_id
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        body.as_array().unwrap().clone()
    }

    async fn unread_chats(&self) -> Vec<String> {
        let (status, body) = self
            .get(&format!(
                "/messenger/v2/accounts/{}/chats?unread_only=true&chat_types=u2i&chat_types=u2u",
                self.user_id
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        body["chats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect()
    }
}

fn path_of(detail: &actions::DraftDetail) -> Vec<&str> {
    detail.events.iter().map(|e| e.to.as_str()).collect()
}

async fn requests_to(app: &TestApp, path: &str) -> usize {
    app.requests()
        .await
        .iter()
        .filter(|r| r["path"] == path)
        .count()
}

#[tokio::test]
async fn a_buyer_message_becomes_a_draft_and_the_approved_reply_is_delivered_once() {
    let app = app().await;
    let posted = app
        .buyer_writes_on(
            AV,
            "Здравствуйте! Кроссовки ещё в наличии? Какой размер есть?",
            json!({ "order": listing(), "client_name": "Ирина" }),
        )
        .await;
    assert!(posted.chat_id.starts_with("u2i-"), "{}", posted.chat_id);

    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.state, DraftState::Pending);
    assert!(
        app.sent_on(AV).await.is_empty(),
        "nothing goes out unapproved"
    );

    let edited = "Здравствуйте, Ирина! Да, в наличии размеры 41–44.";
    app.approve(draft.id, Some(edited.into())).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    app.drain().await;

    let sent = app.sent_on(AV).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["text"], edited);
    assert_eq!(sent[0]["chat_id"], posted.chat_id.as_str());
    let detail = actions::show(&app.store, draft.id).await.unwrap();
    assert_eq!(
        path_of(&detail),
        ["pending", "scheduled", "sending", "sent"]
    );
    // Avito returned the message id; the echo in the history matched it exactly.
    assert_eq!(
        detail.draft.sent_message_id.as_deref(),
        sent[0]["message_id"].as_str()
    );
    // The echo comes with the next full read of the chat list (every 5 s).
    wait_until("our reply's echo to be stored and matched", || async {
        (app.count(
            "SELECT COUNT(*) FROM messages WHERE author = 'seller' AND draft_id IS NOT NULL",
        )
        .await
            == 1)
            .then_some(())
    })
    .await;

    // The listing the chat is about, and the buyer's name.
    let (order, name): (String, String) = app
        .store
        .call(|c| {
            Ok(
                c.query_row("SELECT order_json, buyer_name FROM chats", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?,
            )
        })
        .await
        .unwrap();
    let order: OrderContext = serde_json::from_str(&order).unwrap();
    assert_eq!(name, "Ирина");
    assert_eq!(order.product_id.as_deref(), Some("3012345678"));
    assert_eq!(
        order.product_name.as_deref(),
        Some("Кроссовки Nike Air Max 90")
    );
    assert_eq!(order.price, Some(7990.0));
    assert_eq!(order.currency.as_deref(), Some("RUB"));
    // `chat_kind` and `url` reach the store in the chat update but
    // `OrderContext::merge` does not keep them yet; the connector-level test
    // below checks that they are reported.
}

#[tokio::test]
async fn a_restart_loses_and_repeats_nothing() {
    let mut app = app().await;
    let first = app
        .buyer_writes_on(
            AV,
            "Где мой заказ? Жду уже неделю",
            json!({ "order": listing() }),
        )
        .await;
    let draft = app.wait_for_draft(&first.chat_id).await;
    app.approve(draft.id, None).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;

    // A message that arrives while the daemon is down is read once it is back.
    app.stop().await;
    let second = app
        .buyer_writes_on(AV, "Подскажите, есть ли доставка в Казань?", json!({}))
        .await;
    app.start().await;
    app.wait_for_draft(&second.chat_id).await;
    app.stop().await;

    // Forget every marker: each chat's history is read again from the start.
    app.store
        .call(|c| Ok(c.execute("UPDATE chats SET sync_marker = NULL", [])?))
        .await
        .unwrap();
    let before = app.requests().await.len();
    app.start().await;
    wait_until("the histories to be re-read", || async {
        let reqs = app.requests().await;
        let rereads = reqs[before..]
            .iter()
            .filter(|r| r["path"].as_str().unwrap_or("").ends_with("/messages/"))
            .count();
        (rereads >= 2).then_some(())
    })
    .await;
    app.drain().await;

    assert_eq!(
        app.count("SELECT COUNT(*) FROM messages").await,
        3,
        "two buyer messages and our reply"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM chats").await, 2);
    assert_eq!(app.drafts().await.len(), 2);
    assert_eq!(app.sent_on(AV).await.len(), 1, "nothing was sent again");
}

#[tokio::test]
async fn after_a_429_the_daemon_waits_as_told_and_carries_on() {
    let app = app().await;
    app.drain().await;
    app.fault(
        json!({ "kind": "status", "marketplace": "avito", "status": 429,
                      "retry_after_secs": 2, "path": "/chats" }),
    )
    .await;
    let posted = app
        .buyer_writes_on(AV, "Спасибо большое, всё пришло!", json!({}))
        .await;

    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(draft.intent, "thanks");
    app.wait_for_state(draft.id, DraftState::Sent).await;

    let requests = app.requests().await;
    let throttled = requests
        .iter()
        .position(|r| r["status"] == 429)
        .expect("a 429 was served");
    let at = requests[throttled]["at"].as_i64().unwrap();
    let waited = requests[throttled + 1]["at"].as_i64().unwrap() - at;
    assert!(
        waited >= 1900,
        "the next request came {waited} ms after the 429 that said 2 s"
    );
    assert_eq!(app.sent_on(AV).await.len(), 1);
}

#[tokio::test]
async fn the_client_side_limit_keeps_a_busy_poller_under_the_account_limit() {
    // The account allows a burst of 40 and 2 requests a second; the daemon
    // polls every 100 ms (10 a second), which on its own would run into 429s
    // within seconds. Its own limit (40 per 25 s) keeps it inside.
    let mut spec = shop("shop");
    spec.section_extra.insert(
        AV,
        "rate_limit_requests = 40\nrate_limit_period = \"25s\"".into(),
    );
    let app = TestApp::builder()
        .shop(spec)
        .sim_config(|c| {
            c.avito_rate = RateConfig {
                burst: 40,
                per_second: 2.0,
            }
        })
        .spawn()
        .await;
    let posted = app
        .buyer_writes_on(AV, "Спасибо, всё пришло!", json!({}))
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.wait_for_state(draft.id, DraftState::Sent).await;
    // The daemon keeps polling, held under the account's limit.
    let requests = wait_until("35 requests", || async {
        Some(app.requests().await).filter(|r| r.len() >= 35)
    })
    .await;
    let throttled = requests.iter().filter(|r| r["status"] == 429).count();
    assert_eq!(throttled, 0, "{requests:?}");
}

#[tokio::test]
async fn rejected_credentials_pause_only_that_shop() {
    let mut bad = shop("bad");
    bad.known_to_sim = false;
    let app = TestApp::builder()
        .shop(shop("good"))
        .shop(bad)
        .spawn()
        .await;
    let posted = app
        .buyer_writes_on(AV, "Где мой заказ?", json!({ "seller": "good" }))
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
        detail.contains("client_secret") && detail.contains("invalid_client"),
        "{detail}"
    );
    let rows = app
        .store
        .call(|c| agentiq::store::list_status(c))
        .await
        .unwrap();
    let good = rows.iter().find(|r| r.shop == "good").unwrap();
    assert_eq!(good.state, ConnectorState::Ok);
    // Refused credentials are not hammered: one attempt, then the long pause.
    app.drain().await;
    let token_calls = app
        .requests()
        .await
        .iter()
        .filter(|r| r["path"] == "/token" && r["status"] == 400)
        .count();
    assert_eq!(token_calls, 1);
}

#[tokio::test]
async fn a_send_whose_connection_drops_after_acceptance_is_reconciled_as_sent_not_resent() {
    let app = app().await;
    let posted = app
        .buyer_writes_on(
            AV,
            "Подскажите, есть ли размер XXL?",
            json!({ "order": listing() }),
        )
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.fault(json!({ "kind": "drop_after_accept", "marketplace": "avito",
                      "path": "/messenger/v1/accounts/" }))
        .await;

    app.approve(draft.id, None).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    // Past the reconcile grace and a few polls: a blind resend would have happened by now.
    app.drain().await;

    let sent = app.sent_on(AV).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let detail = actions::show(&app.store, draft.id).await.unwrap();
    assert_cut_send_confirmed_once(&path_of(&detail), &detail.events);
    // Matched by text (we never learnt the id), then the id was recorded.
    assert_eq!(
        detail.draft.sent_message_id.as_deref(),
        sent[0]["message_id"].as_str()
    );
}

#[tokio::test]
async fn a_send_cut_before_acceptance_is_delivered_once_after_reconciliation() {
    let app = app().await;
    let posted = app
        .buyer_writes_on(
            AV,
            "Есть в наличии чёрного цвета?",
            json!({ "order": listing() }),
        )
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.fault(json!({ "kind": "drop", "marketplace": "avito",
                      "path": "/messenger/v1/accounts/" }))
        .await;

    app.approve(draft.id, None).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    app.drain().await;

    assert_eq!(app.sent_on(AV).await.len(), 1);
    let detail = actions::show(&app.store, draft.id).await.unwrap();
    assert_eq!(
        path_of(&detail),
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
async fn tokens_are_renewed_before_they_expire_and_work_carries_on() {
    let app = TestApp::builder()
        .shop(shop("shop"))
        .sim_config(|c| c.avito_token_ttl = Duration::from_secs(2))
        .spawn()
        .await;
    let first = app
        .buyer_writes_on(AV, "Здравствуйте, а можно забрать сегодня?", json!({}))
        .await;
    app.wait_for_draft(&first.chat_id).await;
    // Several token lifetimes later the daemon still reads new messages.
    wait_until("two renewals", || async {
        let tokens = app
            .requests()
            .await
            .iter()
            .filter(|r| r["path"] == "/token")
            .count();
        (tokens >= 3).then_some(())
    })
    .await;
    let second = app
        .buyer_writes_on(AV, "Спасибо, всё пришло!", json!({}))
        .await;
    let draft = app.wait_for_draft(&second.chat_id).await;
    app.wait_for_state(draft.id, DraftState::Sent).await;

    let requests = app.requests().await;
    let tokens = requests.iter().filter(|r| r["path"] == "/token").count();
    assert!(
        tokens >= 3,
        "a 2 s token was renewed: {tokens} token requests"
    );
    // Renewed at 90 % of its life, a token is never used after it expired.
    let refused: Vec<_> = requests.iter().filter(|r| r["status"] == 403).collect();
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(
        requests_to(&app, "/core/v1/accounts/self").await,
        1,
        "the account id is asked for once"
    );
}

#[tokio::test]
async fn a_403_mid_flight_is_followed_by_exactly_one_renewal_and_one_retry() {
    let app = app().await;
    app.drain().await;
    let tokens_before = requests_to(&app, "/token").await;
    app.fault(
        json!({ "kind": "status", "marketplace": "avito", "status": 403,
                      "path": "/chats", "times": 1 }),
    )
    .await;
    let requests = wait_until("the 403 and what follows it", || async {
        let reqs = app.requests().await;
        let i = reqs.iter().position(|r| r["status"] == 403)?;
        (reqs.len() > i + 2).then_some(reqs)
    })
    .await;
    let i = requests.iter().position(|r| r["status"] == 403).unwrap();
    assert_eq!(requests[i + 1]["path"], "/token", "{:?}", &requests[i..]);
    assert_eq!(requests[i + 1]["status"], 200);
    assert_eq!(
        requests[i + 2]["path"],
        requests[i]["path"],
        "the refused request is repeated: {:?}",
        &requests[i..]
    );
    assert_eq!(requests[i + 2]["status"], 200);
    app.drain().await;
    assert_eq!(
        requests_to(&app, "/token").await,
        tokens_before + 1,
        "{:?}",
        app.requests()
            .await
            .iter()
            .map(|r| format!("{} {}", r["path"], r["status"]))
            .collect::<Vec<_>>()
    );

    // And the daemon is none the worse for it.
    let posted = app
        .buyer_writes_on(AV, "Когда сможете отправить?", json!({}))
        .await;
    app.wait_for_draft(&posted.chat_id).await;
}

#[tokio::test]
async fn an_answer_typed_in_the_avito_app_cancels_the_waiting_draft() {
    let app = app().await;
    let posted = app
        .buyer_writes_on(
            AV,
            "Подойдёт ли на iPhone 15?",
            json!({ "order": listing() }),
        )
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;

    // Answering in the app reads the chat: it leaves the unread list, and
    // only the sweep of recent chats can see the answer.
    app.portal_reply_on(AV, &posted.chat_id, "Да, подойдёт.")
        .await;
    let d = app.wait_for_state(draft.id, DraftState::Cancelled).await;
    assert!(d.reason.unwrap_or_default().contains("продавец"));
    assert!(app.sent_on(AV).await.is_empty());
    let author: String = app
        .store
        .call(|c| {
            Ok(c.query_row(
                "SELECT author FROM messages WHERE text = 'Да, подойдёт.'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(author, "seller");
}

#[tokio::test]
async fn the_buyer_reading_our_reply_is_recorded() {
    let app = app().await;
    let posted = app
        .buyer_writes_on(AV, "Спасибо большое, всё отлично!", json!({}))
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.wait_for_state(draft.id, DraftState::Sent).await;
    let read = "SELECT COUNT(*) FROM messages WHERE author = 'seller' AND read_at IS NOT NULL";
    app.drain().await;
    assert_eq!(app.count(read).await, 0, "not read yet");

    // Writing again, the buyer has seen our reply.
    app.buyer_writes_on(
        AV,
        "И ещё вопрос: есть ли гарантия?",
        json!({ "chat_id": posted.chat_id }),
    )
    .await;
    wait_until("our reply to be marked read", || async {
        (app.count(read).await == 1).then_some(())
    })
    .await;
    // The buyer's last message still gets its draft.
    app.drain().await;
}

#[tokio::test]
async fn the_simulator_keeps_unread_state_like_avito() {
    let spec = shop("shop");
    let app = TestApp::builder()
        .shop(shop("shop"))
        .spawn_without_daemon()
        .await;
    let raw = Raw::login(&app, &spec).await;
    let listing_chat = app
        .buyer_writes_on(AV, "Добрый день!", json!({ "order": listing() }))
        .await;
    let profile_chat = app.buyer_writes_on(AV, "Здравствуйте", json!({})).await;
    assert!(profile_chat.chat_id.starts_with("u2u-"));

    // chat_types defaults to u2i.
    let (_, body) = raw
        .get(&format!("/messenger/v2/accounts/{}/chats", raw.user_id))
        .await;
    assert_eq!(body["chats"].as_array().unwrap().len(), 1);
    let both = raw.unread_chats().await;
    assert_eq!(both.len(), 2);

    // Reading the history marks nothing read; /read does.
    let history = raw.history(&listing_chat.chat_id).await;
    assert_eq!(history[0]["is_read"], false);
    assert_eq!(raw.unread_chats().await.len(), 2);
    let (status, body) = raw
        .post(
            &format!(
                "/messenger/v1/accounts/{}/chats/{}/read",
                raw.user_id, listing_chat.chat_id
            ),
            json!({}),
        )
        .await;
    assert_eq!((status, body), (200, json!({ "ok": true })));
    assert_eq!(raw.unread_chats().await, vec![profile_chat.chat_id.clone()]);
    assert_eq!(raw.history(&listing_chat.chat_id).await[0]["is_read"], true);

    // Errors come in Avito's shape; another account's path is refused.
    let (status, body) = raw
        .get(&format!(
            "/messenger/v2/accounts/{}/chats?limit=500",
            raw.user_id
        ))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 400);
    let (status, body) = raw.get("/messenger/v2/accounts/1/chats").await;
    assert_eq!((status, body["error"]["code"].as_i64()), (403, Some(403)));
}

#[tokio::test]
async fn the_simulator_pushes_new_messages_to_a_subscribed_webhook_which_the_connector_parses() {
    // A tiny receiver standing in for the daemon's webhook endpoint.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body.to_vec());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let spec = shop("shop");
    let app = TestApp::builder().shop(shop("shop")).spawn().await;
    let client = connector(&app, &spec);
    client.subscribe_webhook(&hook).await.unwrap();
    let raw = Raw::login(&app, &spec).await;
    let (_, subs) = raw.post("/messenger/v1/subscriptions", json!({})).await;
    assert_eq!(subs["subscriptions"][0]["url"], hook.as_str());

    let posted = app
        .buyer_writes_on(
            AV,
            "Здравствуйте! Актуально?",
            json!({ "order": listing() }),
        )
        .await;
    let body = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a push arrives")
        .unwrap();
    let push: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(push["payload"]["type"], "message");
    assert_eq!(push["payload"]["value"]["user_id"], raw.user_id);

    let batch = client.parse_webhook(&body).unwrap();
    assert_eq!(batch.messages.len(), 1);
    let m = &batch.messages[0];
    assert_eq!(m.id, posted.message_id);
    assert_eq!(m.chat_id, posted.chat_id);
    assert_eq!(m.author, Author::Buyer);
    assert_eq!(m.text, "Здравствуйте! Актуально?");
    assert_eq!(
        batch.chats[0].order.as_ref().unwrap().product_id.as_deref(),
        Some("3012345678")
    );
    // Polling finds the same message under the same id, so the store keeps one.
    app.wait_for_draft(&posted.chat_id).await;
    let stored: String = app
        .store
        .call(|c| {
            Ok(c.query_row(
                "SELECT external_id FROM messages WHERE author = 'buyer'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(stored, m.id);

    // After unsubscribing, nothing more is pushed.
    let (status, _) = raw
        .post("/messenger/v1/webhook/unsubscribe", json!({ "url": hook }))
        .await;
    assert_eq!(status, 200);
    app.buyer_writes_on(AV, "Ау?", json!({ "chat_id": posted.chat_id }))
        .await;
    assert!(
        tokio::time::timeout(Duration::from_millis(700), rx.recv())
            .await
            .is_err(),
        "no push after unsubscribing"
    );
}

#[tokio::test]
async fn a_reply_can_be_retracted_within_the_window_and_shows_as_deleted() {
    let spec = shop("shop");
    let app = TestApp::builder()
        .shop(shop("shop"))
        .spawn_without_daemon()
        .await;
    let client = connector(&app, &spec);
    let posted = app
        .buyer_writes_on(AV, "Сколько стоит доставка?", json!({ "order": listing() }))
        .await;
    let chat = ChatRef {
        external_id: &posted.chat_id,
        reply_handle: Some(&posted.chat_id),
    };
    let text = ReplyText::parse("Доставка 300 ₽.", 1000).unwrap();
    let delivery = client.send(chat, &text).await.unwrap();
    let id = delivery.message_id.expect("Avito returns the message id");

    client.retract(chat, &id).await.unwrap();
    let raw = Raw::login(&app, &spec).await;
    let history = raw.history(&posted.chat_id).await;
    let ours = history.iter().find(|m| m["id"] == id.as_str()).unwrap();
    assert_eq!(ours["type"], "deleted");
    assert_eq!(ours["content"], json!({}));
    // The connector reports it as our message, deleted.
    let batch = client.poll(None, &KnownChats::new()).await.unwrap();
    let m = batch.messages.iter().find(|m| m.id == id).unwrap();
    assert_eq!(m.author, Author::Seller);
    assert_eq!(m.attachments["type"], "deleted");
    let update = batch
        .chats
        .iter()
        .find(|c| c.chat_id == posted.chat_id)
        .unwrap();
    assert_eq!(
        update.reply_handle.as_deref(),
        Some(posted.chat_id.as_str())
    );
    let order = update.order.as_ref().unwrap();
    assert_eq!(order.chat_kind.as_deref(), Some("listing"));
    assert_eq!(
        order.url.as_deref(),
        Some("https://www.avito.ru/moskva/odezhda/krossovki_nike_3012345678")
    );
    assert_eq!(order.price, Some(7990.0));
    // What was sent stays on record.
    assert_eq!(app.sent_on(AV).await.len(), 1);

    // Only our own messages can be deleted.
    let err = client.retract(chat, &posted.message_id).await.unwrap_err();
    assert!(matches!(err, MarketError::Invalid(_)), "{err}");
}

#[tokio::test]
async fn a_retract_after_the_window_is_refused_in_words_a_seller_understands() {
    let spec = shop("shop");
    let app = TestApp::builder()
        .shop(shop("shop"))
        // Every message is already past a window of no length.
        .sim_config(|c| c.avito_retract_window = Duration::ZERO)
        .spawn_without_daemon()
        .await;
    let client = connector(&app, &spec);
    let posted = app.buyer_writes_on(AV, "Можно дешевле?", json!({})).await;
    let chat = ChatRef {
        external_id: &posted.chat_id,
        reply_handle: None,
    };
    let text = ReplyText::parse("Цена окончательная.", 1000).unwrap();
    let id = client.send(chat, &text).await.unwrap().message_id.unwrap();

    let err = client.retract(chat, &id).await.unwrap_err();
    match &err {
        MarketError::Invalid(why) => assert!(why.contains("час"), "{why}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let raw = Raw::login(&app, &spec).await;
    let history = raw.history(&posted.chat_id).await;
    let ours = history.iter().find(|m| m["id"] == id.as_str()).unwrap();
    assert_eq!(ours["type"], "text", "a refused retract leaves the message");
}
