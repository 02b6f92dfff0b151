//! The CDR writer thread: call records and events go to the store here, off
//! the SIP core's path. [`CdrWriter`] is the cheap, cloneable handle the
//! call glue uses; sending never blocks.
//!
//! Durability: the thread takes everything queued (up to [`MAX_BATCH`]
//! messages), applies it in one transaction and commits before it takes
//! more. So once the writer has taken a `close`, the record is on disk
//! before anything later is handled; a `kill -9` loses only messages still
//! queued in memory (and closes their calls as `interrupted` on restart).
//! Batching matters under load: one fsync serves many calls.

use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::cdr::{CallRecord, Event};
use crate::store::cdr::{CdrStore, CdrWrite};

/// Messages applied in one transaction at most.
const MAX_BATCH: usize = 512;

enum Msg {
    // Boxed: a record is large and most messages are small events.
    Write(Box<CdrWrite>),
    /// Answered once everything sent before it is committed.
    Flush(mpsc::Sender<()>),
    Stop,
}

/// Handle for sending records and events to the writer thread.
#[derive(Clone)]
pub struct CdrWriter {
    tx: mpsc::Sender<Msg>,
}

impl CdrWriter {
    /// A call started: store its open record (see [`crate::cdr::Journey::snapshot`]).
    /// Calling it again later updates the open record.
    pub fn open(&self, rec: &CallRecord) {
        self.send(CdrWrite::Open(rec.clone()));
    }

    /// The call ended: store the final record.
    pub fn close(&self, rec: CallRecord) {
        self.send(CdrWrite::Close(rec));
    }

    /// The agent's wrap-up for call `id` lasted `ms` (sent after `close`).
    pub fn wrap_up(&self, id: &str, ms: i64) {
        self.send(CdrWrite::WrapUp {
            id: id.to_string(),
            ms,
        });
    }

    pub fn event(&self, ev: Event) {
        self.send(CdrWrite::Event(ev));
    }

    pub fn events(&self, evs: impl IntoIterator<Item = Event>) {
        for ev in evs {
            self.event(ev);
        }
    }

    /// Waits until everything sent so far is committed (for shutdown and
    /// tests; the call path never waits).
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    fn send(&self, w: CdrWrite) {
        // After shutdown there is nobody to write; the call is lost either way.
        let _ = self.tx.send(Msg::Write(Box::new(w)));
    }
}

/// The thread itself; [`CdrThread::finish`] writes what is queued and stops it.
pub struct CdrThread {
    writer: CdrWriter,
    handle: Option<JoinHandle<()>>,
}

impl CdrThread {
    /// Closes records a crash left open (as `interrupted`), then starts the
    /// writer on `store`.
    pub fn start(mut store: Box<dyn CdrStore>, now_ms: i64) -> anyhow::Result<CdrThread> {
        let interrupted = store.close_interrupted(now_ms)?;
        if interrupted > 0 {
            tracing::warn!(
                calls = interrupted,
                "call records left open by the last run closed as interrupted"
            );
        }
        let (tx, rx) = mpsc::channel::<Msg>();
        let handle = std::thread::Builder::new()
            .name("cdr".into())
            .spawn(move || run(store, rx))?;
        Ok(CdrThread {
            writer: CdrWriter { tx },
            handle: Some(handle),
        })
    }

    pub fn writer(&self) -> CdrWriter {
        self.writer.clone()
    }

    /// Writes everything queued, then stops the thread.
    pub fn finish(mut self) {
        let _ = self.writer.tx.send(Msg::Stop);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn run(mut store: Box<dyn CdrStore>, rx: mpsc::Receiver<Msg>) {
    let mut batch = Vec::new();
    let mut waiting = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut stop = false;
        for msg in std::iter::once(first).chain(rx.try_iter().take(MAX_BATCH - 1)) {
            match msg {
                Msg::Write(w) => batch.push(*w),
                Msg::Flush(done) => waiting.push(done),
                Msg::Stop => {
                    stop = true;
                    break;
                }
            }
        }
        if !batch.is_empty() {
            commit(store.as_mut(), &batch);
            batch.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
        if stop {
            break;
        }
    }
}

/// Applies a batch; on failure (a PostgreSQL connection dropped, a full
/// disk) tries once more, then logs every record it could not store so the
/// data is at least in the log.
fn commit(store: &mut dyn CdrStore, batch: &[CdrWrite]) {
    let Err(first) = store.apply(batch) else {
        return;
    };
    tracing::warn!("cannot store call records, retrying: {first}");
    if let Err(e) = store.apply(batch) {
        tracing::error!(writes = batch.len(), "cannot store call records: {e}");
        for w in batch {
            if let CdrWrite::Close(rec) = w {
                tracing::error!(
                    record = %serde_json::to_string(rec).unwrap_or_default(),
                    "lost call record"
                );
            }
        }
    }
}
