//! What the queue does with marketplace capabilities, whichever connector
//! provides them: reply windows, retraction, webhooks, one shop on all four.

use std::time::Duration;

use agentiq::actions::{self, ActionError};
use agentiq::domain::{DraftState, now_ms};
use serde_json::json;

use crate::helpers::{ShopSpec, TestApp};

#[tokio::test]
async fn one_shop_on_all_four_marketplaces_answers_each_once() {
    let app = TestApp::builder()
        .shop(ShopSpec::on("shop", &["wb", "ozon", "ym", "avito"]))
        .spawn()
        .await;
    let mut drafts = Vec::new();
    for (code, text) in [
        ("wb", "Когда привезут заказ?"),
        ("ozon", "Почему не отправляете заказ?"),
        ("ym", "Пришли не те краны, как поменять?"),
        ("avito", "Будет ли синий цвет?"),
    ] {
        let posted = app.buyer_writes_on(code, text, json!({})).await;
        drafts.push((code, app.wait_for_draft(&posted.chat_id).await));
    }
    for (code, d) in &drafts {
        assert_eq!(d.marketplace, *code);
        assert_eq!(d.state, DraftState::Pending);
        app.approve(d.id, Some(format!("Ответ для {code}")))
            .await
            .unwrap();
    }
    for (_, d) in &drafts {
        app.wait_for_state(d.id, DraftState::Sent).await;
    }
    app.drain().await;
    for (code, _) in &drafts {
        let sent = app.sent_on(code).await;
        assert_eq!(sent.len(), 1, "{code}: {sent:?}");
        assert_eq!(sent[0]["text"], format!("Ответ для {code}"));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM messages WHERE author = 'buyer'")
            .await,
        4
    );
}

#[tokio::test]
async fn an_ozon_chat_past_its_reply_window_is_refused_in_the_queue_and_expires() {
    let mut app = TestApp::builder()
        .shop(ShopSpec::on("shop", &["ozon"]))
        .spawn()
        .await;
    // One buyer wrote 47 h ago (one hour left), another 49 h ago (closed).
    let open = app
        .buyer_writes_on(
            "ozon",
            "Здравствуйте, когда отправите?",
            json!({ "at": now_ms() - 47 * 3600 * 1000 }),
        )
        .await;
    let closed = app
        .buyer_writes_on(
            "ozon",
            "Где мой заказ?",
            json!({ "at": now_ms() - 49 * 3600 * 1000 }),
        )
        .await;
    let open_draft = app.wait_for_draft(&open.chat_id).await;
    let closed_draft = app.wait_for_draft(&closed.chat_id).await;
    let deadline = open_draft
        .reply_deadline
        .expect("the queue shows the deadline");
    let left = deadline - now_ms();
    assert!(
        (3_500_000..=3_600_000).contains(&left),
        "about an hour left, got {left} ms"
    );

    let refused = app.approve(closed_draft.id, None).await.unwrap_err();
    assert!(
        matches!(&refused, ActionError::Conflict(m) if m.contains("окно ответа")),
        "{refused}"
    );
    app.approve(open_draft.id, None).await.unwrap();
    app.wait_for_state(open_draft.id, DraftState::Sent).await;

    // The sweeper (it runs at start) expires what can no longer be answered.
    app.stop().await;
    app.start().await;
    let expired = app
        .wait_for_state(closed_draft.id, DraftState::Expired)
        .await;
    assert!(
        expired.reason.unwrap_or_default().contains("окно ответа"),
        "says why"
    );
    app.drain().await;
    assert_eq!(app.sent_on("ozon").await.len(), 1);
}

async fn avito_sent_draft(app: &TestApp) -> i64 {
    let posted = app
        .buyer_writes_on("avito", "Добрый день, диван ещё продаётся?", json!({}))
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.approve(draft.id, Some("Да, продаётся.".into()))
        .await
        .unwrap();
    app.wait_for_state(draft.id, DraftState::Sent).await;
    draft.id
}

#[tokio::test]
async fn an_avito_reply_can_be_retracted_within_the_hour_and_not_after() {
    let app = TestApp::builder()
        .shop(ShopSpec::on("shop", &["avito", "wb"]))
        .spawn()
        .await;
    let id = avito_sent_draft(&app).await;
    let listed = app.draft(id).await;
    assert!(
        listed.retract_until.is_some_and(|t| t > now_ms()),
        "the queue offers retraction"
    );
    actions::retract(&app.store, id, &app.me()).await.unwrap();
    let retracted = app.wait_for_state(id, DraftState::Retracted).await;
    assert!(retracted.retract_until.is_none());
    let again = actions::retract(&app.store, id, &app.me())
        .await
        .unwrap_err();
    assert!(matches!(again, ActionError::Conflict(_)), "{again}");

    // An older send: move its time back past the hour.
    let old = avito_sent_draft(&app).await;
    app.store
        .call(move |c| {
            c.execute(
                "UPDATE drafts SET sent_at = sent_at - 3601000 WHERE id = ?1",
                [old],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    let late = actions::retract(&app.store, old, &app.me())
        .await
        .unwrap_err();
    assert!(
        matches!(&late, ActionError::Conflict(m) if m.contains("60 мин")),
        "{late}"
    );
    assert_eq!(app.draft(old).await.state, DraftState::Sent);

    // Wildberries cannot delete messages at all.
    let posted = app.buyer_writes("Когда привезут?").await;
    let wb = app.wait_for_draft(&posted.chat_id).await;
    app.approve(wb.id, Some("Завтра.".into())).await.unwrap();
    app.wait_for_state(wb.id, DraftState::Sent).await;
    let refused = actions::retract(&app.store, wb.id, &app.me())
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, ActionError::Conflict(m) if m.contains("Wildberries")),
        "{refused}"
    );
}

#[tokio::test]
async fn avito_webhooks_bring_messages_at_once_and_polling_never_doubles_them() {
    let mut shop = ShopSpec::on("shop", &["avito"]);
    let builder = TestApp::builder().web_on_known_port();
    // The web port is known before the daemon starts: the webhook URL points at it.
    let port = builder.web_port().unwrap();
    shop.section_extra.insert(
        "avito",
        format!(
            "poll_interval = \"4s\"\nwebhook_base_url = \"http://127.0.0.1:{port}\"\nwebhook_secret = \"hook-s3cret\""
        ),
    );
    let app = builder.shop(shop).spawn().await;
    // Let the first poll pass, so the next one is seconds away.
    app.drain().await;
    let started = std::time::Instant::now();
    let posted = app
        .buyer_writes_on("avito", "Здравствуйте! Можно забрать сегодня?", json!({}))
        .await;
    app.wait_for_draft(&posted.chat_id).await;
    // Debounce is 300 ms; a poll would take up to 4 s.
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "the webhook, not the poll, brought it: {:?}",
        started.elapsed()
    );
    // Polling reads the same message later: still one.
    app.drain().await;
    let stored = app
        .count("SELECT COUNT(*) FROM messages WHERE author = 'buyer'")
        .await;
    assert_eq!(stored, 1);
    assert_eq!(app.drafts().await.len(), 1);

    // A wrong secret is an unknown address.
    let r = app
        .http
        .post(format!("http://127.0.0.1:{port}/webhooks/avito/shop/wrong"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}
