//! Hot reload: flows and prompts are watched (and reloaded on SIGHUP),
//! loaded and checked exactly as `switchboard check` would, and only a clean
//! set replaces the running one. Calls in progress keep the version they
//! started with (each IVR session holds its own `Arc<FlowSet>`); a broken edit
//! is refused with its `file:line:column` messages in the log and the previous
//! version keeps serving.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::admin::api::{FlowsStatus, ReloadError};
use crate::config::Config;
use crate::ivr::check::check_set;
use crate::ivr::commands::{queue_names_from_config, DEFAULT_QUEUES};
use crate::ivr::flow::FlowSet;
use crate::media::prompts::PromptLibrary;

/// A checked set of flows and prompts, ready to serve.
pub struct Loaded {
    pub flows: Arc<FlowSet>,
    pub prompts: Arc<PromptLibrary>,
}

/// Loads prompts and flows and checks them together; every problem is one line.
pub fn load(cfg: &Config) -> Result<Loaded, Vec<String>> {
    let prompts = PromptLibrary::load(&cfg.sounds_dir, &cfg.media.default_language)
        .map_err(|errs| errs.iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
    let flows = FlowSet::load_dir(&cfg.flows_dir)
        .map_err(|ps| ps.iter().map(|p| p.to_string()).collect::<Vec<_>>())?;
    let text = std::fs::read_to_string(&cfg.source).unwrap_or_default();
    let queues: Vec<String> = queue_names_from_config(&text)
        .unwrap_or_else(|| DEFAULT_QUEUES.iter().map(|q| q.to_string()).collect());
    let mut problems: Vec<String> = check_set(&flows, &queues, &prompts)
        .iter()
        .map(|p| p.to_string())
        .collect();
    for (number, n) in &cfg.numbers {
        if let Some(flow) = &n.flow {
            if flows.get(flow).is_none() {
                problems.push(format!(
                    "{}: number {number} needs flow {flow:?}, which is gone",
                    cfg.flows_dir.display()
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(Loaded {
            flows: Arc::new(flows),
            prompts: Arc::new(prompts),
        })
    } else {
        Err(problems)
    }
}

/// What the admin API shows about the set `loaded` as version `version`.
pub fn status(loaded: &Loaded, version: u64) -> FlowsStatus {
    FlowsStatus {
        version,
        loaded_unix_ms: jiff::Timestamp::now().as_millisecond(),
        flows: loaded
            .flows
            .flows()
            .iter()
            .map(|f| f.name.clone())
            .collect(),
        prompts: loaded.prompts.len(),
        last_error: None,
    }
}

/// Watches `flows_dir` and `sounds_dir` and listens for SIGHUP; sends each
/// successfully checked reload to `tx`, and the outcome of every attempt
/// (the version, or the refusal's problems) to `status`.
pub fn spawn(
    cfg: Config,
    tx: mpsc::UnboundedSender<Loaded>,
    status: watch::Sender<FlowsStatus>,
    stop: CancellationToken,
) {
    let (changed_tx, mut changed) = mpsc::unbounded_channel::<()>();
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if res.is_ok_and(|e| !e.kind.is_access()) {
            let _ = changed_tx.send(());
        }
    });
    let mut watcher = match watcher {
        Ok(w) => Some(w),
        Err(e) => {
            warn!("cannot watch for flow changes ({e}); SIGHUP still reloads");
            None
        }
    };
    if let Some(w) = watcher.as_mut() {
        // Directories, not files: editors save by writing a new file and renaming it.
        for dir in [&cfg.flows_dir, &cfg.sounds_dir] {
            if let Err(e) = w.watch(Path::new(dir), RecursiveMode::Recursive) {
                warn!(dir = %dir.display(), "cannot watch: {e}");
            }
        }
    }
    tokio::spawn(async move {
        let _keep = watcher;
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let hangup = async {
                match hup.as_mut() {
                    Some(h) => {
                        h.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let hangup = std::future::pending::<()>();
            tokio::select! {
                _ = stop.cancelled() => return,
                Some(()) = changed.recv() => {}
                _ = hangup => info!("SIGHUP: reloading flows and prompts"),
            }
            // An editor's save is several events: wait until things are quiet.
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(300)) => break,
                    Some(()) = changed.recv() => {}
                }
            }
            let cfg = cfg.clone();
            match tokio::task::spawn_blocking(move || load(&cfg)).await {
                Ok(Ok(loaded)) => {
                    info!(
                        flows = loaded.flows.flows().len(),
                        prompts = loaded.prompts.len(),
                        "flows and prompts reloaded"
                    );
                    status.send_modify(|s| {
                        let last_error = s.last_error.take();
                        *s = FlowsStatus {
                            last_error,
                            ..self::status(&loaded, s.version + 1)
                        };
                    });
                    let _ = tx.send(loaded);
                }
                Ok(Err(problems)) => {
                    for p in &problems {
                        error!("reload refused: {p}");
                    }
                    error!(
                        problems = problems.len(),
                        "reload refused; the previous flows keep serving"
                    );
                    status.send_modify(|s| {
                        s.last_error = Some(ReloadError {
                            at_unix_ms: jiff::Timestamp::now().as_millisecond(),
                            problems,
                        })
                    });
                }
                Err(e) => error!("reload failed: {e}"),
            }
        }
    });
}
