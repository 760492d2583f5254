//! Reviews and product questions on Ozon, Yandex Market and Avito, each at
//! its real paths in its own file, over one shared board per account: the
//! reviews and questions buyers left and every answer the seller gave,
//! through the API or in the seller portal. `docs/reviews-marketplaces.md`
//! lists what each spec says and where the simulator had to assume.
//!
//! Control API (JSON):
//! - `POST /_sim/feedback/reviews` — a buyer leaves a review.
//! - `POST /_sim/feedback/seed` — reviews from a JSONL file of real ones (`seed.rs`).
//! - `POST /_sim/feedback/questions` — a buyer asks about a product.
//! - `POST /_sim/feedback/portal-answers` — a person answers in the seller portal.
//! - `GET  /_sim/feedback/answers` — every answer given, live or deleted.
//! - `POST /_sim/feedback/delete-answer` — an answer is removed in the portal.
//! - `POST /_sim/feedback/subscription` — the seller's Ozon Premium Plus starts or ends.

mod avito;
mod ozon;
pub mod seed;
mod yandex_market;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::{SellerConfig, Sim, SimConfig, now};
use crate::domain::{Marketplace, Millis};

/// Every seller's review and question accounts.
pub(crate) struct Accounts {
    ozon: ozon::Account,
    ym: yandex_market::Account,
    avito: avito::Account,
}

impl Accounts {
    pub(crate) fn new(seller: &SellerConfig, config: &SimConfig) -> Accounts {
        Accounts {
            ozon: ozon::Account::new(seller, config),
            ym: yandex_market::Account::new(seller, config),
            avito: avito::Account::new(config),
        }
    }

    fn board(&mut self, marketplace: Marketplace) -> Result<&mut Board, String> {
        match marketplace {
            Marketplace::Ozon => Ok(&mut self.ozon.board),
            Marketplace::YandexMarket => Ok(&mut self.ym.board),
            Marketplace::Avito => Ok(&mut self.avito.board),
            Marketplace::Wildberries => {
                Err("the simulator serves Wildberries reviews elsewhere".into())
            }
        }
    }

    fn boards(&self) -> [(Marketplace, &Board); 3] {
        [
            (Marketplace::Ozon, &self.ozon.board),
            (Marketplace::YandexMarket, &self.ym.board),
            (Marketplace::Avito, &self.avito.board),
        ]
    }
}

/// How a marketplace writes its review and question ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdStyle {
    /// Decimal integers (Yandex Market, Avito).
    Number,
    /// UUIDs in time order, like Ozon's `019294ff-6888-7009-…`.
    Uuid,
}

#[derive(Debug, Clone)]
pub(crate) struct Product {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// Through the marketplace's API (our daemon, or any other client).
    Api,
    /// By a person in the seller portal.
    Portal,
}

#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub id: u64,
    pub text: String,
    pub at: Millis,
    pub via: Via,
    pub deleted: bool,
    pub edits: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct Review {
    pub id: u64,
    pub rating: u8,
    pub text: String,
    pub pros: String,
    pub cons: String,
    pub photos: u32,
    pub product: Product,
    pub author: String,
    pub at: Millis,
    /// Ozon's PROCESSED, Yandex Market's `needReaction: false`.
    pub processed: bool,
    pub answers: Vec<Answer>,
}

#[derive(Debug, Clone)]
pub(crate) struct Question {
    pub id: u64,
    pub text: String,
    pub product: Product,
    pub author: String,
    pub at: Millis,
    pub viewed: bool,
    pub answers: Vec<Answer>,
}

impl Review {
    pub fn live_answers(&self) -> impl Iterator<Item = &Answer> {
        self.answers.iter().filter(|a| !a.deleted)
    }
}

impl Question {
    pub fn live_answers(&self) -> impl Iterator<Item = &Answer> {
        self.answers.iter().filter(|a| !a.deleted)
    }
}

/// One account's reviews and questions, in the order they were left.
pub(crate) struct Board {
    style: IdStyle,
    products: Vec<Product>,
    pub reviews: Vec<Review>,
    pub questions: Vec<Question>,
    next_id: u64,
}

/// What the control API takes for a new review.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewReview {
    pub marketplace: Marketplace,
    #[serde(default)]
    pub seller: Option<String>,
    pub rating: u8,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub pros: String,
    #[serde(default)]
    pub cons: String,
    #[serde(default)]
    pub photos: u32,
    /// One of the account's products (as the API names it); the first when absent.
    #[serde(default)]
    pub product_id: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
    /// When it was left (ms); now when absent.
    #[serde(default)]
    pub at: Option<Millis>,
}

impl Board {
    fn new(style: IdStyle, first_id: u64, products: Vec<Product>) -> Board {
        Board {
            style,
            products,
            reviews: Vec::new(),
            questions: Vec::new(),
            next_id: first_id,
        }
    }

    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// An id as the marketplace writes it.
    pub fn public_id(&self, id: u64) -> String {
        match self.style {
            IdStyle::Number => id.to_string(),
            // Ids stay far below 2^48, so the last group holds all of it.
            IdStyle::Uuid => format!("01930000-0000-7000-8000-{:012x}", id & 0xffff_ffff_ffff),
        }
    }

    /// The id behind an id as the marketplace writes it.
    pub fn parse_id(&self, s: &str) -> Option<u64> {
        let s = s.trim();
        match self.style {
            IdStyle::Number => s.parse().ok(),
            IdStyle::Uuid => {
                let id = u64::from_str_radix(s.rsplit('-').next()?, 16).ok()?;
                (self.public_id(id) == s).then_some(id)
            }
        }
    }

    fn product(&self, id: Option<&str>, nth: usize) -> Result<Product, String> {
        match id {
            Some(id) => self
                .products
                .iter()
                .find(|p| p.id == id)
                .cloned()
                .ok_or_else(|| format!("no product `{id}` in this account")),
            None => Ok(self.products[nth % self.products.len()].clone()),
        }
    }

    pub fn add_review(&mut self, r: &NewReview) -> Result<String, String> {
        if !(1..=5).contains(&r.rating) {
            return Err("rating must be from 1 to 5".into());
        }
        let product = self.product(r.product_id.as_deref(), self.reviews.len())?;
        let id = self.next();
        self.reviews.push(Review {
            id,
            rating: r.rating,
            text: r.text.clone(),
            pros: r.pros.clone(),
            cons: r.cons.clone(),
            photos: r.photos,
            product,
            author: r.author.clone().unwrap_or_else(|| "Покупатель".into()),
            at: r.at.unwrap_or_else(now),
            processed: false,
            answers: Vec::new(),
        });
        Ok(self.public_id(id))
    }

    pub fn add_question(&mut self, q: &NewQuestion) -> Result<String, String> {
        if q.text.trim().is_empty() {
            return Err("a question needs text".into());
        }
        let product = self.product(q.product_id.as_deref(), self.questions.len())?;
        let id = self.next();
        self.questions.push(Question {
            id,
            text: q.text.clone(),
            product,
            author: "Покупатель".into(),
            at: q.at.unwrap_or_else(now),
            viewed: false,
            answers: Vec::new(),
        });
        Ok(self.public_id(id))
    }

    pub fn review_mut(&mut self, id: u64) -> Option<&mut Review> {
        self.reviews.iter_mut().find(|r| r.id == id)
    }

    pub fn question_mut(&mut self, id: u64) -> Option<&mut Question> {
        self.questions.iter_mut().find(|q| q.id == id)
    }

    pub fn answer_review(&mut self, id: u64, text: &str, via: Via) -> Option<u64> {
        let answer_id = self.next();
        let review = self.review_mut(id)?;
        review.answers.push(new_answer(answer_id, text, via));
        review.processed = true;
        Some(answer_id)
    }

    pub fn answer_question(&mut self, id: u64, text: &str, via: Via) -> Option<u64> {
        let answer_id = self.next();
        let question = self.question_mut(id)?;
        question.answers.push(new_answer(answer_id, text, via));
        question.viewed = true;
        Some(answer_id)
    }

    /// A live answer, wherever it is.
    pub fn answer_mut(&mut self, answer_id: u64) -> Option<&mut Answer> {
        self.reviews
            .iter_mut()
            .flat_map(|r| r.answers.iter_mut())
            .chain(self.questions.iter_mut().flat_map(|q| q.answers.iter_mut()))
            .find(|a| a.id == answer_id && !a.deleted)
    }

    /// Delete a live answer; `false` when there is none with that id.
    pub fn delete_answer(&mut self, answer_id: u64) -> bool {
        match self.answer_mut(answer_id) {
            Some(a) => {
                a.deleted = true;
                true
            }
            None => false,
        }
    }

    fn records(&self, seller: &str, marketplace: Marketplace) -> Vec<AnswerRecord> {
        let record = |kind: &'static str, target: u64, a: &Answer| AnswerRecord {
            seller: seller.to_string(),
            marketplace,
            kind,
            target_id: self.public_id(target),
            answer_id: a.id.to_string(),
            text: a.text.clone(),
            via: a.via,
            deleted: a.deleted,
            edits: a.edits,
            at: a.at,
        };
        let reviews = self
            .reviews
            .iter()
            .flat_map(|r| r.answers.iter().map(|a| record("review", r.id, a)));
        let questions = self
            .questions
            .iter()
            .flat_map(|q| q.answers.iter().map(|a| record("question", q.id, a)));
        reviews.chain(questions).collect()
    }
}

fn new_answer(id: u64, text: &str, via: Via) -> Answer {
    Answer {
        id,
        text: text.to_string(),
        at: now(),
        via,
        deleted: false,
        edits: 0,
    }
}

/// An RFC 3339 time in UTC, as Ozon and Yandex Market write them.
pub(crate) fn rfc3339(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewQuestion {
    pub marketplace: Marketplace,
    #[serde(default)]
    pub seller: Option<String>,
    pub text: String,
    #[serde(default)]
    pub product_id: Option<String>,
    #[serde(default)]
    pub at: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Review,
    Question,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PortalAnswer {
    pub marketplace: Marketplace,
    #[serde(default)]
    pub seller: Option<String>,
    pub kind: Kind,
    /// The review's or question's id as the API writes it.
    pub id: String,
    pub text: String,
}

/// An answer the seller side gave, for tests and the demo.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerRecord {
    pub seller: String,
    pub marketplace: Marketplace,
    /// `review` or `question`.
    pub kind: &'static str,
    pub target_id: String,
    pub answer_id: String,
    pub text: String,
    pub via: Via,
    pub deleted: bool,
    pub edits: u32,
    pub at: Millis,
}

#[derive(Debug, Clone, Deserialize)]
struct SeedRequest {
    marketplace: Marketplace,
    #[serde(default)]
    seller: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
struct DeleteAnswer {
    marketplace: Marketplace,
    #[serde(default)]
    seller: Option<String>,
    answer_id: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Subscription {
    marketplace: Marketplace,
    #[serde(default)]
    seller: Option<String>,
    active: bool,
}

#[derive(Debug, Deserialize)]
struct AnswersQuery {
    marketplace: Option<Marketplace>,
}

impl Sim {
    /// Run `f` on a seller's board on one marketplace.
    fn with_board<T>(
        &self,
        seller: Option<&str>,
        marketplace: Marketplace,
        f: impl FnOnce(&mut Board) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut state = self.lock();
        let idx = state.seller_index(seller)?;
        f(state.sellers[idx].feedback.board(marketplace)?)
    }

    /// A buyer leaves a review; returns its id as the API writes it.
    pub fn add_review(&self, review: &NewReview) -> Result<String, String> {
        self.with_board(review.seller.as_deref(), review.marketplace, |b| {
            b.add_review(review)
        })
    }

    /// A buyer asks about a product; returns the question's id.
    pub fn add_question(&self, question: &NewQuestion) -> Result<String, String> {
        self.with_board(question.seller.as_deref(), question.marketplace, |b| {
            b.add_question(question)
        })
    }

    /// A person answers in the seller portal; returns the answer's id.
    pub fn portal_answer(&self, req: &PortalAnswer) -> Result<String, String> {
        self.with_board(req.seller.as_deref(), req.marketplace, |b| {
            let id = b
                .parse_id(&req.id)
                .ok_or_else(|| format!("no {:?} `{}`", req.kind, req.id))?;
            let answered = match req.kind {
                Kind::Review => b.answer_review(id, &req.text, Via::Portal),
                Kind::Question => b.answer_question(id, &req.text, Via::Portal),
            };
            answered
                .map(|a| a.to_string())
                .ok_or_else(|| format!("no {:?} `{}`", req.kind, req.id))
        })
    }

    /// Reviews from real ones (`seed.rs`), one an hour up to now, each about
    /// the account's next product; their ids.
    pub fn seed_feedback(
        &self,
        marketplace: Marketplace,
        seller: Option<&str>,
        rows: &[seed::SeedReview],
    ) -> Result<Vec<String>, String> {
        self.with_board(seller, marketplace, |b| {
            let hour = 3600 * 1000;
            let start = now() - rows.len() as Millis * hour;
            rows.iter()
                .enumerate()
                .map(|(i, row)| {
                    b.add_review(&NewReview {
                        marketplace,
                        seller: None,
                        rating: row.rating,
                        text: row.text.clone(),
                        pros: row.pros.clone(),
                        cons: row.cons.clone(),
                        photos: 0,
                        product_id: None,
                        author: None,
                        at: Some(start + i as Millis * hour),
                    })
                })
                .collect()
        })
    }

    /// Every answer given on the review and question boards.
    pub fn feedback_answers(&self) -> Vec<AnswerRecord> {
        let state = self.lock();
        state
            .sellers
            .iter()
            .flat_map(|s| {
                s.feedback
                    .boards()
                    .into_iter()
                    .flat_map(move |(m, b)| b.records(&s.name, m))
            })
            .collect()
    }
}

pub(super) fn routes() -> axum::Router<Sim> {
    axum::Router::new()
        .route("/_sim/feedback/reviews", post(post_review))
        .route("/_sim/feedback/seed", post(post_seed))
        .route("/_sim/feedback/questions", post(post_question))
        .route("/_sim/feedback/portal-answers", post(post_portal_answer))
        .route("/_sim/feedback/answers", get(get_answers))
        .route("/_sim/feedback/delete-answer", post(post_delete_answer))
        .route("/_sim/feedback/subscription", post(post_subscription))
        .merge(ozon::routes())
        .merge(yandex_market::routes())
        .merge(avito::routes())
}

fn created(result: Result<serde_json::Value, String>) -> Response {
    match result {
        Ok(body) => (StatusCode::CREATED, Json(body)).into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "error": e })),
        )
            .into_response(),
    }
}

async fn post_review(State(sim): State<Sim>, Json(req): Json<NewReview>) -> Response {
    created(
        sim.add_review(&req)
            .map(|id| serde_json::json!({ "id": id })),
    )
}

async fn post_question(State(sim): State<Sim>, Json(req): Json<NewQuestion>) -> Response {
    created(
        sim.add_question(&req)
            .map(|id| serde_json::json!({ "id": id })),
    )
}

async fn post_seed(State(sim): State<Sim>, Json(req): Json<SeedRequest>) -> Response {
    let rows = match req.path.as_deref() {
        Some(path) => match seed::load(std::path::Path::new(path)) {
            Ok(rows) => rows,
            Err(e) => return created(Err(e)),
        },
        None => seed::bundled(),
    };
    let limit = req.limit.unwrap_or(rows.len());
    let result = sim.seed_feedback(
        req.marketplace,
        req.seller.as_deref(),
        &rows[..limit.min(rows.len())],
    );
    created(result.map(|ids| serde_json::json!({ "ids": ids })))
}

async fn post_portal_answer(State(sim): State<Sim>, Json(req): Json<PortalAnswer>) -> Response {
    created(
        sim.portal_answer(&req)
            .map(|id| serde_json::json!({ "answer_id": id })),
    )
}

async fn get_answers(
    State(sim): State<Sim>,
    Query(q): Query<AnswersQuery>,
) -> Json<Vec<AnswerRecord>> {
    Json(
        sim.feedback_answers()
            .into_iter()
            .filter(|a| q.marketplace.is_none_or(|m| m == a.marketplace))
            .collect(),
    )
}

async fn post_delete_answer(State(sim): State<Sim>, Json(req): Json<DeleteAnswer>) -> Response {
    let result = sim.with_board(req.seller.as_deref(), req.marketplace, |b| {
        let id = req.answer_id.trim().parse::<u64>().ok();
        match id.is_some_and(|id| b.delete_answer(id)) {
            true => Ok(()),
            false => Err(format!("no live answer `{}`", req.answer_id)),
        }
    });
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => created(Err(e)),
    }
}

async fn post_subscription(State(sim): State<Sim>, Json(req): Json<Subscription>) -> Response {
    let result = {
        let mut state = sim.lock();
        state.seller_index(req.seller.as_deref()).and_then(|idx| {
            let accounts = &mut state.sellers[idx].feedback;
            match req.marketplace {
                Marketplace::Ozon => {
                    accounts.ozon.premium_plus = req.active;
                    Ok(())
                }
                other => Err(format!(
                    "{} names no subscription for reviews and questions",
                    other.title()
                )),
            }
        })
    };
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => created(Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ozon_style_ids_look_like_uuids_and_come_back() {
        let board = Board::new(IdStyle::Uuid, 0, Vec::new());
        for id in [1u64, 255, 4096, 1 << 40] {
            let s = board.public_id(id);
            assert_eq!(s.len(), 36, "{s}");
            assert!(uuid::Uuid::parse_str(&s).is_ok(), "{s}");
            assert_eq!(board.parse_id(&s), Some(id));
        }
        assert_eq!(board.parse_id("not-a-uuid"), None);
        assert!(
            board.public_id(2) > board.public_id(1),
            "ids sort in time order"
        );
    }
}
