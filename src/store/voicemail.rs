//! Voicemail on disk: `var/voicemail/<box>/<unix-ms>-<caller>.wav`, each with a
//! `.json` beside it (caller, dialled number, time, duration) written when the
//! recording ends. Plain files, so an admin can also just copy them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    #[serde(default)]
    pub mailbox: String,
    pub caller: String,
    #[serde(default)]
    pub dialed: String,
    #[serde(default)]
    pub call_id: String,
    pub received_unix_ms: i64,
    pub duration_ms: u64,
    #[serde(default)]
    pub wav: Option<String>,
    #[serde(skip)]
    pub path: PathBuf,
}

/// Every message under `dir` (optionally one mailbox), newest first.
pub fn list(dir: &Path, mailbox: Option<&str>) -> std::io::Result<Vec<Message>> {
    let mut out = Vec::new();
    let boxes = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for b in boxes.flatten() {
        let name = b.file_name().to_string_lossy().to_string();
        if !b.path().is_dir() || mailbox.is_some_and(|m| m != name) {
            continue;
        }
        for f in std::fs::read_dir(b.path())?.flatten() {
            let p = f.path();
            if p.extension().is_none_or(|e| e != "json") {
                continue;
            }
            // A half-written or foreign file is skipped, not fatal.
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            let Ok(mut m) = serde_json::from_str::<Message>(&text) else {
                continue;
            };
            m.mailbox = name.clone();
            m.path = p.with_extension("wav");
            out.push(m);
        }
    }
    out.sort_by_key(|m| std::cmp::Reverse(m.received_unix_ms));
    Ok(out)
}

/// `switchboard voicemail list` output.
pub fn list_text(dir: &Path, mailbox: Option<&str>, json: bool) -> Result<String, String> {
    let msgs = list(dir, mailbox).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = String::new();
    if json {
        for m in &msgs {
            let mut v = serde_json::to_value(m).map_err(|e| e.to_string())?;
            v["path"] = serde_json::Value::String(m.path.display().to_string());
            out.push_str(&v.to_string());
            out.push('\n');
        }
        return Ok(out);
    }
    if msgs.is_empty() {
        return Ok("no voicemail\n".into());
    }
    out.push_str(&format!(
        "{:<12} {:<25} {:<16} {:>8}  {}\n",
        "box", "received (UTC)", "caller", "seconds", "file"
    ));
    for m in &msgs {
        let when = jiff::Timestamp::from_millisecond(m.received_unix_ms)
            .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|_| m.received_unix_ms.to_string());
        out.push_str(&format!(
            "{:<12} {:<25} {:<16} {:>8.1}  {}\n",
            m.mailbox,
            when,
            m.caller,
            m.duration_ms as f64 / 1000.0,
            m.path.display()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_newest_first_per_box() {
        let dir = tempfile::tempdir().unwrap();
        for (b, t, caller) in [
            ("support", 1000, "0611"),
            ("support", 3000, "0622"),
            ("sales", 2000, "0633"),
        ] {
            let d = dir.path().join(b);
            std::fs::create_dir_all(&d).unwrap();
            let json = format!(
                "{{\"caller\":\"{caller}\",\"received_unix_ms\":{t},\"duration_ms\":4200}}"
            );
            std::fs::write(d.join(format!("{t}-{caller}.json")), json).unwrap();
        }
        std::fs::write(dir.path().join("support/garbage.json"), "{").unwrap();
        let all = list(dir.path(), None).unwrap();
        assert_eq!(
            all.iter().map(|m| m.caller.as_str()).collect::<Vec<_>>(),
            ["0622", "0633", "0611"]
        );
        let support = list(dir.path(), Some("support")).unwrap();
        assert_eq!(support.len(), 2);
        assert!(support[0].path.ends_with("support/3000-0622.wav"));
        let text = list_text(dir.path(), Some("sales"), false).unwrap();
        assert!(
            text.contains("sales") && text.contains("0633") && text.contains("4.2"),
            "{text}"
        );
        assert_eq!(
            list_text(&dir.path().join("none"), None, false).unwrap(),
            "no voicemail\n"
        );
    }
}
