//! Review and question clients for Ozon, Yandex Market and Avito against the
//! simulator over real sockets, seeded from `shared/data/wb-reviews.jsonl`.

use std::collections::BTreeMap;
use std::time::Duration;

use agentiq::marketplace::feedback::avito::{AvitoFeedback, AvitoFeedbackConfig};
use agentiq::marketplace::feedback::ozon::{OzonFeedback, OzonFeedbackConfig};
use agentiq::marketplace::feedback::yandex_market::{
    YandexMarketFeedback, YandexMarketFeedbackConfig,
};
use agentiq::marketplace::feedback::{FeedbackError, RemoteReview};
use agentiq::sim::{RateConfig, Sim, SimConfig, SimHandle};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::helpers::{ShopSpec, repo};

struct World {
    sim: SimHandle,
    http: reqwest::Client,
    spec: ShopSpec,
}

async fn world_with(tweak: impl FnOnce(&mut SimConfig)) -> World {
    let spec = ShopSpec::new("shop");
    let mut config = SimConfig {
        sellers: BTreeMap::from([(spec.id.clone(), spec.seller_config())]),
        ..SimConfig::documented()
    };
    tweak(&mut config);
    let sim = Sim::new(config)
        .spawn("127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts");
    World {
        sim,
        http: reqwest::Client::new(),
        spec,
    }
}

async fn world() -> World {
    world_with(|_| {}).await
}

/// The first rows of the real reviews file.
fn seed_rows(n: usize) -> Vec<Value> {
    let text = std::fs::read_to_string(seed_path()).expect("the reviews fixture");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn seed_path() -> String {
    repo()
        .join("tests/fixtures/wb-reviews.jsonl")
        .to_string_lossy()
        .into_owned()
}

impl World {
    async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.sim.url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    async fn seed(&self, marketplace: &str, n: usize) -> Vec<String> {
        let body = json!({ "marketplace": marketplace, "path": seed_path(), "limit": n });
        let ids = self.control("/_sim/feedback/seed", body).await["ids"].clone();
        serde_json::from_value(ids).unwrap()
    }

    async fn fault(&self, spec: Value) {
        self.control("/_sim/faults", spec).await;
    }

    /// Answers the simulator has on record for one marketplace.
    async fn answers(&self, marketplace: &str) -> Vec<Value> {
        self.http
            .get(format!(
                "{}/_sim/feedback/answers?marketplace={marketplace}",
                self.sim.url()
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Live answers with this text on this review or question.
    async fn published(&self, marketplace: &str, target: &str, text: &str) -> Vec<Value> {
        self.answers(marketplace)
            .await
            .into_iter()
            .filter(|a| a["target_id"] == target && a["text"] == text && a["deleted"] == false)
            .collect()
    }

    fn ozon(&self, api_key: &str) -> OzonFeedback {
        OzonFeedback::new(OzonFeedbackConfig::new(
            &self.sim.url(),
            &self.spec.ozon_client_id(),
            SecretString::from(api_key),
        ))
    }

    fn ym(&self, api_key: &str) -> YandexMarketFeedback {
        YandexMarketFeedback::new(YandexMarketFeedbackConfig::new(
            &self.sim.url(),
            self.spec.ym_business_id(),
            SecretString::from(api_key),
        ))
    }

    fn avito(&self, secret: &str) -> AvitoFeedback {
        AvitoFeedback::new(AvitoFeedbackConfig::new(
            &self.sim.url(),
            &format!("client-{}", self.spec.id),
            SecretString::from(secret),
        ))
    }
}

/// The listed reviews carry the seeded rows' ratings and texts, in order.
fn assert_seeded(reviews: &[RemoteReview], rows: &[Value], with_pros_and_cons: bool) {
    assert_eq!(reviews.len(), rows.len());
    for (review, row) in reviews.iter().zip(rows) {
        assert_eq!(u64::from(review.rating), row["rating"].as_u64().unwrap());
        assert_eq!(review.text, row["text"].as_str().unwrap());
        assert!(!review.answered);
        assert!(review.product_id.is_some());
        if with_pros_and_cons {
            let pros = row["pros"].as_str().filter(|s| !s.is_empty());
            assert_eq!(review.pros.as_deref(), pros);
        }
    }
}

fn retry_after(e: FeedbackError) -> Duration {
    match e {
        FeedbackError::RateLimited { retry_after } => retry_after,
        other => panic!("expected a rate limit, got {other:?}"),
    }
}

#[tokio::test]
async fn ozon_review_is_listed_answered_once_reconciled_and_deleted() {
    let w = world().await;
    let ids = w.seed("ozon", 5).await;
    let client = w.ozon(&w.spec.token);

    let page = client.unanswered_reviews(None).await.unwrap();
    assert_seeded(&page.items, &seed_rows(5), false);
    assert_eq!(
        page.items.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        ids
    );
    assert!(!page.more);

    let review = &page.items[0].id;
    let text = "Спасибо, что выбрали наш фонарь!";
    let comment = client.answer_review(review, text).await.unwrap();
    let published = w.published("ozon", review, text).await;
    assert_eq!(published.len(), 1, "published exactly once: {published:?}");
    assert_eq!(published[0]["answer_id"], comment.as_str());
    assert_eq!(published[0]["via"], "api");

    let listed = client.review_answers(review).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].id.as_str(), listed[0].text.as_str()),
        (comment.as_str(), text)
    );
    assert!(listed[0].by_seller);

    let again = client.unanswered_reviews(None).await.unwrap();
    assert_eq!(again.items.len(), 4, "the answered review is processed");
    let after = client
        .unanswered_reviews(page.cursor.as_deref())
        .await
        .unwrap();
    assert!(after.items.is_empty(), "nothing new after the cursor");

    client.delete_review_answer(&comment).await.unwrap();
    assert!(w.published("ozon", review, text).await.is_empty());
    assert!(client.review_answers(review).await.unwrap().is_empty());
    let gone = client.delete_review_answer(&comment).await.unwrap_err();
    assert!(matches!(gone, FeedbackError::NotFound(_)), "{gone:?}");
}

#[tokio::test]
async fn ozon_review_answered_in_the_portal_leaves_the_unanswered_list() {
    let w = world().await;
    let ids = w.seed("ozon", 2).await;
    let body = json!({ "marketplace": "ozon", "kind": "review", "id": ids[1], "text": "Ответ из кабинета" });
    w.control("/_sim/feedback/portal-answers", body).await;
    let client = w.ozon(&w.spec.token);
    let page = client.unanswered_reviews(None).await.unwrap();
    assert_eq!(
        page.items.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        [ids[0].as_str()]
    );
    let answers = client.review_answers(&ids[1]).await.unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].text, "Ответ из кабинета");
}

#[tokio::test]
async fn ozon_question_is_answered_once_listed_and_deleted() {
    let w = world().await;
    let question = w
        .control(
            "/_sim/feedback/questions",
            json!({ "marketplace": "ozon", "text": "Сколько держит заряд на максимуме?" }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let client = w.ozon(&w.spec.token);
    let page = client.unanswered_questions(None).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let q = &page.items[0];
    assert_eq!((q.id.as_str(), q.answered), (question.as_str(), false));
    let sku = q.product_id.clone().expect("a question names its SKU");

    let short = client
        .answer_question(&question, &sku, "Д")
        .await
        .unwrap_err();
    assert!(
        matches!(short, FeedbackError::Other { status: 400, .. }),
        "the spec's 2-character minimum: {short:?}"
    );
    let text = "Около четырёх часов на максимальной яркости.";
    let answer = client.answer_question(&question, &sku, text).await.unwrap();
    assert_eq!(w.published("ozon", &question, text).await.len(), 1);
    let listed = client.question_answers(&question, &sku).await.unwrap();
    assert_eq!(
        listed.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        [answer.as_str()]
    );
    assert!(
        client
            .unanswered_questions(None)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    client.delete_question_answer(&answer, &sku).await.unwrap();
    assert!(w.published("ozon", &question, text).await.is_empty());
    assert!(
        client
            .question_answers(&question, &sku)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn ozon_without_premium_plus_reports_the_subscription() {
    let w = world().await;
    w.seed("ozon", 1).await;
    w.control(
        "/_sim/feedback/subscription",
        json!({ "marketplace": "ozon", "active": false }),
    )
    .await;
    let client = w.ozon(&w.spec.token);
    let e = client.unanswered_reviews(None).await.unwrap_err();
    assert!(matches!(e, FeedbackError::SubscriptionRequired(_)), "{e:?}");
    let e = client.unanswered_questions(None).await.unwrap_err();
    assert!(matches!(e, FeedbackError::SubscriptionRequired(_)), "{e:?}");
}

#[tokio::test]
async fn ozon_429_is_reported_with_its_retry_after_and_a_wrong_key_as_auth() {
    let w = world().await;
    w.seed("ozon", 1).await;
    w.fault(json!({ "kind": "status", "marketplace": "ozon", "path": "/v1/review/list", "status": 429, "retry_after_secs": 7 }))
        .await;
    let client = w.ozon(&w.spec.token);
    let e = client.unanswered_reviews(None).await.unwrap_err();
    assert_eq!(retry_after(e), Duration::from_secs(7));
    assert_eq!(client.request_counts().throttled, 1);

    let e = w
        .ozon("wrong-key")
        .unanswered_reviews(None)
        .await
        .unwrap_err();
    assert!(matches!(e, FeedbackError::AuthRejected(_)), "{e:?}");
}

#[tokio::test]
async fn the_simulator_refuses_requests_without_the_right_auth() {
    let w = world().await;
    let url = w.sim.url();
    let ozon = w
        .http
        .post(format!("{url}/v1/review/list"))
        .json(&json!({ "limit": 20 }))
        .send()
        .await
        .unwrap();
    assert_eq!(ozon.status(), 401);
    assert_eq!(ozon.json::<Value>().await.unwrap()["code"], 16);

    let ym = w
        .http
        .post(format!(
            "{url}/v2/businesses/{}/goods-feedback",
            w.spec.ym_business_id()
        ))
        .header("Api-Key", "not-the-key")
        .send()
        .await
        .unwrap();
    assert_eq!(ym.status(), 401);
    assert_eq!(ym.json::<Value>().await.unwrap()["status"], "ERROR");
    let other_business = w
        .http
        .post(format!("{url}/v2/businesses/1/goods-feedback"))
        .header("Api-Key", &w.spec.token)
        .send()
        .await
        .unwrap();
    assert_eq!(other_business.status(), 403);

    let avito = w
        .http
        .get(format!("{url}/ratings/v1/reviews?offset=0&limit=20"))
        .bearer_auth("made-up-token")
        .send()
        .await
        .unwrap();
    assert_eq!(avito.status(), 403);
    let avito = w
        .http
        .get(format!("{url}/ratings/v1/reviews?offset=0&limit=20"))
        .send()
        .await
        .unwrap();
    assert_eq!(avito.status(), 401);
}

#[tokio::test]
async fn yandex_market_review_is_answered_once_edited_reconciled_and_deleted() {
    let w = world().await;
    let ids = w.seed("ym", 6).await;
    let client = w.ym(&w.spec.token);

    let page = client.unanswered_reviews(None).await.unwrap();
    assert_seeded(&page.items, &seed_rows(6), true);
    assert_eq!(
        page.items.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        ids
    );

    let review = &page.items[2].id;
    let text = "Спасибо за подробный отзыв!";
    let comment = client.answer_review(review, text).await.unwrap();
    assert_eq!(w.published("ym", review, text).await.len(), 1);
    let listed = client.review_answers(review).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, comment);
    assert_eq!(listed[0].can_modify, Some(true));
    assert!(listed[0].by_seller);

    let edited = "Спасибо за подробный отзыв! Замену отправили.";
    client
        .edit_review_answer(review, &comment, edited)
        .await
        .unwrap();
    let answers = w.answers("ym").await;
    assert_eq!(
        answers.len(),
        1,
        "an edit is not a second answer: {answers:?}"
    );
    assert_eq!(
        (answers[0]["text"].as_str(), answers[0]["edits"].as_u64()),
        (Some(edited), Some(1))
    );

    let remaining = client.unanswered_reviews(None).await.unwrap();
    assert_eq!(remaining.items.len(), 5);
    assert!(remaining.items.iter().all(|r| &r.id != review));

    client.delete_review_answer(&comment).await.unwrap();
    assert!(client.review_answers(review).await.unwrap().is_empty());
    assert_eq!(w.answers("ym").await[0]["deleted"], true);
}

#[tokio::test]
async fn yandex_market_pages_stay_within_the_call_budget_and_resume_from_the_cursor() {
    let w = world().await;
    let ids = w.seed("ym", 40).await;
    for i in 0..230 {
        let body = json!({ "marketplace": "ym", "rating": 5, "text": format!("Отзыв {i}") });
        w.control("/_sim/feedback/reviews", body).await;
    }
    let client = w.ym(&w.spec.token);
    let first = client.unanswered_reviews(None).await.unwrap();
    assert_eq!(first.items.len(), 250, "five pages of 50");
    assert!(first.more);
    assert_eq!(first.items[0].id, ids[0]);
    let rest = client
        .unanswered_reviews(first.cursor.as_deref())
        .await
        .unwrap();
    assert!(!rest.more);
    let mut seen: Vec<String> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|r| r.id.clone())
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(
        seen.len(),
        270,
        "every review reached, repeats told apart by id"
    );
}

#[tokio::test]
async fn yandex_market_question_is_answered_edited_and_deleted() {
    let w = world().await;
    let question = w
        .control(
            "/_sim/feedback/questions",
            json!({ "marketplace": "ym", "text": "Подойдёт ли к велосипедному шлему?" }),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let client = w.ym(&w.spec.token);
    let page = client.unanswered_questions(None).await.unwrap();
    assert_eq!(
        page.items.iter().map(|q| q.id.as_str()).collect::<Vec<_>>(),
        [question.as_str()]
    );

    let answer = client
        .answer_question(&question, "Да, ремешок регулируется.")
        .await
        .unwrap();
    assert_eq!(
        w.published("ym", &question, "Да, ремешок регулируется.")
            .await
            .len(),
        1
    );
    client
        .edit_question_answer(&answer, "Да, подойдёт: ремешок регулируется.")
        .await
        .unwrap();
    let listed = client.question_answers(&question).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].text, "Да, подойдёт: ремешок регулируется.");
    assert!(
        client
            .unanswered_questions(None)
            .await
            .unwrap()
            .items
            .is_empty()
    );

    client.delete_question_answer(&answer).await.unwrap();
    assert!(client.question_answers(&question).await.unwrap().is_empty());
    assert_eq!(
        client.unanswered_questions(None).await.unwrap().items.len(),
        1
    );
}

#[tokio::test]
async fn yandex_market_hourly_limit_is_reported_with_the_wait_until_its_end() {
    let w = world_with(|c| c.ym_hourly_limit = Some(2)).await;
    w.seed("ym", 1).await;
    let client = w.ym(&w.spec.token);
    client.unanswered_reviews(None).await.unwrap();
    client.unanswered_reviews(None).await.unwrap();
    let wait = retry_after(client.unanswered_reviews(None).await.unwrap_err());
    assert!(
        wait > Duration::from_secs(3500) && wait <= Duration::from_secs(3601),
        "the rest of the hour: {wait:?}"
    );
    assert_eq!(client.request_counts().throttled, 1);

    let w = world().await;
    w.fault(json!({ "kind": "status", "marketplace": "yandex_market", "path": "goods-questions", "status": 420, "retry_after_secs": 30 }))
        .await;
    let wait = retry_after(
        w.ym(&w.spec.token)
            .unanswered_questions(None)
            .await
            .unwrap_err(),
    );
    assert!(
        wait >= Duration::from_secs(29) && wait <= Duration::from_secs(31),
        "{wait:?}"
    );
    let e = w.ym("wrong").unanswered_reviews(None).await.unwrap_err();
    assert!(matches!(e, FeedbackError::AuthRejected(_)), "{e:?}");
}

#[tokio::test]
async fn avito_review_is_answered_once_reconciled_and_deleted() {
    let w = world().await;
    let ids = w.seed("avito", 4).await;
    let client = w.avito(&w.spec.token);

    let page = client.unanswered_reviews(None).await.unwrap();
    let mut rows = seed_rows(4);
    rows.reverse();
    assert_seeded(&page.items, &rows, false);
    assert_eq!(page.items[0].id, ids[3], "newest first");
    assert!(page.items[0].product_name.is_some());

    let review = page.items[1].id.clone();
    let text = "Спасибо за сделку!";
    let answer = client.answer_review(&review, text).await.unwrap();
    assert_eq!(w.published("avito", &review, text).await.len(), 1);
    let second = client
        .answer_review(&review, "Ещё раз спасибо")
        .await
        .unwrap_err();
    assert!(
        matches!(second, FeedbackError::Other { status: 400, .. }),
        "one answer per review: {second:?}"
    );
    let listed = client.review_answers(&review).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|a| (a.id.as_str(), a.text.as_str()))
            .collect::<Vec<_>>(),
        [(answer.as_str(), text)]
    );

    let again = client.unanswered_reviews(None).await.unwrap();
    assert_eq!(again.items.len(), 3);
    let newer = client
        .unanswered_reviews(page.cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(
        newer
            .items
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        [ids[3].as_str()],
        "only the newest second is read again"
    );

    client.delete_review_answer(&answer).await.unwrap();
    assert!(client.review_answers(&review).await.unwrap().is_empty());
    assert_eq!(w.answers("avito").await[0]["deleted"], true);
    let missing = client.review_answers("1").await.unwrap_err();
    assert!(matches!(missing, FeedbackError::NotFound(_)), "{missing:?}");
}

#[tokio::test]
async fn avito_429_carries_retry_after_and_a_wrong_secret_is_auth() {
    let w = world_with(|c| {
        c.avito_rate = RateConfig {
            burst: 2,
            per_second: 0.05,
        }
    })
    .await;
    w.seed("avito", 1).await;
    let client = w.avito(&w.spec.token);
    client.unanswered_reviews(None).await.unwrap();
    client.unanswered_reviews(None).await.unwrap();
    let wait = retry_after(client.unanswered_reviews(None).await.unwrap_err());
    assert!(
        wait >= Duration::from_secs(15),
        "the bucket's refill: {wait:?}"
    );

    let w = world().await;
    w.fault(json!({ "kind": "status", "marketplace": "avito", "path": "/ratings/v1/reviews", "status": 429, "retry_after_secs": 9 }))
        .await;
    let client = w.avito(&w.spec.token);
    assert_eq!(
        retry_after(client.unanswered_reviews(None).await.unwrap_err()),
        Duration::from_secs(9)
    );
    let e = w
        .avito("wrong-secret")
        .unanswered_reviews(None)
        .await
        .unwrap_err();
    assert!(matches!(e, FeedbackError::AuthRejected(_)), "{e:?}");
}
