//! Voicemail messages: the JSON record beside each WAV.

use std::time::{Duration, Instant};

use tracing::warn;

use super::{Calls, VoicemailMeta};

impl Calls {
    /// Writes `<message>.json` beside the WAV: who called, when, how long.
    pub(super) fn save_voicemail_info(
        &self,
        meta: &VoicemailMeta,
        wav: &std::path::Path,
        duration: Duration,
    ) {
        let info = serde_json::json!({
            "caller": meta.caller,
            "dialed": meta.dialed,
            "call_id": meta.sip_call_id,
            "received_unix_ms": self.clock.at(Instant::now()) - duration.as_millis() as i64,
            "duration_ms": duration.as_millis() as u64,
            "wav": wav.file_name().map(|f| f.to_string_lossy().to_string()),
        });
        let path = wav.with_extension("json");
        if let Err(e) = std::fs::write(&path, info.to_string()) {
            warn!(path = %path.display(), "cannot write voicemail details: {e}");
        }
    }
}
