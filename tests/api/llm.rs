//! LLM providers end to end: fallback order, cooldown, one retry loop,
//! masking, usage, budgets, structured classification, YandexGPT native.

use agentiq::actions;
use agentiq::domain::{ClassifierSource, DraftState, Flag};
use serde_json::{Value, json};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{ShopSpec, TestApp, binary, wait_until};

fn chat_answer(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "x", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500 }
    }))
}

fn provider(name: &str, server: &MockServer, extra: &str) -> String {
    format!(
        "[llm.providers.{name}]\nbase_url = \"{}/v1\"\nmodel = \"{name}-model\"\ntimeout = \"1s\"\nprice_per_1k_prompt = 0.1\nprice_per_1k_completion = 0.4\n{extra}\n",
        server.uri()
    )
}

async fn requests(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

async fn two_provider_app(primary: &MockServer, fallback: &MockServer) -> TestApp {
    let mut shop = ShopSpec::new("shop");
    shop.extra =
        "drafter = \"llm\"\nllm_provider = \"primary\"\nllm_fallbacks = [\"fallback\"]".into();
    TestApp::builder()
        .config(&format!(
            "[llm]\ncooldown = \"60s\"\n{}{}",
            provider("primary", primary, ""),
            provider("fallback", fallback, "")
        ))
        .shop(shop)
        .spawn()
        .await
}

#[tokio::test]
async fn a_failing_provider_falls_back_in_order_and_is_called_once() {
    let (primary, fallback) = (MockServer::start().await, MockServer::start().await);
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"error": {"message": "boom"}})),
        )
        .mount(&primary)
        .await;
    Mock::given(method("POST"))
        .respond_with(chat_answer(
            "Здравствуйте! Заказ в пути, статус виден в личном кабинете.",
        ))
        .mount(&fallback)
        .await;
    let app = two_provider_app(&primary, &fallback).await;

    let posted = app.buyer_writes("Когда привезут заказ?").await;
    let draft = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(
        draft.text,
        "Здравствуйте! Заказ в пути, статус виден в личном кабинете."
    );
    let detail = actions::show(&app.store, draft.id).await.unwrap();
    let note = detail.draft.drafter_note.unwrap_or_default();
    assert!(
        note.contains("fallback") && note.contains("primary"),
        "{note}"
    );
    assert_eq!(
        requests(&primary).await.len(),
        1,
        "no hidden retries inside the client"
    );
    assert_eq!(requests(&fallback).await.len(), 1);
}

#[tokio::test]
async fn a_rate_limited_provider_cools_down_and_is_skipped_for_the_next_turns() {
    let (primary, fallback) = (MockServer::start().await, MockServer::start().await);
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_json(json!({"error": {"message": "slow down", "type": "rate_limit"}})),
        )
        .mount(&primary)
        .await;
    Mock::given(method("POST"))
        .respond_with(chat_answer("Спасибо, уточним и ответим."))
        .mount(&fallback)
        .await;
    let app = two_provider_app(&primary, &fallback).await;

    for text in [
        "Есть ли синий цвет?",
        "Подойдёт к iPhone 15?",
        "Какой размер взять?",
    ] {
        let posted = app.buyer_writes(text).await;
        app.wait_for_draft(&posted.chat_id).await;
    }
    assert_eq!(
        requests(&primary).await.len(),
        1,
        "one 429, then skipped while cooling down"
    );
    assert_eq!(requests(&fallback).await.len(), 3);
}

#[tokio::test]
async fn personal_data_is_masked_before_the_prompt_leaves() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(chat_answer("Здравствуйте! Уточним и ответим в чате."))
        .mount(&server)
        .await;
    let mut shop = ShopSpec::new("shop");
    shop.extra = "drafter = \"llm\"\nllm_provider = \"p\"".into();
    let app = TestApp::builder()
        .config(&provider("p", &server, ""))
        .shop(shop)
        .spawn()
        .await;

    let posted = app
        .buyer_writes(
            "Перезвоните мне +7 (912) 345-67-89 или напишите на anna.k@mail.ru, где заказ?",
        )
        .await;
    app.wait_for_draft(&posted.chat_id).await;
    let body = requests(&server).await[0].to_string();
    assert!(
        !body.contains("345-67-89") && !body.contains("anna.k@mail.ru"),
        "{body}"
    );
    assert!(
        body.contains("[телефон]") && body.contains("[почта]"),
        "{body}"
    );
}

#[tokio::test]
async fn usage_is_accounted_per_shop_provider_and_day() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(chat_answer("Здравствуйте! Уточним и ответим."))
        .mount(&server)
        .await;
    let mut shop = ShopSpec::new("shop");
    shop.extra = "drafter = \"llm\"\nllm_provider = \"p\"".into();
    let app = TestApp::builder()
        .config(&provider("p", &server, ""))
        .shop(shop)
        .spawn()
        .await;
    for text in ["Где заказ?", "Есть ли размер XL?"] {
        let posted = app.buyer_writes(text).await;
        app.wait_for_draft(&posted.chat_id).await;
    }

    let out = tokio::process::Command::new(binary())
        .args(["usage", "--json", "--config"])
        .arg(app.config_path())
        .output()
        .await
        .unwrap();
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(
        (
            r["shop"].as_str(),
            r["provider"].as_str(),
            r["model"].as_str()
        ),
        (Some("shop"), Some("p"), Some("p-model"))
    );
    assert_eq!(
        (
            r["calls"].as_i64(),
            r["prompt_tokens"].as_i64(),
            r["completion_tokens"].as_i64()
        ),
        (Some(2), Some(2400), Some(600))
    );
    // 2 × (1.2 × 0.1 + 0.3 × 0.4)
    assert!((r["cost"].as_f64().unwrap() - 0.48).abs() < 1e-9, "{r}");
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Moscow").unwrap())
        .strftime("%Y-%m-%d")
        .to_string();
    assert_eq!(r["day"], today.as_str());
}

async fn budget_app(server: &MockServer, on_exhausted: &str) -> TestApp {
    let mut shop = ShopSpec::new("shop");
    shop.extra = format!(
        "drafter = \"llm\"\nllm_provider = \"p\"\nbudget = {{ daily = 0.2, on_exhausted = \"{on_exhausted}\" }}"
    );
    TestApp::builder()
        .config(&provider("p", server, ""))
        .shop(shop)
        .spawn()
        .await
}

#[tokio::test]
async fn at_the_daily_cap_drafting_switches_to_templates_and_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(chat_answer("Ответ от модели."))
        .mount(&server)
        .await;
    let app = budget_app(&server, "template").await;
    let first = app.buyer_writes("Где заказ?").await;
    assert_eq!(
        app.wait_for_draft(&first.chat_id).await.text,
        "Ответ от модели."
    );

    let second = app.buyer_writes("Спасибо большое!").await;
    let d = app.wait_for_draft(&second.chat_id).await;
    assert_eq!(
        d.state,
        DraftState::Pending,
        "the template fallback is never auto-sent"
    );
    let detail = actions::show(&app.store, d.id).await.unwrap();
    assert!(
        detail
            .draft
            .drafter_note
            .unwrap_or_default()
            .contains("дневной бюджет"),
        "budget reason recorded"
    );
    assert_eq!(detail.draft.drafter, "template");
    assert_eq!(requests(&server).await.len(), 1, "no LLM call past the cap");
    let out = tokio::process::Command::new(binary())
        .args(["status", "--config"])
        .arg(app.config_path())
        .output()
        .await
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains("бюджет на LLM исчерпан"), "{status}");
}

#[tokio::test]
async fn at_the_cap_a_queue_only_shop_gets_empty_drafts_for_people_to_write() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(chat_answer("Ответ от модели."))
        .mount(&server)
        .await;
    let app = budget_app(&server, "queue_only").await;
    let first = app.buyer_writes("Где заказ?").await;
    app.wait_for_draft(&first.chat_id).await;
    let second = app.buyer_writes("Подскажите размер").await;
    let d = app.wait_for_draft(&second.chat_id).await;
    assert_eq!((d.state, d.text.as_str()), (DraftState::Pending, ""));
}

async fn classifier_app(server: &MockServer) -> TestApp {
    let mut shop = ShopSpec::new("shop");
    shop.extra = "classifier = \"llm\"\nllm_provider = \"p\"".into();
    TestApp::builder()
        .config(&provider("p", server, ""))
        .shop(shop)
        .spawn()
        .await
}

#[tokio::test]
async fn the_llm_classifier_answers_in_schema_and_decides_the_intent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains("json_schema"))
        .respond_with(chat_answer(
            r#"{"intent": "thanks", "confidence": 0.97, "reasons": ["благодарит"]}"#,
        ))
        .mount(&server)
        .await;
    let app = classifier_app(&server).await;
    let posted = app.buyer_writes("Огромное вам человеческое!").await;

    let d = app.wait_for_draft(&posted.chat_id).await;
    let detail = actions::show(&app.store, d.id).await.unwrap();
    assert_eq!(detail.draft.classification.source, ClassifierSource::Llm);
    assert_eq!(d.intent, "thanks");
    app.wait_for_state(d.id, DraftState::Sent).await;
    let sent = &requests(&server).await[0];
    assert_eq!(sent["response_format"]["type"], "json_schema");
    assert!(
        sent["response_format"]["json_schema"]["schema"]["properties"]["intent"]["enum"]
            .as_array()
            .unwrap()
            .len()
            == 14
    );
}

#[tokio::test]
async fn an_off_schema_classification_gets_one_repair_then_the_rules_and_a_flag() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(chat_answer("Это благодарность, конечно!"))
        .mount(&server)
        .await;
    let app = classifier_app(&server).await;
    // The rules would call this thanks, which the test policy auto-sends.
    let posted = app.buyer_writes("Спасибо большое, всё пришло!").await;

    let d = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(d.state, DraftState::Pending);
    let detail = actions::show(&app.store, d.id).await.unwrap();
    assert!(
        detail
            .draft
            .classification
            .flags
            .contains(&Flag::ClassifierFallback)
    );
    assert_eq!(
        requests(&server).await.len(),
        2,
        "the answer and one repair attempt"
    );
    app.drain().await;
    assert!(app.sent().await.is_empty());
}

#[tokio::test]
async fn yandexgpt_native_drafts_with_logging_off() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/foundationModels/v1/completion"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "result": {
                "alternatives": [{ "message": { "role": "assistant", "text": "Здравствуйте! Заказ уже в пути." }, "status": "ALTERNATIVE_STATUS_FINAL" }],
                "usage": { "inputTextTokens": "412", "completionTokens": "21", "totalTokens": "433" },
                "modelVersion": "23.10.2024"
            }
        })))
        .mount(&server)
        .await;
    let mut shop = ShopSpec::new("shop");
    shop.extra = "drafter = \"llm\"\nllm_provider = \"yandex\"".into();
    let app = TestApp::builder()
        .config(&format!(
            "[llm.providers.yandex]\nkind = \"yandex\"\nbase_url = \"{}\"\nmodel = \"yandexgpt-lite\"\nfolder_id = \"b1gtest\"\nauth_scheme = \"Api-Key\"\n",
            server.uri()
        ))
        .shop(shop)
        .spawn()
        .await;
    let posted = app.buyer_writes("Где мой заказ?").await;

    let d = app.wait_for_draft(&posted.chat_id).await;
    assert_eq!(d.text, "Здравствуйте! Заказ уже в пути.");
    let received = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        received.headers.get("x-data-logging-enabled").unwrap(),
        "false"
    );
    let body: Value = serde_json::from_slice(&received.body).unwrap();
    assert_eq!(body["modelUri"], "gpt://b1gtest/yandexgpt-lite/latest");
    let usage = wait_until("usage to be recorded", || async {
        let n: i64 = app
            .count("SELECT COALESCE(SUM(prompt_tokens), 0) FROM llm_usage")
            .await;
        (n > 0).then_some(n)
    })
    .await;
    assert_eq!(usage, 412, "token counts parsed from strings");
}
