//! `GET /api/cdrs?since=&until=&limit=`: call records from the CDR store
//! (SQLite or PostgreSQL), read with the store's own query on a blocking
//! thread — the core task and the CDR writer are not involved.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};
use crate::cdr::commands::parse_time;
use crate::cdr::CallRecord;

/// Records per answer unless `limit` says otherwise, and the most it may say.
const DEFAULT_LIMIT: usize = 1000;
const MAX_LIMIT: usize = 10_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Period {
    /// As `switchboard cdr export --since`: a date, a local time, RFC 3339,
    /// `today`, `yesterday`, `now`. Default: today (local midnight).
    since: Option<String>,
    /// Exclusive; default now.
    until: Option<String>,
    limit: Option<usize>,
}

#[derive(Debug, Serialize)]
pub(super) struct Records {
    since_unix_ms: i64,
    until_unix_ms: i64,
    /// More records matched than `limit`; ask again from the last one's
    /// `arrived_ms`.
    truncated: bool,
    records: Vec<CallRecord>,
}

pub(super) async fn cdrs(
    State(s): State<AppState>,
    Query(p): Query<Period>,
) -> Result<Json<Records>, ApiError> {
    let bad = |e: String| ApiError::new(StatusCode::BAD_REQUEST, e);
    let now = (s.now_ms)();
    let since = parse_time(p.since.as_deref().unwrap_or("today"), &s.zone, now)
        .map_err(|e| bad(format!("since: {e}")))?;
    let until = match p.until.as_deref() {
        Some(u) => parse_time(u, &s.zone, now).map_err(|e| bad(format!("until: {e}")))?,
        None => now,
    };
    if until <= since {
        return Err(bad("until must be after since".into()));
    }
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let at = s.cdr_store.clone();
    let read = tokio::task::spawn_blocking(move || {
        crate::store::cdr::open(&at)
            .and_then(|mut store| store.records(since, until))
            .map_err(|e| format!("{at}: {e}"))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let mut records = read.map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e))?;
    let truncated = records.len() > limit;
    records.truncate(limit);
    Ok(Json(Records {
        since_unix_ms: since,
        until_unix_ms: until,
        truncated,
        records,
    }))
}
