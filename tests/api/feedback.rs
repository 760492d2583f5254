//! Reviews and product questions on all four marketplaces, end to end: the
//! daemon reads them from the simulator's APIs over real sockets, drafts,
//! gates and publishes answers through the same outbox as chat replies.
//! Where the behaviour is the same, one test runs every marketplace at once
//! in one daemon (one shop on all four).

use agentiq::domain::{DraftState, ThreadKind};
use futures_util::future::join_all;
use serde_json::json;

use agentiq::actions::QueueItem;

use crate::helpers::{Daemon, ShopSpec, TestApp, wait_until};

const REVIEW_POLICY: &str = r#"
[settings]
confidence_floor = 0.8

[[rule]]
name = "five-stars-auto"
when.kind = "review"
when.min_rating = 5
when.topics_none = ["defect"]
effect = "auto"
delay = "1s"

[[rule]]
name = "under-four-waits"
when.kind = "review"
when.max_rating = 3
effect = "queue"
"#;

/// A marketplace as these tests drive it.
#[derive(Debug, Clone, Copy)]
struct Market {
    code: &'static str,
    /// The path of the call that publishes a review's answer (or its end).
    answer_path: &'static str,
    /// Two products of the simulated account, as reviews name them.
    products: [&'static str; 2],
}

const WB: Market = Market {
    code: "wb",
    answer_path: "/api/v1/feedbacks/answer",
    products: ["777", "888"],
};
const OZON: Market = Market {
    code: "ozon",
    answer_path: "/v1/review/comment/create",
    products: ["646399170", "646399171"],
};
const YM: Market = Market {
    code: "ym",
    answer_path: "/goods-feedback/comments/update",
    products: ["FL-HEAD-01", "PB-20000"],
};
const AVITO: Market = Market {
    code: "avito",
    answer_path: "/ratings/v1/answers",
    products: ["4021337101", "4021337102"],
};
const MARKETS: [Market; 4] = [WB, OZON, YM, AVITO];

fn shop(policy: &str) -> ShopSpec {
    let mut shop = ShopSpec {
        policy: policy.into(),
        ..ShopSpec::on("shop", &["wb", "ozon", "ym", "avito"])
    };
    // The chats are not what these tests are about: poll them rarely.
    for code in ["ozon", "ym", "avito"] {
        shop.section_extra
            .insert(code, "poll_interval = \"30s\"".into());
    }
    shop
}

fn builder(policy: &str) -> crate::helpers::Builder {
    TestApp::builder()
        .feedback_on(&["wb", "ozon", "ym", "avito"])
        .shop(shop(policy))
}

async fn app_with(policy: &str) -> TestApp {
    builder(policy).spawn().await
}

/// Run `f` for every marketplace at once.
async fn each<F, Fut>(f: F)
where
    F: Fn(Market) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    join_all(MARKETS.map(&f)).await;
}

impl TestApp {
    async fn wait_for_thread(&self, m: Market, kind: ThreadKind, id: &str) -> QueueItem {
        let key = kind.thread_key(id);
        wait_until(&format!("a draft for {} {key}", m.code), || async {
            self.drafts()
                .await
                .into_iter()
                .find(|d| d.chat_id == key && d.marketplace == m.code)
        })
        .await
    }

    /// Calls to publish a review's answer the marketplace received and did
    /// not throttle (a 429 publishes nothing; the sender tries again later).
    async fn answer_calls(&self, m: Market) -> usize {
        let marketplace = |v: &serde_json::Value| {
            serde_json::from_value::<agentiq::domain::Marketplace>(v.clone()).ok()
        };
        let ours = marketplace(&json!(m.code));
        self.requests()
            .await
            .iter()
            .filter(|r| {
                marketplace(&r["marketplace"]) == ours
                    && r["status"] != 429
                    && r["path"]
                        .as_str()
                        .is_some_and(|p| p.ends_with(m.answer_path))
            })
            .count()
    }
}

#[tokio::test]
async fn an_unanswered_review_yields_one_draft_on_every_marketplace() {
    let app = app_with(REVIEW_POLICY).await;
    let app = &app;
    each(|m| async move {
        let id = app
            .review_on(
                m.code,
                3,
                "Светит ярко, но быстро садится батарея",
                Some(m.products[0]),
            )
            .await;
        let draft = app.wait_for_thread(m, ThreadKind::Review, &id).await;
        assert_eq!(draft.kind, ThreadKind::Review, "{m:?}");
        assert_eq!(draft.rating, Some(3), "{m:?}");
        assert_eq!(draft.state, DraftState::Pending, "{m:?} {draft:?}");
        app.drain().await;
        let drafts: Vec<_> = app
            .drafts()
            .await
            .into_iter()
            .filter(|d| d.chat_id == draft.chat_id && d.marketplace == m.code)
            .collect();
        assert_eq!(drafts.len(), 1, "{m:?} {drafts:?}");
        assert!(
            app.answers_on(m.code, &id).await.is_empty(),
            "{m:?}: nothing sent"
        );
    })
    .await;
}

#[tokio::test]
async fn a_wb_review_draft_names_its_product() {
    let app = TestApp::builder()
        .wb_feedback()
        .shop(ShopSpec {
            policy: REVIEW_POLICY.into(),
            ..ShopSpec::new("shop")
        })
        .spawn()
        .await;
    let id = app
        .wb_review(json!({ "rating": 3, "text": "Светит ярко", "product_name": "Фонарь налобный" }))
        .await;
    let draft = app.wait_for_thread(WB, ThreadKind::Review, &id).await;
    assert_eq!(draft.product.as_deref(), Some("Фонарь налобный"));
}

#[tokio::test]
async fn a_question_yields_a_draft_where_the_marketplace_has_questions() {
    let app = app_with(REVIEW_POLICY).await;
    let app = &app;
    // Avito has no questions API.
    join_all([WB, OZON, YM].map(|m| async move {
        let id = app.question_on(m.code, "Подойдёт ли для бега?").await;
        let draft = app.wait_for_thread(m, ThreadKind::Question, &id).await;
        assert_eq!(draft.kind, ThreadKind::Question, "{m:?}");
        assert_eq!(draft.state, DraftState::Pending, "{m:?}");
    }))
    .await;
}

#[tokio::test]
async fn a_policy_auto_answers_a_five_star_review_after_its_delay_and_queues_a_two_star_one() {
    let app = app_with(REVIEW_POLICY).await;
    let app = &app;
    each(|m| async move {
        let good = app.review_on(m.code, 5, "", Some(m.products[0])).await;
        let bad = app
            .review_on(m.code, 2, "Не понравился, тусклый", Some(m.products[1]))
            .await;
        let auto = app.wait_for_thread(m, ThreadKind::Review, &good).await;
        let queued = app.wait_for_thread(m, ThreadKind::Review, &bad).await;
        assert_eq!(queued.state, DraftState::Pending, "{m:?} {queued:?}");
        assert_eq!(auto.state, DraftState::Scheduled, "{m:?} {auto:?}");
        assert!(
            app.answers_on(m.code, &good).await.is_empty(),
            "{m:?}: the delay is an undo window: nothing published before it ends"
        );
        let sent = app.wait_for_state(auto.id, DraftState::Sent).await;
        assert!(
            sent.send_at.is_some_and(|at| at >= auto.created_at + 900),
            "{m:?} {sent:?}"
        );
        assert_eq!(
            app.answers_on(m.code, &good).await,
            std::slice::from_ref(&sent.text),
            "{m:?}"
        );
        app.drain().await;
        assert_eq!(
            app.draft(queued.id).await.state,
            DraftState::Pending,
            "{m:?}"
        );
        assert!(app.answers_on(m.code, &bad).await.is_empty(), "{m:?}");
    })
    .await;
}

#[tokio::test]
async fn a_review_answered_in_the_seller_portal_cancels_our_draft() {
    let app = app_with(REVIEW_POLICY).await;
    let app = &app;
    each(|m| async move {
        let id = app
            .review_on(m.code, 1, "Пришёл бракованный", Some(m.products[0]))
            .await;
        let draft = app.wait_for_thread(m, ThreadKind::Review, &id).await;
        assert_eq!(draft.state, DraftState::Pending, "{m:?}");
        let text = "Здравствуйте! Напишите нам в чат, разберёмся.";
        app.portal_answer_on(m.code, "review", &id, text).await;
        app.wait_for_state(draft.id, DraftState::Cancelled).await;
        assert_eq!(
            app.answers_on(m.code, &id).await,
            [text],
            "{m:?}: only the person's answer"
        );
    })
    .await;
}

#[tokio::test]
async fn an_approved_answer_with_an_unknown_outcome_is_published_exactly_once() {
    let app = app_with(REVIEW_POLICY).await;
    let app = &app;
    each(|m| async move {
        let id = app
            .review_on(m.code, 2, "Тусклый", Some(m.products[0]))
            .await;
        let draft = app.wait_for_thread(m, ThreadKind::Review, &id).await;
        // The marketplace takes the answer, then the connection is cut: the
        // daemon cannot know, and must read the review back instead of
        // answering again.
        app.fault(
            json!({ "kind": "drop_after_accept", "marketplace": m.code, "path": m.answer_path }),
        )
        .await;
        let text = "Спасибо за отзыв! Напишите нам в чат, разберёмся.";
        app.approve(draft.id, Some(text.into())).await.unwrap();
        app.wait_for_state(draft.id, DraftState::Sent).await;
        app.drain().await;
        assert_eq!(app.answers_on(m.code, &id).await, [text], "{m:?}");
        assert_eq!(
            app.answer_calls(m).await,
            1,
            "{m:?}: answered once, never again"
        );
    })
    .await;
}

#[tokio::test]
async fn an_answer_refused_with_a_server_error_is_published_once_after_the_read_back() {
    let app = app_with(REVIEW_POLICY).await;
    let app = &app;
    each(|m| async move {
        let id = app.review_on(m.code, 2, "Тусклый", Some(m.products[0])).await;
        let draft = app.wait_for_thread(m, ThreadKind::Review, &id).await;
        app.fault(json!({ "kind": "status", "status": 502, "marketplace": m.code, "path": m.answer_path }))
            .await;
        let text = "Спасибо за отзыв! Напишите нам в чат, разберёмся.";
        app.approve(draft.id, Some(text.into())).await.unwrap();
        app.wait_for_state(draft.id, DraftState::Sent).await;
        app.drain().await;
        assert_eq!(app.answers_on(m.code, &id).await, [text], "{m:?}");
    })
    .await;
}

#[tokio::test]
async fn an_answer_accepted_just_before_kill_9_is_not_published_again() {
    let app = builder(REVIEW_POLICY).spawn_without_daemon().await;
    let app = &app;
    let daemon = Daemon::start(&app.config_path());
    let text = "Спасибо за отзыв! Напишите нам в чат, разберёмся.";
    let started = join_all(MARKETS.map(|m| async move {
        let id = app.review_on(m.code, 2, "Тусклый", Some(m.products[0])).await;
        let draft = app.wait_for_thread(m, ThreadKind::Review, &id).await;
        app.fault(json!({ "kind": "slow_after_accept", "delay_ms": 10000, "marketplace": m.code, "path": m.answer_path }))
            .await;
        app.approve(draft.id, Some(text.into())).await.unwrap();
        wait_until(&format!("{} to take the answer", m.code), || async {
            (!app.answers_on(m.code, &id).await.is_empty()).then_some(())
        })
        .await;
        (m, id, draft.id)
    }))
    .await;
    daemon.kill_9().await;
    for (m, _, draft) in &started {
        // Still in flight, or already settled by reading the review back.
        let state = app.draft(*draft).await.state;
        assert!(
            matches!(state, DraftState::Sending | DraftState::Sent),
            "{m:?} {state:?}"
        );
    }
    let daemon = Daemon::start(&app.config_path());
    for (_, _, draft) in &started {
        app.wait_for_state(*draft, DraftState::Sent).await;
    }
    app.drain_process().await;
    daemon.kill_9().await;
    for (m, id, _) in &started {
        assert_eq!(app.answers_on(m.code, id).await, [text], "{m:?}");
        assert_eq!(
            app.answer_calls(*m).await,
            1,
            "{m:?}: the restarted daemon read the review back instead"
        );
    }
}

#[tokio::test]
async fn the_same_template_text_is_not_auto_sent_to_many_reviews_of_one_product() {
    let app = app_with(REVIEW_POLICY).await;
    let app = &app;
    let limit = agentiq::pipeline::SAME_ANSWER_LIMIT;
    each(|m| async move {
        for n in 0..limit {
            let id = app.review_on(m.code, 5, "", Some(m.products[0])).await;
            let d = app.wait_for_thread(m, ThreadKind::Review, &id).await;
            app.wait_for_state(d.id, DraftState::Sent).await;
            assert_eq!(
                app.answers_on(m.code, &id).await.len(),
                1,
                "{m:?} review {n}"
            );
        }
        let id = app.review_on(m.code, 5, "", Some(m.products[0])).await;
        let held = app.wait_for_thread(m, ThreadKind::Review, &id).await;
        assert_eq!(held.state, DraftState::Pending, "{m:?} {held:?}");
        // Held by the safety floor: the sameness guard's error is among the
        // draft's findings (the reason names the rule that would have sent it).
        let held_id = held.id;
        let findings: i64 = app
            .store
            .call(move |c| {
                Ok(c.query_row(
                    "SELECT COUNT(*) FROM drafts WHERE id = ?1 AND findings LIKE '%same_answer%'",
                    [held_id],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(findings, 1, "{m:?} {held:?}");
        // Another product's five stars still go out on their own.
        let other = app.review_on(m.code, 5, "", Some(m.products[1])).await;
        let d = app.wait_for_thread(m, ThreadKind::Review, &other).await;
        app.wait_for_state(d.id, DraftState::Sent).await;
    })
    .await;
}

/// A review on `m` answered with `text` through the queue; the sent draft.
async fn answered_review(app: &TestApp, m: Market, text: &str) -> (String, QueueItem) {
    let id = app
        .review_on(m.code, 2, "Тусклый", Some(m.products[0]))
        .await;
    let draft = app.wait_for_thread(m, ThreadKind::Review, &id).await;
    app.approve(draft.id, Some(text.into())).await.unwrap();
    let sent = app.wait_for_state(draft.id, DraftState::Sent).await;
    assert_eq!(app.answers_on(m.code, &id).await, [text], "{m:?}");
    (id, sent)
}

#[tokio::test]
async fn a_published_answer_is_deleted_once_where_the_marketplace_allows_it() {
    let app = app_with(REVIEW_POLICY).await;
    let app = &app;
    let text = "Спасибо за отзыв! Напишите нам в чат, разберёмся.";
    // Ozon deletes a review's comment; Wildberries keeps every answer.
    let ((ozon_review, ozon), (wb_review, wb)) = tokio::join!(
        answered_review(app, OZON, text),
        answered_review(app, WB, text)
    );
    agentiq::actions::retract(&app.store, ozon.id, &app.me())
        .await
        .unwrap();
    app.wait_for_state(ozon.id, DraftState::Retracted).await;
    assert!(app.answers_on("ozon", &ozon_review).await.is_empty());
    let deleted: Vec<_> = app
        .feedback_answers("ozon")
        .await
        .into_iter()
        .filter(|a| a["target_id"] == ozon_review.as_str())
        .collect();
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0]["deleted"], true, "{deleted:?}");
    let delete_calls = app
        .requests()
        .await
        .iter()
        .filter(|r| r["path"] == "/v1/review/comment/delete")
        .count();
    assert_eq!(delete_calls, 1);

    agentiq::actions::retract(&app.store, wb.id, &app.me())
        .await
        .unwrap();
    wait_until("the refusal to be recorded", || async {
        let d = agentiq::actions::show(&app.store, wb.id).await.unwrap();
        d.events
            .iter()
            .any(|e| {
                e.note
                    .as_deref()
                    .is_some_and(|n| n.contains("не позволяет удалять"))
            })
            .then_some(())
    })
    .await;
    assert_eq!(app.draft(wb.id).await.state, DraftState::Sent);
    assert_eq!(app.answers_on("wb", &wb_review).await, [text]);
}

#[tokio::test]
async fn a_published_answer_is_edited_once_through_the_guards_where_the_marketplace_allows_it() {
    let app = app_with(REVIEW_POLICY).await;
    let text = "Спасибо за отзыв! Напишите нам в чат, разберёмся.";
    let (review, sent) = answered_review(&app, YM, text).await;
    // The guards read an edit like any reply a person writes.
    let risky = "Вернём вам деньги сегодня же и дадим скидку 50% на следующий заказ!";
    let refused = app.edit_sent(sent.id, risky).await;
    assert!(
        matches!(refused, Err(agentiq::actions::ActionError::Guarded { .. })),
        "{refused:?}"
    );
    let better = "Спасибо за отзыв! Нам очень жаль, что фонарь вас расстроил.";
    app.edit_sent(sent.id, better).await.unwrap();
    wait_until("Market to show the edited answer", || async {
        (app.answers_on("ym", &review).await == [better]).then_some(())
    })
    .await;
    app.drain().await;
    assert_eq!(
        app.answer_calls(YM).await,
        2,
        "one answer, one edit, nothing again"
    );
    assert_eq!(app.draft(sent.id).await.state, DraftState::Sent);
}

#[tokio::test]
async fn ozon_without_premium_plus_holds_only_the_shops_review_answers_and_says_why() {
    let app = TestApp::builder()
        .feedback_on(&["ozon"])
        .shop(ShopSpec {
            policy: REVIEW_POLICY.into(),
            ..ShopSpec::on("shop", &["ozon"])
        })
        .spawn()
        .await;
    let id = app
        .review_on("ozon", 2, "Тусклый", Some(OZON.products[0]))
        .await;
    let draft = app.wait_for_thread(OZON, ThreadKind::Review, &id).await;
    app.post(
        "/_sim/feedback/subscription",
        json!({ "marketplace": "ozon", "active": false }),
    )
    .await;
    app.approve(draft.id, Some("Спасибо за отзыв!".into()))
        .await
        .unwrap();
    let held = wait_until("the refusal to be recorded", || async {
        let d = app.draft(draft.id).await;
        (d.state == DraftState::Scheduled
            && d.reason
                .as_deref()
                .is_some_and(|r| r.contains("Premium Plus")))
        .then_some(d)
    })
    .await;
    assert!(app.answers_on("ozon", &id).await.is_empty(), "{held:?}");
    // `agentiq status` says why the reviews stopped, apart from the chats.
    let report = wait_until("the reviews status to name the plan", || async {
        let r = agentiq::actions::status(&app.store, Vec::new())
            .await
            .unwrap();
        r.feedback
            .iter()
            .any(|f| {
                f.shop == "shop"
                    && f.state != agentiq::store::ConnectorState::Ok
                    && f.detail
                        .as_deref()
                        .is_some_and(|d| d.contains("Premium Plus"))
            })
            .then_some(r)
    })
    .await;
    assert!(
        report
            .connectors
            .iter()
            .all(|c| c.state == agentiq::store::ConnectorState::Ok),
        "the chats are not affected: {:?}",
        report.connectors
    );
    // The shop's Ozon chats carry on.
    let posted = app
        .buyer_writes_on("ozon", "Где мой заказ? Жду уже неделю", json!({}))
        .await;
    let chat = app.wait_for_draft(&posted.chat_id).await;
    app.approve(chat.id, None).await.unwrap();
    app.wait_for_state(chat.id, DraftState::Sent).await;
}
