//! `/metrics`: what a Prometheus scrape sees after a scripted conversation,
//! and who may scrape.

use agentiq::domain::DraftState;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, WEB_PASSWORD, wait_until};

/// The value of the sample `name{labels}` (exact match of the series), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The sum of every sample of `name` whose labels contain all of `labels`.
fn sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let rest = series.strip_prefix(name)?;
            (rest.is_empty() || rest.starts_with('{'))
                .then_some(())
                .filter(|()| labels.iter().all(|want| rest.contains(want)))?;
            value.parse::<f64>().ok()
        })
        .sum()
}

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut req = app.http.get(format!("http://{}/metrics", app.web.unwrap()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_scrape_after_a_conversation_counts_turns_drafts_decisions_and_sends() {
    let app = TestApp::builder().web().spawn().await;
    let base = format!("http://{}", app.web.unwrap());
    let first = app
        .buyer_writes("Здравствуйте! Когда привезут мой заказ?")
        .await;
    let second = app.buyer_writes("Подойдёт ли чехол на iPhone 15?").await;
    let approved = app.wait_for_draft(&first.chat_id).await;
    let rejected = app.wait_for_draft(&second.chat_id).await;

    for (id, action, body) in [
        (approved.id, "approve", json!({})),
        (rejected.id, "reject", json!({ "reason": "ответим сами" })),
    ] {
        let res = app
            .http
            .post(format!("{base}/api/drafts/{id}/{action}"))
            .bearer_auth(WEB_PASSWORD)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{action}");
    }
    app.wait_for_state(approved.id, DraftState::Sent).await;

    let res = scrape(&app, None).await;
    assert_eq!(res.status(), StatusCode::OK, "open on loopback");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = res.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let expect = |series: &str, want: f64| {
        assert_eq!(sample(&text, series), Some(want), "{series} in\n{text}");
    };
    expect(
        "agentiq_buyer_turns_ingested_total{marketplace=\"wb\"}",
        2.0,
    );
    for d in [&approved, &rejected] {
        let intent = format!("intent=\"{}\"", d.intent);
        let want = if approved.intent == rejected.intent {
            2.0
        } else {
            1.0
        };
        assert_eq!(
            sum(&text, "agentiq_drafts_created_total", &[&intent]),
            want,
            "{intent} in\n{text}"
        );
    }
    expect("agentiq_draft_outcomes_total{outcome=\"approved\"}", 1.0);
    expect("agentiq_draft_outcomes_total{outcome=\"rejected\"}", 1.0);
    expect(
        "agentiq_sends_total{marketplace=\"wb\",outcome=\"sent\"}",
        1.0,
    );
    expect(
        "agentiq_send_duration_seconds_count{marketplace=\"wb\"}",
        1.0,
    );
    expect("agentiq_queue_drafts{state=\"pending\"}", 0.0);
    expect("agentiq_queue_oldest_pending_age_seconds", 0.0);
    expect(
        "agentiq_marketplace_throttled_total{marketplace=\"wb\"}",
        0.0,
    );
    expect("agentiq_connectors{marketplace=\"wb\",state=\"ok\"}", 1.0);
    expect("agentiq_shops", 1.0);
    assert!(sample(&text, "agentiq_database_size_bytes").unwrap() > 0.0);

    // Every request the simulator saw from the daemon was counted (polls go on,
    // so the scrape is between two readings of the simulator's log).
    let seen = app.requests().await.len() as f64;
    let counted = sample(
        &scrape(&app, None).await.text().await.unwrap(),
        "agentiq_marketplace_requests_total{marketplace=\"wb\"}",
    )
    .unwrap();
    assert!(
        counted >= seen && seen > 0.0,
        "{counted} counted, {seen} seen"
    );
    let after = app.requests().await.len() as f64;
    assert!(counted <= after, "{counted} counted, {after} seen later");
}

async fn cli(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let out = tokio::process::Command::new(crate::helpers::binary())
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

#[tokio::test]
async fn approvals_and_rejections_made_with_the_cli_are_counted_once() {
    let app = TestApp::builder().web().spawn().await;
    let first = app
        .buyer_writes("Здравствуйте! Когда привезут мой заказ?")
        .await;
    let second = app.buyer_writes("Подойдёт ли чехол на iPhone 15?").await;
    let approved = app.wait_for_draft(&first.chat_id).await;
    let rejected = app.wait_for_draft(&second.chat_id).await;
    let outcomes = |text: &str| {
        [
            "agentiq_draft_outcomes_total{outcome=\"approved\"}",
            "agentiq_draft_outcomes_total{outcome=\"rejected\"}",
        ]
        .map(|series| sample(text, series).unwrap_or(0.0))
    };
    let before = scrape(&app, None).await.text().await.unwrap();
    assert_eq!(outcomes(&before), [0.0, 0.0], "{before}");

    let (code, out, err) = cli(&app, &["queue", "approve", &approved.id.to_string()]).await;
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = cli(
        &app,
        &[
            "queue",
            "reject",
            &rejected.id.to_string(),
            "--reason",
            "ответим сами",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    app.wait_for_state(approved.id, DraftState::Sent).await;

    // The daemon heard of neither decision; the scrape finds them in the audit trail.
    let after = scrape(&app, None).await.text().await.unwrap();
    assert_eq!(outcomes(&after), [1.0, 1.0], "{after}");
    let again = scrape(&app, None).await.text().await.unwrap();
    assert_eq!(outcomes(&again), [1.0, 1.0], "counted once:\n{again}");
}

#[tokio::test]
async fn a_waiting_draft_shows_in_the_queue_figures() {
    let app = TestApp::builder().web().spawn().await;
    let posted = app.buyer_writes("Есть ли размер XL?").await;
    app.wait_for_draft(&posted.chat_id).await;
    let text = wait_until("the queue gauge to show the draft", || async {
        let text = scrape(&app, None).await.text().await.unwrap();
        (sample(&text, "agentiq_queue_drafts{state=\"pending\"}") == Some(1.0)).then_some(text)
    })
    .await;
    assert!(sample(&text, "agentiq_queue_oldest_pending_age_seconds").unwrap() > 0.0);
}

#[tokio::test]
async fn with_a_metrics_token_a_scrape_needs_exactly_that_token() {
    let mut app = TestApp::builder().web().spawn_without_daemon().await;
    app.settings.web.metrics_token = Some(secrecy::SecretString::from("scrape-secret"));
    app.start().await;

    assert_eq!(scrape(&app, None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        scrape(&app, Some("wrong")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let ok = scrape(&app, Some("scrape-secret")).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.text().await.unwrap().contains("agentiq_shops 1"));
}

#[tokio::test]
async fn off_loopback_without_a_token_a_scrape_needs_the_operator_login() {
    let mut app = TestApp::builder().web().spawn_without_daemon().await;
    app.settings.web.listen = "0.0.0.0:0".parse().unwrap();
    app.start().await;
    let port = app.web.unwrap().port();
    app.web = Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)));

    assert_eq!(scrape(&app, None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        scrape(&app, Some(WEB_PASSWORD)).await.status(),
        StatusCode::OK
    );
}
