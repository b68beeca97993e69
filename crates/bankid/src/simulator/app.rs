//! `GET /simulator/app`: a small, accessible HTML page (Swedish, with
//! English in brackets) that plays the user's BankID app: it lists pending
//! orders with buttons to "scan", approve as a demo identity, or cancel.
//!
//! With `?autostarttoken=…` (what the same-device flow would hand to the
//! BankID app) the matching order is highlighted and listed first.
//!
//! The buttons post to `app?order=…&action=…` (relative, so the page works
//! wherever the router is nested) and are answered with `303 See Other`
//! back to the page.

use super::BankIdSimulator;
use super::control::with_order;
use super::state::{Approver, ControlError, Kind, SimOrder};
use crate::qr::percent_encode;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use std::fmt::Write as _;

const TITLE: &str = "BankID-simulator (inte riktigt BankID)";

#[derive(Deserialize)]
pub(super) struct PageQuery {
    autostarttoken: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ActionQuery {
    order: String,
    action: String,
    identity: Option<usize>,
    autostarttoken: Option<String>,
}

pub(super) async fn page(
    State(sim): State<BankIdSimulator>,
    Query(query): Query<PageQuery>,
) -> Response {
    let token = query.autostarttoken.filter(|t| !t.is_empty());
    let now = sim.now();
    let body = {
        let state = sim.state(now);
        let mut pending: Vec<&SimOrder> =
            state.orders.values().filter(|o| o.is_pending()).collect();
        pending.sort_by_key(|o| {
            (
                token.as_deref() != Some(o.auto_start_token.as_str()),
                o.created_at,
            )
        });
        render(&sim, &pending, token.as_deref())
    };
    html(StatusCode::OK, body)
}

pub(super) async fn action(
    State(sim): State<BankIdSimulator>,
    Query(query): Query<ActionQuery>,
) -> Response {
    let result = match query.action.as_str() {
        "scan" => with_order(&sim, &query.order, |order, _| order.scan()),
        "cancel" => with_order(&sim, &query.order, |order, now| order.cancel_by_user(now)),
        "approve" => {
            let Some(identity) = query
                .identity
                .and_then(|i| sim.demo_identities().get(i))
                .cloned()
            else {
                return message_page(
                    StatusCode::BAD_REQUEST,
                    "Okänd demoidentitet.",
                    "Unknown demo identity.",
                );
            };
            let approver = Approver {
                personal_number: identity.personal_number,
                given_name: identity.given_name,
                surname: identity.surname,
            };
            with_order(&sim, &query.order, |order, now| {
                order.approve(approver, now)
            })
        }
        _ => {
            return message_page(StatusCode::BAD_REQUEST, "Okänd åtgärd.", "Unknown action.");
        }
    };
    match result {
        Ok(_) => {
            let location = page_url(query.autostarttoken.as_deref());
            let mut response = StatusCode::SEE_OTHER.into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        Err(ControlError::NoSuchOrder) => message_page(
            StatusCode::NOT_FOUND,
            "Ordern finns inte längre.",
            "The order no longer exists.",
        ),
        Err(ControlError::NotPending(_)) => message_page(
            StatusCode::CONFLICT,
            "Ordern pågår inte längre.",
            "The order is no longer pending.",
        ),
    }
}

fn page_url(token: Option<&str>) -> String {
    match token {
        Some(token) if !token.is_empty() => format!("app?autostarttoken={}", percent_encode(token)),
        _ => "app".to_owned(),
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'",
        ),
    );
    response
}

fn message_page(status: StatusCode, sv: &str, en: &str) -> Response {
    let mut out = head();
    let _ = write!(
        out,
        "<p role=\"alert\">{} <span lang=\"en\">({})</span></p>\
         <p><a href=\"app\">Tillbaka till simulatorn <span lang=\"en\">(back)</span></a></p>",
        escape(sv),
        escape(en)
    );
    out.push_str(FOOT);
    html(status, out)
}

fn head() -> String {
    format!(
        "<!doctype html>\n<html lang=\"sv\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{TITLE}</title><style>{STYLE}</style></head><body><main>\
         <h1>{TITLE}</h1>\
         <p class=\"note\"><strong>Detta är inte BankID.</strong> Sidan spelar användarens \
         BankID-app i tester och demo; ingen identifieras på riktigt. \
         <span lang=\"en\">(This is not BankID: a simulator for tests and demos. \
         Nobody is really identified.)</span></p>"
    )
}

const FOOT: &str = "</main></body></html>\n";

const STYLE: &str = "body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;\
color:#1a1a1a;background:#fff}main{max-width:48rem;margin:0 auto;padding:1rem}\
.note{background:#fff4d6;border:2px solid #8a5a00;padding:.75rem}\
ul.orders{list-style:none;padding:0}section.order{border:1px solid #555;padding:.75rem;\
margin:1rem 0}section.here{border:4px solid #0b5fff}form{display:inline-block;\
margin:.25rem .5rem .25rem 0}button{font-size:1rem;padding:.5rem .75rem}\
button:focus-visible,a:focus-visible{outline:3px solid #0b5fff;outline-offset:2px}\
blockquote{white-space:pre-wrap;border-left:4px solid #555;margin:.5rem 0;padding-left:.75rem}";

fn render(sim: &BankIdSimulator, pending: &[&SimOrder], token: Option<&str>) -> String {
    let mut out = head();
    if let Some(token) = token
        && !pending.iter().any(|o| o.auto_start_token == token)
    {
        out.push_str(
            "<p role=\"status\">Ingen pågående order matchar autostarttoken. \
             <span lang=\"en\">(No pending order matches the autostart token.)</span></p>",
        );
    }
    let _ = write!(
        out,
        "<h2>Pågående ordrar <span lang=\"en\">(pending orders)</span></h2>\
         <p><a href=\"{}\">Uppdatera sidan <span lang=\"en\">(reload)</span></a></p>",
        escape(&page_url(token))
    );
    if pending.is_empty() {
        out.push_str("<p>Inga pågående ordrar. <span lang=\"en\">(No pending orders.)</span></p>");
    } else {
        out.push_str("<ul class=\"orders\">");
        for order in pending {
            render_order(&mut out, sim, order, token);
        }
        out.push_str("</ul>");
    }
    out.push_str(FOOT);
    out
}

fn render_order(out: &mut String, sim: &BankIdSimulator, order: &SimOrder, token: Option<&str>) {
    let here = token == Some(order.auto_start_token.as_str());
    let id = format!("order-{}", escape(&order.order_ref));
    let kind = match order.kind {
        Kind::Auth => "Identifiering <span lang=\"en\">(identification)</span>",
        Kind::Sign => "Underskrift <span lang=\"en\">(signature)</span>",
    };
    let started = order
        .created_at
        .format(time::macros::format_description!(
            "[hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    let _ = write!(
        out,
        "<li><section class=\"order{}\" aria-labelledby=\"{id}\"><h3 id=\"{id}\">{kind}, \
         startad {started} UTC</h3>",
        if here { " here" } else { "" },
    );
    if here {
        out.push_str(
            "<p><strong>Startad på den här enheten (autostart).</strong> \
             <span lang=\"en\">(Started on this device.)</span></p>",
        );
    }
    let _ = write!(
        out,
        "<p>Order: <code>{}</code>. Status: pending, hintCode <code>{}</code>.</p>",
        escape(&order.order_ref),
        escape(order.hint().map(|h| h.as_str()).unwrap_or_default()),
    );
    if let Some(text) = &order.user_visible_text {
        let _ = write!(
            out,
            "<p>Text i appen <span lang=\"en\">(text shown in the app)</span>:</p>\
             <blockquote>{}</blockquote>",
            escape(text)
        );
    }
    let action = |action: &str, extra: &str| {
        let mut url = format!(
            "app?order={}&action={action}{extra}",
            percent_encode(&order.order_ref)
        );
        if let Some(token) = token {
            let _ = write!(url, "&autostarttoken={}", percent_encode(token));
        }
        escape(&url)
    };
    let _ = write!(
        out,
        "<form method=\"post\" action=\"{}\"><button type=\"submit\">Läs av QR-koden eller \
         öppna appen <span lang=\"en\">(scan / open)</span></button></form>",
        action("scan", "")
    );
    for (index, identity) in sim.demo_identities().iter().enumerate() {
        let _ = write!(
            out,
            "<form method=\"post\" action=\"{}\"><button type=\"submit\">Godkänn som {} {} \
             ({}) <span lang=\"en\">(approve)</span></button></form>",
            action("approve", &format!("&identity={index}")),
            escape(&identity.given_name),
            escape(&identity.surname),
            escape(&identity.personal_number.display_form()),
        );
    }
    let _ = write!(
        out,
        "<form method=\"post\" action=\"{}\"><button type=\"submit\">Avbryt i appen \
         <span lang=\"en\">(cancel as the user)</span></button></form></section></li>",
        action("cancel", "")
    );
}

/// Escapes text for HTML content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
