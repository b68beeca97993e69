//! The audit log's public face, for anyone who keeps Trygg honest from the
//! outside (the municipality's registry, a supervisory authority, a second
//! site): the latest signed checkpoint, the key that verifies it, and
//! consistency proofs between two checkpoints. None of it holds personal
//! data — a checkpoint is a size, a hash and a time — so it needs no login.
//!
//! And a person's own proof: `/my-log/proof` downloads the inclusion proofs
//! of the entries about them (see `trygg_store::ProofBundle`).

use crate::record;
use crate::session::Authenticated;
use crate::{AppState, WebError};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use trygg_domain::{Account, Action, Part};

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// `GET /audit/checkpoint`: the latest signed checkpoint (C2SP signed note).
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, WebError> {
    let note = state
        .audit
        .latest_checkpoint()
        .await
        .map_err(WebError::Unavailable)?
        .ok_or(WebError::NotFound)?;
    Ok(text(note))
}

/// `GET /audit/key`: the key that verifies the checkpoints (note verifier
/// key text). Keep a copy from a source other than this server.
pub async fn key(State(state): State<AppState>) -> Response {
    text(format!("{}\n", state.audit.verifying_key().to_text()))
}

/// `?from=&to=`: two tree sizes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sizes {
    from: u64,
    to: u64,
}

/// A consistency proof.
#[derive(Debug, Serialize)]
pub struct Consistency {
    /// The older size.
    pub from: u64,
    /// The newer size.
    pub to: u64,
    /// The proof's hashes, base64 (RFC 9162 §2.1.4).
    pub proof: Vec<String>,
}

/// `GET /audit/consistency?from=&to=`: the proof that the tree of `to`
/// entries extends the tree of `from` entries — that nothing a kept
/// checkpoint covered was changed or removed since.
pub async fn consistency(
    State(state): State<AppState>,
    Query(q): Query<Sizes>,
) -> Result<Json<Consistency>, WebError> {
    if q.from > q.to {
        return Err(WebError::BadRequest("from must not exceed to"));
    }
    let proof = state
        .audit
        .consistency_proof(q.from, q.to)
        .await
        .ok_or(WebError::NotFound)?;
    Ok(Json(Consistency {
        from: q.from,
        to: q.to,
        proof: proof.iter().map(|h| STANDARD.encode(h)).collect(),
    }))
}

/// `GET /my-log/proof`: the logged-in person's proof bundle, as a download.
pub async fn my_proof(
    State(state): State<AppState>,
    Authenticated(session): Authenticated,
) -> Result<Response, WebError> {
    let Account::Person { person, .. } = session.record.account else {
        return Err(WebError::Forbidden);
    };
    let grant =
        record::authorize(&state, &session, person, Action::Read(Part::Overview), None).await?;
    let bundle = state
        .store
        .own_log_proof(&state.audit, &grant)
        .await
        .map_err(WebError::Unavailable)?;
    let body = serde_json::to_string_pretty(&bundle)
        .map_err(|_| WebError::Internal("the proof bundle could not be written"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"trygg-loggbevis.json\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// The audit log's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit/checkpoint", get(checkpoint))
        .route("/audit/key", get(key))
        .route("/audit/consistency", get(consistency))
        .route("/my-log/proof", get(my_proof))
}
