//! The admin HTTP server: JSON API, Prometheus `/metrics` and the live
//! wallboard (axum). It owns no call state: every answer is a snapshot the
//! core task takes on request ([`api::Request`] with a oneshot reply), and
//! agent commands go to the core's router like feature codes do.
//!
//! Every route but the wallboard's static files needs
//! `Authorization: Bearer <admin.token>` when a token is configured. The
//! page itself carries no data; it reads the token from the URL fragment
//! (never sent to the server) or asks for it.

pub mod api;
mod cdrs;
mod metrics;
mod staffing;
mod wallboard;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::server::media::MediaCounters;
use anyhow::Context;
use axum::extract::{Path, Request as HttpRequest, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::acd::{Command, RouterError, PAUSE_BREAK};
use crate::config::{AdminConfig, Config};
use api::{AgentView, FlowsStatus, Request, Snapshot};

/// How long a request waits for the core before answering 503.
const CORE_TIMEOUT: Duration = Duration::from_secs(5);

/// What every handler shares.
struct Shared {
    core: mpsc::Sender<Request>,
    /// SHA-256 of the token: compared in constant time, and equal lengths
    /// whatever the guess, so the length does not leak either.
    token: Option<[u8; 32]>,
    /// Extension → name, from the configuration.
    names: HashMap<String, String>,
    flows: watch::Receiver<FlowsStatus>,
    /// The latest wallboard snapshot as JSON (each SSE client clones this).
    feed: watch::Receiver<Option<Arc<str>>>,
    /// Wakes the feed: core changes, and a new wallboard client.
    wake: Arc<Notify>,
    /// The server's wall clock, Unix ms (follows `SWITCHBOARD_CLOCK`).
    now_ms: Clock,
    /// Whose midnight "today" means in CDR queries.
    zone: jiff::tz::TimeZone,
    cdr_store: crate::store::cdr::StoreLocation,
    media: Arc<MediaCounters>,
}

/// The server's wall clock, Unix milliseconds.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

type AppState = Arc<Shared>;

/// Where the admin server listens and what it talks to.
pub struct AdminLinks {
    pub core: mpsc::Sender<Request>,
    pub flows: watch::Receiver<FlowsStatus>,
    /// Notified by the core whenever live figures change.
    pub changed: Arc<Notify>,
    pub now_ms: Clock,
    /// The media thread's packet counters, for `/metrics`.
    pub media: Arc<MediaCounters>,
}

/// Binds `admin.listen` and serves until `stop`; returns the bound address.
pub async fn spawn(
    admin: &AdminConfig,
    cfg: &Config,
    links: AdminLinks,
    stop: CancellationToken,
) -> anyhow::Result<SocketAddr> {
    if let Some(why) = admin.refusal() {
        anyhow::bail!("{why}");
    }
    let listener = tokio::net::TcpListener::bind(admin.listen)
        .await
        .with_context(|| format!("cannot bind the admin API on {}", admin.listen))?;
    let addr = listener.local_addr()?;
    let token = admin
        .token
        .as_deref()
        .filter(|t| !t.is_empty())
        .map(|t| Sha256::digest(t.as_bytes()).into());
    if token.is_none() {
        warn!(%addr, "admin API without a token: anyone on this machine can use it");
    }
    let (feed_tx, feed) = watch::channel(None);
    let shared = Arc::new(Shared {
        core: links.core,
        token,
        names: cfg
            .agents
            .iter()
            .map(|a| (a.extension.clone(), a.name.clone()))
            .collect(),
        flows: links.flows,
        feed,
        wake: links.changed,
        now_ms: links.now_ms,
        zone: admin.zone(),
        cdr_store: cfg.cdr_store(),
        media: links.media,
    });
    tokio::spawn(feed_loop(shared.clone(), feed_tx, stop.clone()));
    let app = router(shared);
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await;
        if let Err(e) = served {
            warn!("admin API stopped: {e}");
        }
    });
    info!(%addr, "admin API, /metrics and wallboard listening");
    Ok(addr)
}

fn router(shared: AppState) -> Router {
    let api = Router::new()
        .route("/api/snapshot", get(snapshot))
        .route("/api/agents", get(agents))
        .route("/api/agents/{ext}", get(agent))
        .route("/api/agents/{ext}/{action}", post(agent_command))
        .route("/api/queues", get(queues))
        .route("/api/queues/{name}", get(queue))
        .route("/api/calls", get(calls))
        .route("/api/flows", get(flows))
        .route("/api/cdrs", get(cdrs::cdrs))
        .route("/api/wallboard/stream", get(wallboard::stream))
        .route("/metrics", get(metrics::metrics))
        .route_layer(middleware::from_fn_with_state(shared.clone(), auth));
    Router::new()
        .merge(api)
        .merge(wallboard::assets())
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such resource") })
        .with_state(shared)
}

/// `Authorization: Bearer <token>` (RFC 6750 §2.1), or 401 with a
/// `WWW-Authenticate` challenge (§3).
async fn auth(State(s): State<AppState>, req: HttpRequest, next: Next) -> Response {
    let Some(want) = &s.token else {
        return next.run(req).await;
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| Sha256::digest(t.trim().as_bytes()));
    match given {
        Some(g) if bool::from(g.as_slice().ct_eq(want)) => next.run(req).await,
        _ => {
            let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "missing or wrong bearer token")
                .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"switchboard\""),
            );
            r
        }
    }
}

/// `{"error": "..."}` with a status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    fn unavailable() -> ApiError {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the call core is not answering",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

impl From<RouterError> for ApiError {
    fn from(e: RouterError) -> ApiError {
        let status = match e {
            RouterError::UnknownAgent(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::CONFLICT,
        };
        ApiError::new(status, e.to_string())
    }
}

/// Sends a request to the core and waits for its answer.
async fn ask<T>(
    s: &Shared,
    make: impl FnOnce(oneshot::Sender<T>) -> Request,
) -> Result<T, ApiError> {
    let (tx, rx) = oneshot::channel();
    s.core
        .send(make(tx))
        .await
        .map_err(|_| ApiError::unavailable())?;
    match tokio::time::timeout(CORE_TIMEOUT, rx).await {
        Ok(Ok(v)) => Ok(v),
        _ => Err(ApiError::unavailable()),
    }
}

impl Shared {
    fn name_agent(&self, a: &mut AgentView) {
        a.name = self.names.get(&a.extension).cloned().unwrap_or_default();
    }

    /// A snapshot with the agents' names and the Erlang agent counts (the
    /// core hands over the traffic; searching for agent counts is done here,
    /// off the core task).
    async fn snapshot(&self) -> Result<Snapshot, ApiError> {
        let mut snap = ask(self, Request::Snapshot).await?;
        snap.agents.iter_mut().for_each(|a| self.name_agent(a));
        for q in &mut snap.queues {
            let sl = &q.service_level;
            if let Some(s) = q.staffing.as_mut() {
                staffing::advise(s, sl);
            }
        }
        Ok(snap)
    }
}

async fn snapshot(State(s): State<AppState>) -> Result<Json<Snapshot>, ApiError> {
    Ok(Json(s.snapshot().await?))
}

async fn agents(State(s): State<AppState>) -> Result<Json<Vec<AgentView>>, ApiError> {
    Ok(Json(s.snapshot().await?.agents))
}

async fn agent(
    State(s): State<AppState>,
    Path(ext): Path<String>,
) -> Result<Json<AgentView>, ApiError> {
    let agents = s.snapshot().await?.agents;
    found(agents, |a| a.extension == ext, || format!("no agent {ext}"))
}

/// The one item `is` picks, or 404 with `missing()`.
fn found<T>(
    items: Vec<T>,
    is: impl Fn(&T) -> bool,
    missing: impl FnOnce() -> String,
) -> Result<Json<T>, ApiError> {
    items
        .into_iter()
        .find(is)
        .map(Json)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, missing()))
}

/// The optional body of `POST /api/agents/{ext}/pause`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PauseBody {
    reason: Option<String>,
}

async fn agent_command(
    State(s): State<AppState>,
    Path((ext, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<AgentView>, ApiError> {
    let body: PauseBody = if body.iter().all(u8::is_ascii_whitespace) {
        PauseBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")))?
    };
    let command = match action.as_str() {
        "login" => Command::Login,
        "logout" => Command::Logout,
        "pause" => Command::Pause {
            reason: body
                .reason
                .filter(|r| !r.trim().is_empty())
                .unwrap_or_else(|| PAUSE_BREAK.to_string()),
        },
        "unpause" => Command::Unpause,
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no action {other:?}: login, logout, pause or unpause"),
            ))
        }
    };
    let mut view = ask(&s, |reply| Request::AgentCommand {
        agent: ext,
        command,
        reply,
    })
    .await??;
    s.name_agent(&mut view);
    Ok(Json(view))
}

async fn queues(State(s): State<AppState>) -> Result<Json<Vec<api::QueueView>>, ApiError> {
    Ok(Json(s.snapshot().await?.queues))
}

async fn queue(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<api::QueueView>, ApiError> {
    let queues = s.snapshot().await?.queues;
    found(queues, |q| q.name == name, || format!("no queue {name}"))
}

async fn calls(State(s): State<AppState>) -> Result<Json<Vec<api::CallView>>, ApiError> {
    Ok(Json(s.snapshot().await?.calls))
}

async fn flows(State(s): State<AppState>) -> Json<FlowsStatus> {
    Json(s.flows.borrow().clone())
}

/// Takes a wallboard snapshot whenever the core reports a change (at most
/// five a second) and at least every second (waits grow by themselves),
/// but only while someone watches.
async fn feed_loop(s: AppState, tx: watch::Sender<Option<Arc<str>>>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
            _ = s.wake.notified() => {}
        }
        // `Shared` holds one receiver itself.
        if tx.receiver_count() <= 1 {
            continue;
        }
        if let Ok(snap) = s.snapshot().await {
            if let Ok(json) = serde_json::to_string(&snap) {
                tx.send_replace(Some(Arc::from(json)));
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

#[cfg(test)]
mod tests;
