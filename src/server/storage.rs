//! The storage thread: SQLite writes happen here, off the SIP core's path.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use crate::store::{BindingStore, StoredBinding};

pub enum StoreCommand {
    Bindings {
        extension: String,
        bindings: Vec<StoredBinding>,
    },
}

pub struct StorageThread {
    tx: Option<mpsc::Sender<StoreCommand>>,
    handle: Option<JoinHandle<()>>,
}

impl StorageThread {
    /// Opens the database, returns the bindings stored so far and the writer.
    pub fn start(db: &Path) -> anyhow::Result<(Vec<(String, StoredBinding)>, StorageThread)> {
        let mut store = BindingStore::open(db)
            .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", db.display()))?;
        let loaded = store.load(BindingStore::now_unix())?;
        let (tx, rx) = mpsc::channel::<StoreCommand>();
        let handle = std::thread::Builder::new()
            .name("storage".into())
            .spawn(move || {
                // Take everything queued and write it in one transaction: under a
                // registration storm most changes are refreshes of the same extensions.
                while let Ok(first) = rx.recv() {
                    let mut latest: std::collections::BTreeMap<String, Vec<StoredBinding>> =
                        Default::default();
                    for cmd in std::iter::once(first).chain(rx.try_iter()) {
                        match cmd {
                            StoreCommand::Bindings {
                                extension,
                                bindings,
                            } => {
                                latest.insert(extension, bindings);
                            }
                        }
                    }
                    if let Err(e) = store.replace_many(&latest) {
                        tracing::error!("cannot store registrations: {e}");
                    }
                }
            })?;
        Ok((
            loaded,
            StorageThread {
                tx: Some(tx),
                handle: Some(handle),
            },
        ))
    }

    pub fn send(&self, cmd: StoreCommand) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(cmd);
        }
    }

    /// Writes everything queued, then stops the thread.
    pub fn finish(mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
