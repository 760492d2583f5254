//! The web queue's handlers over real HTTP: auth, CSRF, every action, state
//! conflicts, escaping, headers and live updates.

use std::time::Duration;

use agentiq::domain::DraftState;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::helpers::{ShopSpec, TestApp, WEB_PASSWORD, wait_until};

/// A logged-in browser session, cookies handled by hand.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).map(|i| i + start.len()).unwrap_or(0);
    let to = html[from..].find(end).map(|i| from + i).unwrap_or(from);
    &html[from..to]
}

async fn try_login(app: &TestApp, name: &str, password: &str) -> Result<Browser, StatusCode> {
    let http = client();
    let base = format!("http://{}", app.web.expect("the web queue runs"));
    let form = http.get(format!("{base}/login")).send().await.unwrap();
    let login_cookie = set_cookie(&form, "agentiq_login").unwrap();
    let html = form.text().await.unwrap();
    let token = between(&html, "name=\"login_csrf\" value=\"", "\"").to_string();
    let res = http
        .post(format!("{base}/login"))
        .header(COOKIE, &login_cookie)
        .form(&[
            ("name", name),
            ("password", password),
            ("login_csrf", &token),
        ])
        .send()
        .await
        .unwrap();
    if res.status() != StatusCode::SEE_OTHER {
        return Err(res.status());
    }
    let cookie = set_cookie(&res, "agentiq_session").expect("a session cookie");
    let page = http
        .get(format!("{base}/"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = between(&page, "data-csrf=\"", "\"").to_string();
    Ok(Browser {
        http,
        base,
        cookie,
        csrf,
    })
}

async fn login(app: &TestApp) -> Browser {
    try_login(app, "Оля", WEB_PASSWORD)
        .await
        .expect("login works")
}

impl Browser {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .header("X-CSRF-Token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// What a person typed for a draft, saved as the page saves it.
    async fn save_working(&self, draft: i64, text: &str) -> reqwest::Response {
        self.post(
            &format!("/api/drafts/{draft}/working"),
            json!({ "text": text }),
        )
        .await
    }

    async fn post_without_csrf(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

async fn web_app() -> TestApp {
    TestApp::builder().web().spawn().await
}

#[tokio::test]
async fn everything_but_the_login_form_needs_a_login() {
    let app = web_app().await;
    let base = format!("http://{}", app.web.unwrap());
    let http = client();
    let page = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()[LOCATION], "/login");
    for path in [
        "/api/drafts",
        "/api/drafts/1",
        "/events",
        "/fragments/queue",
    ] {
        let status = http
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .status();
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::SEE_OTHER,
            "{path}: {status}"
        );
    }
    let post = http
        .post(format!("{base}/api/drafts/1/approve"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_passwords_are_refused_and_repeated_failures_are_limited() {
    let app = web_app().await;
    for _ in 0..3 {
        assert_eq!(
            try_login(&app, "x", "guess").await.err(),
            Some(StatusCode::UNAUTHORIZED)
        );
    }
    assert_eq!(
        try_login(&app, "x", WEB_PASSWORD).await.err(),
        Some(StatusCode::TOO_MANY_REQUESTS)
    );
}

#[tokio::test]
async fn a_login_post_without_its_form_token_is_refused() {
    let app = web_app().await;
    let base = format!("http://{}", app.web.unwrap());
    let res = client()
        .post(format!("{base}/login"))
        .form(&[
            ("name", "x"),
            ("password", WEB_PASSWORD),
            ("login_csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&res, "agentiq_session").is_none());
}

#[tokio::test]
async fn approving_with_edits_through_the_api_delivers_that_text_once_and_records_who() {
    let app = web_app().await;
    let browser = login(&app).await;
    let posted = app
        .buyer_writes("Подскажите, какой размер взять на рост 170?")
        .await;
    let draft = app.wait_for_draft(&posted.chat_id).await;

    let res = browser
        .post(
            &format!("/api/drafts/{}/approve", draft.id),
            json!({ "text": "Берите M — на рост 170 он в самый раз." }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.wait_for_state(draft.id, DraftState::Sent).await;
    app.drain().await;
    assert_eq!(
        app.sent_texts().await,
        ["Берите M — на рост 170 он в самый раз."]
    );
    let detail = agentiq::actions::show(&app.store, draft.id).await.unwrap();
    assert!(
        detail
            .events
            .iter()
            .any(|e| e.actor == "web:Оля" && e.to == "scheduled"),
        "{:?}",
        detail.events
    );

    let again = browser
        .post(&format!("/api/drafts/{}/approve", draft.id), json!({}))
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let body: Value = again.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("уже отправлен"),
        "{body}"
    );
    app.drain().await;
    assert_eq!(app.sent().await.len(), 1, "nothing was sent twice");
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let app = web_app().await;
    let browser = login(&app).await;
    let posted = app.buyer_writes("Где мой заказ?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;

    let res = browser
        .post_without_csrf(&format!("/api/drafts/{}/approve", draft.id), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let forged = browser
        .http
        .post(format!("{}/api/drafts/{}/approve", browser.base, draft.id))
        .header(COOKIE, &browser.cookie)
        .header("X-CSRF-Token", "0".repeat(64))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    app.drain().await;
    assert_eq!(app.draft(draft.id).await.state, DraftState::Pending);
    assert!(app.sent().await.is_empty());
}

#[tokio::test]
async fn reject_needs_a_reason_and_keeps_it() {
    let app = web_app().await;
    let browser = login(&app).await;
    let posted = app.buyer_writes("Есть ли в наличии синий цвет?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;

    let res = browser
        .post(
            &format!("/api/drafts/{}/reject", draft.id),
            json!({ "reason": "  " }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = browser
        .post(
            &format!("/api/drafts/{}/reject", draft.id),
            json!({ "reason": "синего не будет" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let d = app.draft(draft.id).await;
    assert_eq!(
        (d.state, d.reason.as_deref()),
        (DraftState::Rejected, Some("синего не будет"))
    );
}

#[tokio::test]
async fn the_undo_window_can_be_cut_short_or_cancelled_and_a_failed_send_retried() {
    let mut shop = ShopSpec::new("shop");
    shop.policy = "[[rule]]\nname = \"thanks\"\nwhen.intent = \"thanks\"\neffect = \"auto\"\ndelay = \"1h\"\n".into();
    let app = TestApp::builder().web().shop(shop).spawn().await;
    let browser = login(&app).await;
    let one = app.buyer_writes("Спасибо!").await;
    let two = app.buyer_writes("Спасибо большое!").await;
    let first = app.wait_for_draft(&one.chat_id).await;
    let second = app.wait_for_draft(&two.chat_id).await;
    assert_eq!(
        (first.state, second.state),
        (DraftState::Scheduled, DraftState::Scheduled)
    );

    assert_eq!(
        browser
            .post(&format!("/api/drafts/{}/cancel", second.id), json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    app.fault(json!({ "kind": "status", "status": 400, "path": "/api/v1/seller/message" }))
        .await;
    assert_eq!(
        browser
            .post(&format!("/api/drafts/{}/send-now", first.id), json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    let failed = app.wait_for_state(first.id, DraftState::Failed).await;
    let reason = failed.reason.unwrap();
    assert!(
        reason.starts_with("Не отправлено: площадка не приняла этот ответ")
            && reason.contains("400"),
        "says what to do, then what the marketplace answered: {reason}"
    );

    assert_eq!(
        browser
            .post(&format!("/api/drafts/{}/retry", first.id), json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    app.wait_for_state(first.id, DraftState::Sent).await;
    assert_eq!(app.draft(second.id).await.state, DraftState::Cancelled);
    app.drain().await;
    assert_eq!(app.sent().await.len(), 1);
    let res = browser
        .post(&format!("/api/drafts/{}/retry", first.id), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn integrations_use_a_bearer_token_and_name_themselves() {
    let app = web_app().await;
    let base = format!("http://{}", app.web.unwrap());
    let posted = app.buyer_writes("Подойдёт ли на iPhone 15?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    let http = client();

    let wrong = http
        .get(format!("{base}/api/drafts"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let list: Vec<Value> = http
        .get(format!("{base}/api/drafts"))
        .bearer_auth(WEB_PASSWORD)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["id"], draft.id);
    for key in [
        "id",
        "shop",
        "marketplace",
        "chat_id",
        "state",
        "intent",
        "confidence",
        "text",
        "reason",
    ] {
        assert!(list[0].get(key).is_some(), "{key} in {}", list[0]);
    }
    let res = http
        .post(format!("{base}/api/drafts/{}/approve", draft.id))
        .bearer_auth(WEB_PASSWORD)
        .header("X-Actor", "crm")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let detail = agentiq::actions::show(&app.store, draft.id).await.unwrap();
    assert!(detail.events.iter().any(|e| e.actor == "api:crm"));
    app.wait_for_state(draft.id, DraftState::Sent).await;
}

#[tokio::test]
async fn buyer_html_is_shown_as_text() {
    let app = web_app().await;
    let browser = login(&app).await;
    let probe = "<script>alert(1)</script><img src=x onerror=alert(2)> Где заказ?";
    let posted = app.buyer_writes(probe).await;
    let draft = app.wait_for_draft(&posted.chat_id).await;

    for path in [
        format!("/drafts/{}", draft.id),
        format!("/fragments/drafts/{}", draft.id),
    ] {
        let html = browser.get(&path).await.text().await.unwrap();
        assert!(html.contains("&lt;script&gt;alert(1)&lt;"), "{path}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(2)&gt;"),
            "{path}"
        );
        assert!(
            !html.contains("<script>alert") && !html.contains("<img src=x"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn pages_and_the_api_carry_security_headers() {
    let app = web_app().await;
    let browser = login(&app).await;
    for path in ["/", "/api/drafts", "/login"] {
        let res = browser.get(path).await;
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'")
                && csp.contains("script-src 'self'")
                && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
    }
    assert!(browser.cookie.starts_with("agentiq_session="));
}

#[tokio::test]
async fn a_new_draft_is_announced_on_the_event_stream() {
    let app = web_app().await;
    let browser = login(&app).await;
    let mut stream = browser.get("/events").await;
    assert_eq!(stream.status(), StatusCode::OK);
    app.buyer_writes("Спасибо, всё пришло!").await;
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        let mut seen = String::new();
        while let Ok(Some(chunk)) = stream.chunk().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("event: changed") && seen.contains("draft_created") {
                return seen;
            }
        }
        seen
    })
    .await
    .expect("an event within 10 s");
    assert!(got.contains("draft_created"), "{got}");
    // The default policy auto-sends thanks; let that send finish.
    app.drain().await;
}

#[tokio::test]
async fn the_kill_switch_is_reachable_from_the_api() {
    let app = web_app().await;
    let browser = login(&app).await;
    let res = browser
        .post("/api/shops/shop/pause", json!({ "reason": "проверка" }))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let status: Value = browser.get("/api/status").await.json().await.unwrap();
    assert_eq!(status["paused"][0]["shop"], "shop");
    assert_eq!(
        browser
            .post("/api/shops/shop/resume", json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    let status: Value = browser.get("/api/status").await.json().await.unwrap();
    assert_eq!(status["paused"].as_array().unwrap().len(), 0);
    assert_eq!(
        browser
            .post("/api/shops/nope/pause", json!({}))
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    wait_until("the queue page to render the status", || async {
        browser
            .get("/")
            .await
            .text()
            .await
            .ok()
            .filter(|h| h.contains("Wildberries"))
    })
    .await;
}

const RISKY: &str = "Вернём вам деньги сегодня же и дадим скидку 50% на следующий заказ!";

#[tokio::test]
async fn an_edit_promising_a_refund_needs_an_override_with_a_reason_which_the_audit_keeps() {
    let app = web_app().await;
    let browser = login(&app).await;
    let posted = app.buyer_writes("Где мой заказ?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    let approve = format!("/api/drafts/{}/approve", draft.id);

    let check: Value = browser
        .post(
            &format!("/api/drafts/{}/check", draft.id),
            json!({ "text": RISKY }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(check["text"], RISKY);
    assert_eq!(check["blocked"], true, "{check}");
    assert!(
        check["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "error"
                && f["category"].as_str().unwrap().starts_with("promise")),
        "{check}"
    );

    for body in [
        json!({ "text": RISKY }),
        json!({ "text": RISKY, "override": "  " }),
    ] {
        let refused = browser.post(&approve, body).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let refused: Value = refused.json().await.unwrap();
        assert!(
            refused["error"].as_str().unwrap().contains("не одобрен"),
            "{refused}"
        );
        assert!(!refused["findings"].as_array().unwrap().is_empty());
    }
    app.drain().await;
    assert_eq!(app.draft(draft.id).await.state, DraftState::Pending);

    let res = browser
        .post(
            &approve,
            json!({ "text": RISKY, "override": "возврат согласован с руководителем" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.wait_for_state(draft.id, DraftState::Sent).await;
    assert_eq!(app.sent_texts().await, [RISKY]);
    let detail = agentiq::actions::show(&app.store, draft.id).await.unwrap();
    let approval = detail
        .events
        .iter()
        .find(|e| e.to == "scheduled")
        .and_then(|e| e.note.clone())
        .unwrap();
    assert!(
        approval.contains("вопреки проверкам")
            && approval.contains("возврат согласован с руководителем"),
        "{approval}"
    );
    let page = browser
        .get(&format!("/fragments/drafts/{}", draft.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("обещает скидку"),
        "the page shows the findings of the text that went out"
    );
}

#[tokio::test]
async fn a_misspelled_field_is_refused_in_russian_and_nothing_is_sent() {
    let app = web_app().await;
    let browser = login(&app).await;
    let posted = app.buyer_writes("Где мой заказ?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;

    let res = browser
        .post(
            &format!("/api/drafts/{}/approve", draft.id),
            json!({ "txt": "Заказ уже в пути." }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("неизвестное поле «txt»"),
        "{body}"
    );
    for (path, body) in [
        (
            format!("/api/drafts/{}/reject", draft.id),
            json!({ "reson": "нет" }),
        ),
        (
            format!("/api/drafts/{}/retry", draft.id),
            json!({ "now": true }),
        ),
        (
            format!("/api/drafts/{}/approve", draft.id),
            json!({ "text": 5 }),
        ),
    ] {
        let res = browser.post(&path, body).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    let broken = browser
        .http
        .post(format!("{}/api/drafts/{}/approve", browser.base, draft.id))
        .header(COOKIE, &browser.cookie)
        .header("X-CSRF-Token", &browser.csrf)
        .header("content-type", "application/json")
        .body("{\"text\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    assert!(broken.json::<Value>().await.unwrap()["error"].is_string());
    for path in ["/api/drafts/abc", "/api/nothing-here"] {
        let res = browser.get(path).await;
        assert!(res.status().is_client_error(), "{path}");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"].is_string(), "{path}: {body}");
    }
    app.drain().await;
    assert_eq!(app.draft(draft.id).await.state, DraftState::Pending);
    assert!(app.sent().await.is_empty());
}

#[tokio::test]
async fn a_failed_send_stays_in_the_queue_and_its_counts_until_a_person_acts() {
    let app = web_app().await;
    let browser = login(&app).await;
    let posted = app.buyer_writes("Где мой заказ?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    app.fault(json!({ "kind": "status", "status": 400, "path": "/api/v1/seller/message" }))
        .await;
    app.approve(draft.id, None).await.unwrap();
    app.wait_for_state(draft.id, DraftState::Failed).await;

    let rows = browser.get("/fragments/queue").await.text().await.unwrap();
    assert!(!rows.contains("Очередь пуста"), "{rows}");
    assert!(
        rows.contains(&format!("data-id=\"{}\"", draft.id)),
        "{rows}"
    );
    assert!(rows.contains("не отправлен: <b>1</b>"), "{rows}");
    let pending_only = browser
        .get("/fragments/queue?state=pending")
        .await
        .text()
        .await
        .unwrap();
    assert!(!pending_only.contains("Очередь пуста"), "{pending_only}");
    let listed: Vec<Value> = browser.get("/api/drafts").await.json().await.unwrap();
    assert!(listed.iter().any(|d| d["id"] == draft.id), "{listed:?}");

    let res = browser
        .post(
            &format!("/api/drafts/{}/reject", draft.id),
            json!({ "reason": "ответили по телефону" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let rows = browser.get("/fragments/queue").await.text().await.unwrap();
    assert!(rows.contains("Очередь пуста"), "{rows}");
}

#[tokio::test]
async fn a_draft_the_buyer_superseded_stays_visible_until_dismissed() {
    let app = web_app().await;
    let browser = login(&app).await;
    let posted = app.buyer_writes("Где мой заказ?").await;
    let first = app.wait_for_draft(&posted.chat_id).await;
    app.buyer_writes_in(&posted.chat_id, "И можно ли поменять адрес?")
        .await;
    app.wait_for_state(first.id, DraftState::Expired).await;

    let listed: Vec<Value> = browser.get("/api/drafts").await.json().await.unwrap();
    assert!(listed.iter().any(|d| d["id"] == first.id), "{listed:?}");
    let rows = browser.get("/fragments/queue").await.text().await.unwrap();
    assert!(
        rows.contains(&format!("data-id=\"{}\"", first.id)),
        "{rows}"
    );
    let actions = browser
        .get(&format!("/fragments/drafts/{}/actions", first.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(actions.contains("data-action=\"dismiss\""), "{actions}");

    let res = browser
        .post(&format!("/api/drafts/{}/dismiss", first.id), json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let listed: Vec<Value> = browser.get("/api/drafts").await.json().await.unwrap();
    assert!(!listed.iter().any(|d| d["id"] == first.id), "{listed:?}");
    let again = browser
        .post(&format!("/api/drafts/{}/dismiss", first.id), json!({}))
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    // The buyer's last message still gets its draft.
    app.drain().await;
}

async fn bearer(app: &TestApp, token: &str, forwarded_for: Option<&str>) -> StatusCode {
    let mut req = client()
        .get(format!("http://{}/api/drafts", app.web.unwrap()))
        .bearer_auth(token);
    if let Some(ip) = forwarded_for {
        req = req.header("X-Forwarded-For", ip);
    }
    req.send().await.unwrap().status()
}

#[tokio::test]
async fn bearer_guesses_count_against_the_login_limit() {
    let app = web_app().await;
    assert_eq!(bearer(&app, WEB_PASSWORD, None).await, StatusCode::OK);
    for _ in 0..3 {
        assert_eq!(bearer(&app, "guess", None).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        bearer(&app, WEB_PASSWORD, None).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the right token waits too"
    );
    assert_eq!(
        try_login(&app, "x", WEB_PASSWORD).await.err(),
        Some(StatusCode::TOO_MANY_REQUESTS),
        "and so does the login form"
    );
}

#[tokio::test]
async fn a_forwarded_address_is_believed_only_from_a_trusted_proxy() {
    // Without trusted proxies, X-Forwarded-For is the guesser's own words.
    let app = web_app().await;
    for i in 0..3 {
        let spoofed = format!("198.51.100.{i}");
        assert_eq!(
            bearer(&app, "guess", Some(&spoofed)).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        bearer(&app, WEB_PASSWORD, Some("198.51.100.99")).await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // Behind a trusted proxy each client has its own limit.
    let app = TestApp::builder()
        .web()
        .config("trusted_proxies = [\"127.0.0.0/8\"]\n")
        .spawn()
        .await;
    for _ in 0..3 {
        assert_eq!(
            bearer(&app, "guess", Some("203.0.113.7")).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        bearer(&app, WEB_PASSWORD, Some("203.0.113.7")).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        bearer(&app, WEB_PASSWORD, Some("203.0.113.8")).await,
        StatusCode::OK,
        "another operator behind the same proxy is not locked out"
    );
    assert_eq!(
        bearer(&app, WEB_PASSWORD, Some("203.0.113.7, 127.0.0.1")).await,
        StatusCode::TOO_MANY_REQUESTS,
        "a chain of trusted proxies still names the guesser"
    );
}

#[tokio::test]
async fn only_the_queues_own_host_names_are_answered() {
    let app = web_app().await;
    let addr = app.web.unwrap();
    let get = |host: String| {
        client()
            .get(format!("http://{addr}/login"))
            .header("Host", host)
            .send()
    };
    assert_eq!(
        get(addr.to_string()).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        get(format!("localhost:{}", addr.port()))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let evil = get("evil.example".into()).await.unwrap();
    assert_eq!(evil.status(), StatusCode::MISDIRECTED_REQUEST);
    let api = client()
        .get(format!("http://{addr}/api/drafts"))
        .header("Host", "evil.example")
        .bearer_auth(WEB_PASSWORD)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(api.json::<Value>().await.unwrap()["error"].is_string());

    let app = TestApp::builder()
        .web()
        .config("allowed_hosts = [\"queue.example.ru\"]\n")
        .spawn()
        .await;
    let addr = app.web.unwrap();
    let status = |host: &'static str| {
        let url = format!("http://{addr}/login");
        async move {
            client()
                .get(url)
                .header("Host", host)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(status("queue.example.ru").await, StatusCode::OK);
    assert_eq!(status("QUEUE.example.ru:443").await, StatusCode::OK);
    assert_eq!(
        status("127.0.0.1").await,
        StatusCode::MISDIRECTED_REQUEST,
        "the configured list replaces the defaults"
    );
}

#[tokio::test]
async fn a_state_changing_request_from_another_origin_is_refused() {
    let app = web_app().await;
    let browser = login(&app).await;
    let posted = app.buyer_writes("Где мой заказ?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    let reject = |origin: String| {
        browser
            .http
            .post(format!("{}/api/drafts/{}/reject", browser.base, draft.id))
            .header(COOKIE, &browser.cookie)
            .header("X-CSRF-Token", &browser.csrf)
            .header("Origin", origin)
            .json(&json!({ "reason": "проверка" }))
            .send()
    };
    let forged = reject("http://evil.example".into()).await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(forged.json::<Value>().await.unwrap()["error"].is_string());
    app.drain().await;
    assert_eq!(app.draft(draft.id).await.state, DraftState::Pending);
    let sandboxed = browser
        .http
        .post(format!("{}/api/drafts/{}/reject", browser.base, draft.id))
        .header(COOKIE, &browser.cookie)
        .header("X-CSRF-Token", &browser.csrf)
        .header("Origin", "null")
        .header("Sec-Fetch-Site", "cross-site")
        .json(&json!({ "reason": "проверка" }))
        .send()
        .await
        .unwrap();
    assert_eq!(sandboxed.status(), StatusCode::FORBIDDEN);
    let own = reject(browser.base.clone()).await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
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
async fn the_cli_refuses_a_risky_edit_with_the_findings_and_takes_an_override() {
    let app = TestApp::spawn().await;
    let posted = app.buyer_writes("Где мой заказ?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    let id = draft.id.to_string();

    let (code, _, err) = cli(&app, &["queue", "approve", &id, "--text", RISKY]).await;
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("ERROR") && err.contains("--override"), "{err}");
    assert_eq!(app.draft(draft.id).await.state, DraftState::Pending);

    let (code, out, err) = cli(
        &app,
        &[
            "queue",
            "approve",
            &id,
            "--text",
            RISKY,
            "--override",
            "скидку согласовал директор",
            "--as",
            "cli:anna",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    app.wait_for_state(draft.id, DraftState::Sent).await;
    assert_eq!(app.sent_texts().await, [RISKY]);
    let detail = agentiq::actions::show(&app.store, draft.id).await.unwrap();
    assert!(
        detail.events.iter().any(|e| e.actor == "cli:anna"
            && e.note
                .as_deref()
                .is_some_and(|n| n.contains("скидку согласовал директор"))),
        "{:?}",
        detail.events
    );
}

#[tokio::test]
async fn typed_text_is_saved_and_moves_to_the_draft_that_supersedes_its_own_with_a_link() {
    let app = web_app().await;
    let browser = login(&app).await;
    let posted = app.buyer_writes("Где мой заказ?").await;
    let first = app.wait_for_draft(&posted.chat_id).await;
    let typed = "Здравствуйте! Заказ уже в пути, номер отслеживания";
    let res = browser.save_working(first.id, typed).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = browser
        .get(&format!("/drafts/{}", first.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(typed), "the editor shows the saved text");

    app.buyer_writes_in(&posted.chat_id, "И можно ли поменять адрес?")
        .await;
    app.wait_for_state(first.id, DraftState::Expired).await;
    let second = wait_until("the new draft", || async {
        let listed: Vec<Value> = browser.get("/api/drafts").await.json().await.unwrap();
        listed
            .iter()
            .find(|d| d["chat_id"] == posted.chat_id && d["state"] == "pending")
            .and_then(|d| d["id"].as_i64())
    })
    .await;
    let stale = browser
        .get(&format!("/fragments/drafts/{}/actions", first.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        stale.contains(&format!("href=\"/drafts/{second}\"")),
        "the stale draft links to the new one: {stale}"
    );
    assert!(stale.contains(typed), "and shows what was typed: {stale}");
    let fresh = browser
        .get(&format!("/fragments/drafts/{second}/actions"))
        .await
        .text()
        .await
        .unwrap();
    let editor = between(&fresh, "<textarea id=\"editor\"", "</textarea>");
    assert!(
        editor.ends_with(typed),
        "the new editor carries the text: {fresh}"
    );
    assert!(fresh.contains(&format!("href=\"/drafts/{}\"", first.id)));

    // A decision ends the typed text's life: the next turn starts clean.
    let res = browser
        .post(
            &format!("/api/drafts/{second}/reject"),
            json!({ "reason": "ответим по телефону" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.buyer_writes_in(&posted.chat_id, "Ау?").await;
    let third = wait_until("the third draft", || async {
        let listed: Vec<Value> = browser.get("/api/drafts").await.json().await.unwrap();
        listed
            .iter()
            .find(|d| d["chat_id"] == posted.chat_id && d["state"] == "pending")
            .and_then(|d| d["id"].as_i64())
    })
    .await;
    let clean = browser
        .get(&format!("/fragments/drafts/{third}/actions"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!clean.contains(typed), "{clean}");
}

#[tokio::test]
async fn saving_typed_text_needs_the_csrf_token_and_names_only_its_field() {
    let app = web_app().await;
    let browser = login(&app).await;
    let posted = app.buyer_writes("Есть синий?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    let path = format!("/api/drafts/{}/working", draft.id);
    let res = browser
        .post_without_csrf(&path, json!({ "text": "x" }))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = browser.post(&path, json!({ "txt": "x" })).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = browser
        .post("/api/drafts/999999/working", json!({ "text": "x" }))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("999999"));
}

#[tokio::test]
async fn a_session_survives_a_daemon_restart_and_an_expired_one_returns_to_its_page() {
    let mut app = TestApp::builder().web_on_known_port().spawn().await;
    let browser = login(&app).await;
    let posted = app.buyer_writes("Где заказ?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    let typed = "Напишу чуть позже, уточняю у склада";
    let res = browser.save_working(draft.id, typed).await;
    assert_eq!(res.status(), StatusCode::OK);

    app.stop().await;
    app.start().await;
    let page = wait_until("the queue after the restart", || async {
        let res = browser.get(&format!("/drafts/{}", draft.id)).await;
        (res.status() == StatusCode::OK).then_some(res)
    })
    .await;
    let html = page.text().await.unwrap();
    assert!(html.contains(typed), "still logged in, text intact");
    let res = browser.save_working(draft.id, typed).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the CSRF token is remembered too"
    );

    let stranger = client()
        .get(format!("{}/drafts/{}", browser.base, draft.id))
        .header(COOKIE, "agentiq_session=forgotten")
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), StatusCode::SEE_OTHER);
    let to = stranger.headers()[LOCATION].to_str().unwrap();
    assert_eq!(to, format!("/login?next=%2Fdrafts%2F{}", draft.id));
    let form = client()
        .get(format!("{}{to}", browser.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let next = between(&form, "name=\"next\" value=\"", "\"").replace("&#x2F;", "/");
    assert_eq!(next, format!("/drafts/{}", draft.id), "{form}");
}

#[tokio::test]
async fn after_login_only_a_page_of_the_queue_is_a_destination() {
    let app = web_app().await;
    let base = format!("http://{}", app.web.unwrap());
    for (next, expected) in [
        ("/drafts/7", "/drafts/7"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ] {
        let http = client();
        let form = http.get(format!("{base}/login")).send().await.unwrap();
        let login_cookie = set_cookie(&form, "agentiq_login").unwrap();
        let html = form.text().await.unwrap();
        let token = between(&html, "name=\"login_csrf\" value=\"", "\"").to_string();
        let res = http
            .post(format!("{base}/login"))
            .header(COOKIE, &login_cookie)
            .form(&[
                ("name", "Оля"),
                ("password", WEB_PASSWORD),
                ("login_csrf", &token),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()[LOCATION], expected, "next = {next}");
    }
}

#[tokio::test]
async fn the_inbox_shows_what_the_buyer_wrote_and_finds_by_name_order_and_text() {
    let app = web_app().await;
    let browser = login(&app).await;
    let posted = app.buyer_writes("Пришёл бракованный чайник").await;
    app.wait_for_draft(&posted.chat_id).await;
    let other = app.buyer_writes("Когда доставка?").await;
    app.wait_for_draft(&other.chat_id).await;
    let rows = browser.get("/fragments/queue").await.text().await.unwrap();
    assert!(rows.contains("Пришёл бракованный чайник"), "{rows}");
    let found = browser
        .get("/fragments/queue?q=%D1%87%D0%B0%D0%B9%D0%BD%D0%B8%D0%BA")
        .await
        .text()
        .await
        .unwrap();
    assert!(found.contains("Пришёл бракованный чайник"));
    assert!(!found.contains("Когда доставка?"), "{found}");
    assert!(rows.contains("ждёт вашего решения"), "{rows}");
}
