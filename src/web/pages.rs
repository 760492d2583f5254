//! HTML pages and the fragments the page re-fetches on live updates. Every
//! template is `.html`, so Tera escapes everything it prints: buyer text shows
//! as text.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use tera::Context;

use super::WebState;
use super::api::{ListQuery, sort};
use super::auth::{LoginError, Operator, SESSION_COOKIE, cookie_value, token};
use super::i18n::{self, RU, Strings};
use crate::actions::{self, DraftDetail, QueueItem};
use crate::domain::{Author, DraftState, Effect, Intent, Marketplace, now_ms};
use crate::guards::Severity;
use crate::store::ConnectorState;

const LOGIN_COOKIE: &str = "agentiq_login";

fn render(s: &WebState, name: &str, ctx: &Context) -> Response {
    match s.tera.render(name, ctx) {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "a web template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

fn base(op: Option<&Operator>) -> Context {
    let mut ctx = Context::new();
    let t: &Strings = &RU;
    ctx.insert("t", t);
    ctx.insert("t_json", &serde_json::to_string(t).unwrap_or_default());
    let (csrf, user) = match op.and_then(|o| o.session.as_ref()) {
        Some((_, s)) => (s.csrf.clone(), s.name.clone()),
        None => (String::new(), String::new()),
    };
    ctx.insert("csrf", &csrf);
    ctx.insert("user", &user);
    ctx
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    password: String,
    #[serde(default)]
    login_csrf: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

/// Where to go after logging in: a page of this queue, never another site.
fn safe_next(next: &str) -> &str {
    let ours = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    if ours { next } else { "/" }
}

fn login_page(s: &WebState, error: Option<&str>, status: StatusCode, next: &str) -> Response {
    let login_token = token(16);
    let mut ctx = base(None);
    ctx.insert("login_csrf", &login_token);
    ctx.insert("error", &error);
    ctx.insert("next", safe_next(next));
    ctx.insert("expired", &(!next.is_empty() && safe_next(next) != "/"));
    let mut res = render(s, "login.html", &ctx);
    *res.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&s.auth.cookie(
        LOGIN_COOKIE,
        &login_token,
        std::time::Duration::from_secs(1800),
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

pub async fn login_form(
    State(s): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    if let Some(id) = cookie_value(&headers, SESSION_COOKIE)
        && s.auth.session(id).await.is_some()
    {
        return Redirect::to(safe_next(&q.next)).into_response();
    }
    login_page(&s, None, StatusCode::OK, &q.next)
}

pub async fn login(
    State(s): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = cookie_value(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || expected != form.login_csrf {
        return login_page(
            &s,
            Some("Форма устарела, попробуйте ещё раз."),
            StatusCode::FORBIDDEN,
            &form.next,
        );
    }
    let client = s.auth.client(peer.ip(), &headers);
    match s.auth.login(client, &form.name, &form.password).await {
        Ok((id, session)) => {
            tracing::info!(user = %session.name, "logged in to the web queue");
            let mut res = Redirect::to(safe_next(&form.next)).into_response();
            for c in [
                s.auth.session_cookie(&id),
                s.auth.cookie(LOGIN_COOKIE, "", std::time::Duration::ZERO),
            ] {
                if let Ok(v) = HeaderValue::from_str(&c) {
                    res.headers_mut().append(header::SET_COOKIE, v);
                }
            }
            res
        }
        Err(LoginError::Wrong) => {
            tracing::warn!(client = %client, peer = %peer.ip(), "failed web login");
            login_page(
                &s,
                Some(RU.login_wrong),
                StatusCode::UNAUTHORIZED,
                &form.next,
            )
        }
        Err(LoginError::TooMany) => {
            tracing::warn!(client = %client, peer = %peer.ip(), "web login refused: too many failures");
            login_page(
                &s,
                Some(RU.login_too_many),
                StatusCode::TOO_MANY_REQUESTS,
                &form.next,
            )
        }
    }
}

pub async fn logout(State(s): State<WebState>, op: Operator) -> Response {
    if let Some((id, _)) = &op.session {
        s.auth.logout(id).await;
    }
    let mut res = Redirect::to("/login").into_response();
    if let Ok(v) =
        HeaderValue::from_str(&s.auth.cookie(SESSION_COOKIE, "", std::time::Duration::ZERO))
    {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[derive(Serialize)]
struct Row {
    id: i64,
    shop: String,
    marketplace: String,
    intent: String,
    intent_label: &'static str,
    confidence: u32,
    flags: Vec<String>,
    text: String,
    state: String,
    state_label: &'static str,
    reason: Option<String>,
    age: String,
    created_at: i64,
    send_at: Option<i64>,
    priority: i64,
    urgent: bool,
    reply_deadline: Option<i64>,
    buyer: String,
    buyer_text: String,
    order_no: Option<String>,
    tz: String,
}

/// What the inbox shows of a draft's chat beside the draft.
struct ChatSide {
    buyer: String,
    buyer_text: String,
    order_no: Option<String>,
    search: String,
}

/// The shop's time zone name, so times show as the shop lives them.
fn shop_tz(s: &WebState, shop: &str) -> String {
    s.rt.shops
        .get(shop)
        .and_then(|x| x.timezone.iana_name().map(str::to_string))
        .unwrap_or_else(|| "UTC".into())
}

fn row(i: &QueueItem, s: &WebState, now: i64, flags: Vec<String>) -> Row {
    let marketplace = i
        .marketplace
        .parse::<Marketplace>()
        .map(|m| m.title())
        .unwrap_or("?");
    let intent = i.intent.parse::<Intent>().unwrap_or(Intent::Other);
    Row {
        id: i.id,
        shop: s
            .rt
            .shops
            .get(&i.shop)
            .map(|x| x.name.clone())
            .unwrap_or_else(|| i.shop.clone()),
        // Reviews and questions carry their kind, stars and product beside
        // the marketplace, so every list that shows one shows them.
        marketplace: match (i.kind, i.rating) {
            (crate::domain::ThreadKind::Chat, _) => marketplace.to_string(),
            (kind, Some(stars)) => format!("{marketplace} · {} {stars}★", kind.title_ru()),
            (kind, None) => format!(
                "{marketplace} · {}{}",
                kind.title_ru(),
                i.product
                    .as_deref()
                    .map(|p| format!(": {p}"))
                    .unwrap_or_default()
            ),
        },
        intent: i.intent.clone(),
        intent_label: i18n::intent_label(intent),
        confidence: (i.confidence * 100.0).round() as u32,
        flags,
        text: i.text.clone(),
        state: i.state.to_string(),
        state_label: i18n::state_label(i.state),
        reason: i.reason.as_deref().map(i18n::plain),
        age: i18n::age(now - i.created_at),
        created_at: i.created_at,
        send_at: i.send_at,
        priority: i.priority,
        urgent: i.priority >= 3,
        reply_deadline: i.reply_deadline.filter(|_| i.state == DraftState::Pending),
        buyer: String::new(),
        buyer_text: String::new(),
        order_no: None,
        tz: shop_tz(s, &i.shop),
    }
}

async fn rows_context(s: &WebState, q: &ListQuery) -> Result<Context, Response> {
    let bad = |e: actions::ActionError| (StatusCode::BAD_REQUEST, e.to_string()).into_response();
    let filter = q.filter().map_err(bad)?;
    let rows =
        s.rt.store
            .call(move |c| crate::store::list_drafts(c, &filter))
            .await
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())?;
    let unseen: std::collections::HashSet<i64> = rows
        .iter()
        .filter(|d| d.superseded_unseen())
        .map(|d| d.id)
        .collect();
    let flags: std::collections::HashMap<i64, Vec<String>> = rows
        .iter()
        .map(|d| {
            (
                d.id,
                d.classification
                    .flags
                    .iter()
                    .map(|f| i18n::flag_label(*f).to_string())
                    .collect(),
            )
        })
        .collect();
    let chat_ids: Vec<i64> = rows.iter().map(|d| d.chat.id).collect();
    let last =
        s.rt.store
            .read(move |c| crate::store::last_buyer_messages(c, &chat_ids))
            .await
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())?;
    let sides: std::collections::HashMap<i64, ChatSide> = rows
        .iter()
        .map(|d| {
            let o = &d.chat.order;
            let buyer = d
                .chat
                .buyer_name
                .clone()
                .unwrap_or_else(|| RU.buyer.to_string());
            let buyer_text = last.get(&d.chat.id).cloned().unwrap_or_default();
            let order_no = o.order_id.clone().or(o.return_id.clone());
            let search = [
                Some(buyer.as_str()),
                Some(buyer_text.as_str()),
                Some(d.outgoing_text()),
                o.order_id.as_deref(),
                o.return_id.as_deref(),
                o.product_id.as_deref(),
                o.product_name.as_deref(),
                Some(d.chat.external_id.as_str()),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("\n")
            .to_lowercase();
            (
                d.id,
                ChatSide {
                    buyer,
                    buyer_text,
                    order_no,
                    search,
                },
            )
        })
        .collect();
    let needle = q.q.as_deref().unwrap_or("").trim().to_lowercase();
    let mut items: Vec<QueueItem> = rows
        .iter()
        .filter(|d| {
            needle.is_empty()
                || sides.get(&d.id).is_some_and(|side| {
                    needle
                        .split_whitespace()
                        .all(|word| side.search.contains(word))
                })
        })
        .map(QueueItem::from)
        .collect();
    sort(&mut items, q.by_priority());
    let now = now_ms();
    let oldest = items
        .iter()
        .filter(|i| i.state == DraftState::Pending)
        .map(|i| i.created_at)
        .min();
    let mut counts: Vec<(String, usize)> = Vec::new();
    for st in DraftState::INBOX {
        let n = items
            .iter()
            .filter(|i| i.state == st && !unseen.contains(&i.id))
            .count();
        if n > 0 {
            counts.push((i18n::state_label(st).to_string(), n));
        }
    }
    let unseen_listed = items.iter().filter(|i| unseen.contains(&i.id)).count();
    if unseen_listed > 0 {
        counts.push((RU.superseded_unseen.to_string(), unseen_listed));
    }
    // The empty-queue text only when nothing anywhere needs a person.
    let elsewhere = if items.is_empty() {
        let inbox = ListQuery::default().filter().map_err(bad)?;
        s.rt.store
            .read(move |c| crate::store::list_drafts(c, &inbox))
            .await
            .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())?
            .len()
    } else {
        0
    };
    let rows: Vec<Row> = items
        .iter()
        .map(|i| {
            let mut r = row(i, s, now, flags.get(&i.id).cloned().unwrap_or_default());
            if let Some(side) = sides.get(&i.id) {
                r.buyer = side.buyer.clone();
                r.buyer_text = side.buyer_text.clone();
                r.order_no = side.order_no.clone();
            }
            if unseen.contains(&i.id) {
                r.state_label = RU.superseded_unseen;
            }
            r
        })
        .collect();
    let mut ctx = Context::new();
    ctx.insert("t", &RU);
    ctx.insert("rows", &rows);
    ctx.insert("counts", &counts);
    ctx.insert("elsewhere", &elsewhere);
    ctx.insert("oldest", &oldest.map(|t| i18n::age(now - t)));
    ctx.insert(
        "waiting",
        &items
            .iter()
            .filter(|i| i.state == DraftState::Pending)
            .count(),
    );
    ctx.insert("searched", &!needle.is_empty());
    Ok(ctx)
}

fn query_string(q: &ListQuery) -> String {
    let mut parts = Vec::new();
    for (k, v) in [
        ("state", &q.state),
        ("shop", &q.shop),
        ("marketplace", &q.marketplace),
        ("intent", &q.intent),
        ("kind", &q.kind),
        ("sort", &q.sort),
        ("q", &q.q),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", urlencode(v)));
        }
    }
    parts.join("&")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn queue(
    State(s): State<WebState>,
    op: Operator,
    Query(q): Query<ListQuery>,
) -> Response {
    let rows = match rows_context(&s, &q).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut ctx = base(Some(&op));
    ctx.extend(rows);
    ctx.extend(sync_context(&s).await);
    let shops: Vec<(String, String)> =
        s.rt.shops
            .values()
            .map(|x| (x.id.clone(), x.name.clone()))
            .collect();
    let marketplaces: Vec<(&str, &str)> = Marketplace::ALL
        .iter()
        .map(|m| (m.code(), m.title()))
        .collect();
    let intents = intent_options();
    let states: Vec<(&str, &str)> = DraftState::ALL
        .iter()
        .map(|d| (d.as_str(), i18n::state_label(*d)))
        .collect();
    ctx.insert("shops", &shops);
    ctx.insert("marketplaces", &marketplaces);
    let kinds: Vec<(&str, &str)> = crate::domain::ThreadKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.title_ru()))
        .collect();
    ctx.insert("kinds", &kinds);
    ctx.insert("intents", &intents);
    ctx.insert("states", &states);
    ctx.insert(
        "q",
        &serde_json::json!({
            "state": q.state.clone().unwrap_or_default(),
            "shop": q.shop.clone().unwrap_or_default(),
            "marketplace": q.marketplace.clone().unwrap_or_default(),
            "intent": q.intent.clone().unwrap_or_default(),
            "kind": q.kind.clone().unwrap_or_default(),
            "sort": q.sort.clone().unwrap_or_default(),
            "q": q.q.clone().unwrap_or_default(),
        }),
    );
    ctx.insert("query", &query_string(&q));
    render(&s, "queue.html", &ctx)
}

pub async fn queue_rows(
    State(s): State<WebState>,
    _op: Operator,
    Query(q): Query<ListQuery>,
) -> Response {
    match rows_context(&s, &q).await {
        Ok(ctx) => render(&s, "queue_rows.html", &ctx),
        Err(r) => r,
    }
}

#[derive(Serialize)]
struct ConnectorView {
    marketplace: &'static str,
    ok: bool,
    text: String,
    at: Option<i64>,
}

#[derive(Serialize)]
struct ShopSync {
    id: String,
    name: String,
    tz: String,
    connectors: Vec<ConnectorView>,
    paused: Option<String>,
    problems: Vec<String>,
}

async fn sync_context(s: &WebState) -> Context {
    let report = actions::status(&s.rt.store, actions::shop_refs(&s.rt.settings))
        .await
        .ok();
    let mut shops = Vec::new();
    for shop in s.rt.shops.values() {
        let mut view = ShopSync {
            id: shop.id.clone(),
            name: shop.name.clone(),
            tz: shop_tz(s, &shop.id),
            connectors: vec![],
            paused: None,
            problems: vec![],
        };
        if let Some(r) = &report {
            for c in r.connectors.iter().filter(|c| c.shop == shop.id) {
                let retry = c
                    .retry_at
                    .map(crate::domain::local_clock)
                    .unwrap_or_default();
                let (ok, text) = match c.state {
                    ConnectorState::Ok => (true, RU.synced.to_string()),
                    ConnectorState::AuthFailed => (
                        false,
                        format!(
                            "{}: {}",
                            RU.token_rejected,
                            c.detail.clone().unwrap_or_default()
                        ),
                    ),
                    ConnectorState::RateLimited => {
                        (false, format!("{} {retry}", RU.rate_limited_until))
                    }
                    ConnectorState::Degraded => (
                        false,
                        format!("{}: {}", RU.degraded, c.detail.clone().unwrap_or_default()),
                    ),
                    ConnectorState::DatabaseFailed => (
                        false,
                        format!(
                            "{}: {}",
                            RU.database_failed,
                            c.detail.clone().unwrap_or_default()
                        ),
                    ),
                    ConnectorState::Starting => (false, RU.starting.to_string()),
                };
                view.connectors.push(ConnectorView {
                    marketplace: c.marketplace.title(),
                    ok,
                    text,
                    at: c.last_ok_at,
                });
            }
            if let Some(p) = r.paused.iter().find(|p| p.shop == shop.id) {
                view.paused = Some(format!(
                    "{}{}",
                    RU.paused,
                    p.reason
                        .as_ref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                ));
            }
            for b in r.budgets.iter().filter(|b| b.shop == shop.id) {
                if let Some(e) = &b.exhausted {
                    view.problems.push(format!(
                        "{e} ({:.2} сегодня, {:.2} в этом месяце)",
                        b.today, b.month
                    ));
                }
            }
            for rl in r.reloads.iter().filter(|rl| rl.shop == shop.id && !rl.ok) {
                view.problems.push(format!(
                    "{} ({}): {}",
                    RU.reload_failed,
                    rl.kind,
                    rl.detail.clone().unwrap_or_default()
                ));
            }
        }
        shops.push(view);
    }
    let mut ctx = Context::new();
    ctx.insert("t", &RU);
    ctx.insert("sync", &shops);
    ctx
}

pub async fn sync(State(s): State<WebState>, _op: Operator) -> Response {
    let ctx = sync_context(&s).await;
    render(&s, "sync.html", &ctx)
}

#[derive(Serialize)]
struct MessageView {
    who: String,
    side: &'static str,
    text: String,
    at: i64,
    status: Option<&'static str>,
    is_turn: bool,
    read: bool,
}

#[derive(Serialize)]
struct FindingView {
    category: String,
    error: bool,
    severity: &'static str,
    message: String,
    excerpt: String,
}

#[derive(Serialize)]
struct RuleView {
    name: String,
    matched: bool,
    effect: &'static str,
    why: Vec<String>,
}

async fn detail(s: &WebState, id: i64) -> Result<DraftDetail, Response> {
    actions::show(&s.rt.store, id).await.map_err(|e| match e {
        actions::ActionError::NotFound(_) => (StatusCode::NOT_FOUND, e.to_string()).into_response(),
        other => (StatusCode::INTERNAL_SERVER_ERROR, other.to_string()).into_response(),
    })
}

fn live_context(s: &WebState, d: &DraftDetail) -> Context {
    let draft = &d.draft;
    let mut ctx = Context::new();
    ctx.insert("t", &RU);
    let states: std::collections::HashMap<i64, DraftState> =
        [(draft.id, draft.state)].into_iter().collect();
    let messages: Vec<MessageView> = d
        .messages
        .iter()
        .map(|m| {
            let (who, side) = match m.author {
                Author::Buyer => (
                    d.draft
                        .chat
                        .buyer_name
                        .clone()
                        .unwrap_or_else(|| RU.buyer.to_string()),
                    "buyer",
                ),
                Author::Seller if m.draft_id.is_some() => (
                    format!("{} (№{})", RU.we, m.draft_id.unwrap_or_default()),
                    "we",
                ),
                Author::Seller => (RU.seller_elsewhere.to_string(), "seller"),
                Author::System => (RU.marketplace_msg.to_string(), "system"),
            };
            let status = m
                .draft_id
                .and_then(|id| states.get(&id))
                .map(|st| i18n::state_label(*st))
                .or(m.draft_id.map(|_| "✓"));
            let read = m.author == Author::Seller && m.read_at.is_some();
            MessageView {
                read,
                who,
                side,
                text: m.text.clone(),
                at: m.created_at,
                status,
                is_turn: m.id == draft.turn_message_id,
            }
        })
        .collect();
    ctx.insert("messages", &messages);
    let o = &draft.chat.order;
    let mut order: Vec<(String, String)> = Vec::new();
    let mut add = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            order.push((k.to_string(), v));
        }
    };
    add("Товар", o.product_name.clone());
    add("Артикул", o.product_id.clone());
    add("Размер", o.size.clone());
    add(
        "Цена",
        o.price
            .map(|p| format!("{p} {}", o.currency.as_deref().unwrap_or("RUB"))),
    );
    add("Статус", o.status_text.clone().or(o.status.clone()));
    add("Номер заказа", o.order_id.clone());
    add("Номер возврата", o.return_id.clone());
    add(
        "Тема чата",
        o.chat_kind.as_deref().map(|k| {
            match k {
                "order" => "заказ",
                "return" => "возврат",
                "direct" => "вопрос до покупки",
                "listing" => "объявление",
                other => other,
            }
            .to_string()
        }),
    );
    add("Ссылка", o.url.clone());
    ctx.insert("order", &order);
    let c = &draft.classification;
    // A person may have corrected the intent since it was classified.
    ctx.insert("intent_label", i18n::intent_label(draft.intent));
    ctx.insert("intent", draft.intent.as_str());
    ctx.insert("retagged", &(draft.intent != c.intent));
    ctx.insert("intents", &intent_options());
    ctx.insert("confidence", &((c.confidence * 100.0).round() as u32));
    ctx.insert(
        "flags",
        &c.flags
            .iter()
            .map(|f| i18n::flag_label(*f).to_string())
            .collect::<Vec<_>>(),
    );
    let plain = |list: &[String]| list.iter().map(|r| i18n::plain(r)).collect::<Vec<_>>();
    ctx.insert("class_reasons", &plain(&c.reasons));
    let dec = &draft.decision;
    ctx.insert("effect_label", i18n::effect_label(dec.effect));
    ctx.insert("escalated", &(dec.effect == Effect::Escalate));
    ctx.insert("reasons", &plain(&dec.reasons));
    ctx.insert("floor", &plain(&dec.floor));
    let rules: Vec<RuleView> = dec
        .rules
        .iter()
        .map(|r| RuleView {
            name: r.name.clone(),
            matched: r.matched,
            effect: i18n::effect_label(r.effect),
            why: plain(&r.why),
        })
        .collect();
    ctx.insert("rules", &rules);
    let findings: Vec<FindingView> = draft
        .outgoing_findings()
        .iter()
        .map(|f| FindingView {
            category: f.category.clone(),
            error: f.severity == Severity::Error,
            severity: if f.severity == Severity::Error {
                RU.severity_error
            } else {
                RU.severity_warning
            },
            message: f.message.clone(),
            excerpt: f.excerpt.clone(),
        })
        .collect();
    ctx.insert("findings", &findings);
    let events: Vec<(i64, String, String)> = d
        .events
        .iter()
        .map(|e| {
            let to =
                e.to.parse::<DraftState>()
                    .map(i18n::state_label)
                    .unwrap_or("?");
            (
                e.at,
                e.actor.clone(),
                format!(
                    "{to}{}",
                    e.note
                        .as_deref()
                        .map(|n| format!(": {}", i18n::plain(n)))
                        .unwrap_or_default()
                ),
            )
        })
        .collect();
    ctx.insert("events", &events);
    ctx.insert("id", &draft.id);
    ctx.insert(
        "shop",
        &s.rt
            .shops
            .get(&draft.chat.shop)
            .map(|x| x.name.clone())
            .unwrap_or_else(|| draft.chat.shop.clone()),
    );
    ctx.insert("marketplace", draft.chat.marketplace.title());
    ctx.insert("chat_id", &draft.chat.external_id);
    ctx.insert("tz", &shop_tz(s, &draft.chat.shop));
    ctx
}

/// What surrounds a draft: the text a person was typing for it and the
/// draft that took over its chat.
#[derive(Default)]
struct Around {
    working: Option<crate::store::WorkingText>,
    successor: Option<i64>,
}

async fn around(s: &WebState, id: i64) -> Result<Around, Response> {
    s.rt.store
        .read(move |c| {
            Ok(Around {
                working: crate::store::working_text_for(c, id)?,
                successor: crate::store::successor_draft(c, id)?,
            })
        })
        .await
        .map_err(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())
}

fn actions_context(s: &WebState, d: &DraftDetail, around: &Around) -> Context {
    let draft = &d.draft;
    let mut ctx = Context::new();
    ctx.insert("tz", &shop_tz(s, &draft.chat.shop));
    let working = around.working.as_ref();
    ctx.insert("working", &working.map(|w| w.text.as_str()));
    ctx.insert(
        "carried_from",
        &working.map(|w| w.draft_id).filter(|from| *from != draft.id),
    );
    ctx.insert("successor", &around.successor);
    let said = d
        .messages
        .iter()
        .rev()
        .find(|m| m.author == Author::Buyer)
        .map(|m| m.text.as_str());
    ctx.insert("buyer_said", &said);
    ctx.insert(
        "buyer_name",
        draft.chat.buyer_name.as_deref().unwrap_or(RU.buyer),
    );
    ctx.insert("quick_replies", &quick_replies(s, &draft.chat.shop));
    ctx.insert(
        "editor_text",
        working
            .map(|w| w.text.as_str())
            .unwrap_or(draft.outgoing_text()),
    );
    ctx.insert("t", &RU);
    ctx.insert("id", &draft.id);
    ctx.insert("state", draft.state.as_str());
    ctx.insert("state_label", i18n::state_label(draft.state));
    ctx.insert("superseded_unseen", &draft.superseded_unseen());
    ctx.insert("reason", &draft.state_reason.as_deref().map(i18n::plain));
    ctx.insert("text", draft.outgoing_text());
    ctx.insert("drafter_note", &draft.drafter_note);
    ctx.insert(
        "max_chars",
        &draft.chat.marketplace.capabilities().max_message_chars,
    );
    ctx.insert("send_at", &draft.send_at);
    ctx.insert("updated_at", &draft.updated_at);
    let now = crate::domain::now_ms();
    ctx.insert(
        "retract_until",
        &draft
            .retract_deadline()
            .filter(|t| *t > now && draft.retract_requested_at.is_none()),
    );
    ctx.insert("retract_pending", &draft.retract_requested_at.is_some());
    ctx.insert(
        "is_chat",
        &(draft.chat.kind == crate::domain::ThreadKind::Chat),
    );
    // A published answer to a review or question, where the marketplace
    // allows deleting it (what the shop's review connector says it allows).
    let deletable = draft.state == crate::domain::DraftState::Sent
        && draft.chat.kind != crate::domain::ThreadKind::Chat
        && draft.sent_message_id.is_some()
        && draft.retract_requested_at.is_none()
        && s.rt
            .shops
            .get(&draft.chat.shop)
            .and_then(|shop| shop.feedback_connector(draft.chat.marketplace))
            .is_some_and(|c| c.capabilities(draft.chat.kind).can_delete);
    ctx.insert("answer_deletable", &deletable);
    ctx.insert(
        "reply_deadline",
        &draft.reply_deadline().filter(|_| draft.state.is_open()),
    );
    ctx
}

pub async fn draft(State(s): State<WebState>, op: Operator, Path(id): Path<i64>) -> Response {
    let d = match detail(&s, id).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let near = match around(&s, id).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let inbox = match rows_context(&s, &ListQuery::default()).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut ctx = base(Some(&op));
    ctx.extend(inbox);
    ctx.extend(live_context(&s, &d));
    ctx.extend(actions_context(&s, &d, &near));
    render(&s, "draft.html", &ctx)
}

/// The inbox beside an open conversation (wide screens).
pub async fn inbox_list(
    State(s): State<WebState>,
    _op: Operator,
    Query(q): Query<ListQuery>,
) -> Response {
    match rows_context(&s, &q).await {
        Ok(mut ctx) => {
            ctx.insert("id", &q.current.unwrap_or_default());
            render(&s, "inbox_list.html", &ctx)
        }
        Err(r) => r,
    }
}

pub async fn draft_live(State(s): State<WebState>, _op: Operator, Path(id): Path<i64>) -> Response {
    match detail(&s, id).await {
        Ok(d) => render(&s, "draft_live.html", &live_context(&s, &d)),
        Err(r) => r,
    }
}

pub async fn draft_actions(
    State(s): State<WebState>,
    _op: Operator,
    Path(id): Path<i64>,
) -> Response {
    let d = match detail(&s, id).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    match around(&s, id).await {
        Ok(near) => render(&s, "draft_actions.html", &actions_context(&s, &d, &near)),
        Err(r) => r,
    }
}

fn asset(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

pub async fn script() -> Response {
    asset(
        include_str!("assets/app.js"),
        "text/javascript; charset=utf-8",
    )
}

pub async fn style() -> Response {
    asset(include_str!("assets/app.css"), "text/css; charset=utf-8")
}

pub async fn favicon() -> Response {
    let svg = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'><rect width='16' height='16' rx='3' fill='#6b3fd4'/><text x='8' y='12' font-size='10' text-anchor='middle' fill='#fff' font-family='sans-serif'>A</text></svg>";
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        svg,
    )
        .into_response()
}

/// A shop's quick replies as (label, text): `quick_replies` in the shop's
/// settings.
fn quick_replies(s: &WebState, shop: &str) -> Vec<(String, String)> {
    s.rt.shops
        .get(shop)
        .map(|x| {
            x.settings
                .quick_replies
                .iter()
                .map(|q| (q.label.clone(), q.text.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// Every intent as (code, label), for the queue filter and the retag control.
fn intent_options() -> Vec<(&'static str, &'static str)> {
    Intent::ALL
        .iter()
        .map(|i| (i.as_str(), i18n::intent_label(*i)))
        .collect()
}
