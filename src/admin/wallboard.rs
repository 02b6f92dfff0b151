//! The supervisor's wallboard: one hand-written page (HTML, CSS, JS with SVG
//! charts) compiled into the binary — no build step, nothing from a CDN —
//! and the Server-Sent Events stream it reads (`/api/wallboard/stream`).

use std::convert::Infallible;

use axum::extract::State;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use futures_util::Stream;

use super::AppState;

const INDEX: &str = include_str!("wallboard/index.html");
const SCRIPT: &str = include_str!("wallboard/wallboard.js");
const STYLE: &str = include_str!("wallboard/wallboard.css");

/// The page and its two assets; public (they carry no data).
pub(super) fn assets() -> Router<AppState> {
    fn asset(body: &'static str, kind: &'static str) -> impl IntoResponse + Clone {
        ([(header::CONTENT_TYPE, kind)], body)
    }
    Router::new()
        .route(
            "/",
            get(|| async { asset(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/wallboard.js",
            get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/wallboard.css",
            get(|| async { asset(STYLE, "text/css; charset=utf-8") }),
        )
}

/// `event: snapshot` with the whole [`Snapshot`](super::api::Snapshot) as
/// JSON, at once and then on every change. A slow client skips to the latest.
pub(super) async fn stream(
    State(s): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut rx = s.feed.clone();
    rx.mark_changed();
    // The feed only works while someone watches: take a snapshot now.
    s.wake.notify_one();
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            // Ends when the feed stops (server shutdown).
            rx.changed().await.ok()?;
            let latest = rx.borrow_and_update().clone();
            if let Some(json) = latest {
                let ev = Event::default().event("snapshot").data(&*json);
                return Some((Ok(ev), rx));
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::default())
}
