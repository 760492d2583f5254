//! The web queue: HTML pages for people and a JSON API for integrations,
//! both calling `actions` (the same functions as the CLI). The web layer never
//! talks to a marketplace or an LLM.

mod api;
pub mod auth;
mod events;
pub mod i18n;
mod metrics;
mod pages;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use tera::Tera;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::runtime::Runtime;
use auth::Auth;

#[derive(Clone)]
pub struct WebState {
    pub rt: Arc<Runtime>,
    pub auth: Arc<Auth>,
    pub tera: Arc<Tera>,
}

const TEMPLATES: [(&str, &str); 9] = [
    ("inbox_list.html", include_str!("templates/inbox_list.html")),
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("queue.html", include_str!("templates/queue.html")),
    ("queue_rows.html", include_str!("templates/queue_rows.html")),
    ("sync.html", include_str!("templates/sync.html")),
    ("draft.html", include_str!("templates/draft.html")),
    ("draft_live.html", include_str!("templates/draft_live.html")),
    (
        "draft_actions.html",
        include_str!("templates/draft_actions.html"),
    ),
];

pub fn templates() -> Tera {
    let mut tera = Tera::new();
    tera.add_raw_templates(TEMPLATES)
        .expect("the web templates compile");
    tera
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// JSON under `/api/`, a plain Russian line elsewhere.
async fn not_found(uri: axum::http::Uri) -> Response {
    use axum::response::IntoResponse;
    if uri.path().starts_with("/api/") {
        api::not_found().await.into_response()
    } else {
        (
            axum::http::StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Такой страницы нет. Очередь: /",
        )
            .into_response()
    }
}

/// The `Host` values the queue answers to: `web.allowed_hosts`, or by
/// default the address it listens on, `localhost` and `127.0.0.1` with its
/// port. A name without a port allows any port.
#[derive(Debug, Clone)]
pub struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    pub fn new(configured: &[String], bound: SocketAddr) -> AllowedHosts {
        if !configured.is_empty() {
            return AllowedHosts(
                configured
                    .iter()
                    .map(|h| h.trim().to_ascii_lowercase())
                    .collect(),
            );
        }
        let port = bound.port();
        let mut hosts = vec![
            bound.to_string(),
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
        ];
        hosts.dedup();
        AllowedHosts(hosts)
    }

    pub fn allows(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        let name = match host.rsplit_once(':') {
            Some((name, port))
                if !name.ends_with(':') && port.chars().all(|c| c.is_ascii_digit()) =>
            {
                name
            }
            _ => host.as_str(),
        };
        self.0
            .iter()
            .any(|allowed| *allowed == host || (*allowed == name && !allowed.contains(':')))
    }
}

/// Refuse requests for another `Host` (DNS rebinding), and state-changing
/// requests whose `Origin` is not this queue (cross-site forms and scripts).
async fn host_and_origin(
    axum::extract::State(hosts): axum::extract::State<Arc<AllowedHosts>>,
    req: Request,
    next: Next,
) -> Response {
    use axum::http::{Method, StatusCode};
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let Some(host) = host.filter(|h| hosts.allows(h)) else {
        tracing::warn!(host = ?req.headers().get(header::HOST), "refused a request for a host the queue does not serve");
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            "этот адрес не обслуживается: добавьте его в web.allowed_hosts",
            req.uri().path(),
        );
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !same_origin(req.headers(), &host, &hosts) {
        tracing::warn!(
            origin = ?req.headers().get(header::ORIGIN),
            fetch_site = ?req.headers().get("sec-fetch-site"),
            "refused a state-changing request from another origin"
        );
        return refuse(
            StatusCode::FORBIDDEN,
            "запрос пришёл с другого сайта и отклонён",
            req.uri().path(),
        );
    }
    next.run(req).await
}

/// Whether a state-changing request comes from the queue's own pages (or
/// from no browser at all). Browsers send `Origin` as `null` for form posts
/// from our pages (they carry `Referrer-Policy: no-referrer`), so then
/// `Sec-Fetch-Site` decides.
fn same_origin(headers: &axum::http::HeaderMap, host: &str, hosts: &AllowedHosts) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    match headers
        .get(header::ORIGIN)
        .map(|o| o.to_str().unwrap_or(""))
    {
        Some("null") => fetch_site == Some("same-origin"),
        Some(origin) => origin.split_once("://").is_some_and(|(_, authority)| {
            authority.eq_ignore_ascii_case(host) || hosts.allows(authority)
        }),
        None => !matches!(fetch_site, Some("cross-site" | "same-site")),
    }
}

fn refuse(status: axum::http::StatusCode, message: &str, path: &str) -> Response {
    use axum::response::IntoResponse;
    if path.starts_with("/api/") {
        api::ApiError::new(status, message).into_response()
    } else {
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            message.to_string(),
        )
            .into_response()
    }
}

pub fn router(state: WebState, hosts: AllowedHosts) -> Router {
    Router::new()
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/", get(pages::queue))
        .route("/fragments/queue", get(pages::queue_rows))
        .route("/fragments/sync", get(pages::sync))
        .route("/fragments/inbox", get(pages::inbox_list))
        .route("/drafts/{id}", get(pages::draft))
        .route("/fragments/drafts/{id}", get(pages::draft_live))
        .route("/fragments/drafts/{id}/actions", get(pages::draft_actions))
        .route("/static/app.js", get(pages::script))
        .route("/static/app.css", get(pages::style))
        .route("/favicon.ico", get(pages::favicon))
        .route("/events", get(events::stream))
        .route("/api/drafts", get(api::list))
        .route("/api/drafts/{id}", get(api::show))
        .route("/api/drafts/{id}/approve", post(api::approve))
        .route("/api/drafts/{id}/check", post(api::check))
        .route("/api/drafts/{id}/dismiss", post(api::dismiss))
        .route("/api/drafts/{id}/working", post(api::save_working))
        .route("/api/drafts/{id}/reject", post(api::reject))
        .route("/api/drafts/{id}/retag", post(api::retag))
        .route("/api/drafts/{id}/retry", post(api::retry))
        .route("/api/drafts/{id}/cancel", post(api::cancel))
        .route("/api/drafts/{id}/send-now", post(api::send_now))
        .route("/api/drafts/{id}/retract", post(api::retract))
        .route(
            "/webhooks/{marketplace}/{shop}/{secret}",
            post(api::webhook),
        )
        .route(
            crate::config::TELEGRAM_WEBHOOK_PATH,
            post(api::telegram_webhook),
        )
        .route("/api/status", get(api::status))
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(metrics::scrape))
        .route("/api/shops/{shop}/pause", post(api::pause))
        .route("/api/shops/{shop}/resume", post(api::resume))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            Arc::new(hosts),
            host_and_origin,
        ))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Serve the web queue on `listener` until `shutdown` fires.
pub async fn serve(
    listener: TcpListener,
    state: WebState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let hosts = AllowedHosts::new(&state.rt.settings.web.allowed_hosts, listener.local_addr()?);
    let app = router(state, hosts).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_compile_and_escape_html() {
        let tera = templates();
        let mut ctx = tera::Context::new();
        ctx.insert("t", &i18n::RU);
        ctx.insert("sync", &Vec::<()>::new());
        let html = tera.render("sync.html", &ctx).unwrap();
        assert!(html.contains("sync"));
        let mut ctx = tera::Context::new();
        ctx.insert("t", &i18n::RU);
        ctx.insert("counts", &Vec::<(String, usize)>::new());
        ctx.insert("oldest", &None::<String>);
        ctx.insert("elsewhere", &0);
        ctx.insert("waiting", &1);
        ctx.insert(
            "rows",
            &vec![serde_json::json!({
                "id": 1, "shop": "s", "marketplace": "Wildberries", "intent": "other", "intent_label": "другое",
                "confidence": 30, "flags": [], "text": "<script>alert(1)</script>", "state": "pending",
                "state_label": "ждёт", "reason": null, "age": "1 мин", "created_at": 0, "send_at": null,
                "priority": 1, "urgent": false, "buyer": "Аня", "buyer_text": "<b>где</b>",
                "order_no": null, "tz": "Europe/Moscow"
            })],
        );
        let html = tera.render("queue_rows.html", &ctx).unwrap();
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;")
                || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
    }
}
