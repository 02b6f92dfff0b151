//! The `check`, `simulate` and `graph` subcommands, kept out of `main.rs` so
//! tests can call them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::check::{check_flows, DirPrompts, PromptCatalog};
use super::flow::{flow_files, Flow, FlowSet};
use super::graph::{self, Format};
use super::simulate::{parse_script, simulate as run, LookupStub, SimOptions};
use crate::cli::{GraphArgs, GraphFormat, SimulateArgs};
use crate::config::Config;
use crate::media::prompts::PromptLibrary;

/// Queue names `check` accepts until queues are configured (issue 5).
pub const DEFAULT_QUEUES: [&str; 4] = ["billing", "tech", "orders", "operator"];

/// The keys of an optional top-level `queues:` map in the configuration text.
pub fn queue_names_from_config(text: &str) -> Option<Vec<String>> {
    let v: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    let q = v.get("queues")?.as_mapping()?;
    Some(
        q.keys()
            .filter_map(|k| k.as_str().map(String::from))
            .collect(),
    )
}

/// Problems of every flow of `cfg`, as printable lines (prompt library errors
/// first: a broken WAV is as fatal as a broken flow).
pub fn check(cfg: &Config) -> Vec<String> {
    let mut lines = Vec::new();
    let text = std::fs::read_to_string(&cfg.source).unwrap_or_default();
    let queues: Vec<String> = queue_names_from_config(&text)
        .unwrap_or_else(|| DEFAULT_QUEUES.iter().map(|s| s.to_string()).collect());
    let library = PromptLibrary::load(&cfg.sounds_dir, &cfg.media.default_language);
    let dir = DirPrompts::new(&cfg.sounds_dir);
    let catalog: &dyn PromptCatalog = match &library {
        Ok(lib) => lib,
        Err(errors) => {
            lines.extend(errors.iter().map(|e| e.to_string()));
            &dir
        }
    };
    lines.extend(
        check_flows(cfg, &queues, catalog)
            .iter()
            .map(|p| p.to_string()),
    );
    lines
}

/// Resolves a flow argument to (directory of flows, flow name).
fn resolve(flow: &str, config: &Path) -> Result<(PathBuf, String, Option<Config>), String> {
    let p = Path::new(flow);
    let is_path = p.is_file() || flow.ends_with(".yaml") || flow.ends_with(".yml");
    if is_path {
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let name = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok((dir, name, Config::load(config).ok()));
    }
    let cfg = Config::load(config).map_err(|e| e.to_string())?;
    Ok((cfg.flows_dir.clone(), flow.to_string(), Some(cfg)))
}

/// Loads the flow `name` and every sibling that compiles (for `goto flow:`).
fn load(dir: &Path, name: &str) -> Result<Arc<FlowSet>, String> {
    let target = dir.join(format!("{name}.yaml"));
    let target = if target.is_file() {
        target
    } else {
        dir.join(format!("{name}.yml"))
    };
    let main = Flow::load(&target).map_err(|ps| {
        ps.iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let mut flows = vec![main];
    for f in flow_files(dir).unwrap_or_default() {
        if f != target {
            if let Ok(flow) = Flow::load(&f) {
                flows.push(flow);
            }
        }
    }
    Ok(Arc::new(FlowSet::new(flows)))
}

/// Parses `--at`: `2026-11-23T10:00:00[Europe/London]` or RFC 3339.
pub fn parse_at(s: &str) -> Result<i64, String> {
    if let Ok(z) = s.parse::<jiff::Zoned>() {
        return Ok(z.timestamp().as_millisecond());
    }
    s.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| {
            format!("--at `{s}`: write 2026-11-23T10:00:00[Europe/London] or 2026-11-23T10:00:00Z")
        })
}

/// `switchboard simulate`: the printed steps, or why it could not run.
pub fn simulate(args: &SimulateArgs) -> Result<String, String> {
    let (dir, name, cfg) = resolve(&args.flow, &args.config.config)?;
    let flows = load(&dir, &name)?;
    let script = parse_script(&args.input).map_err(|e| format!("--input: {e}"))?;
    let lookups = args
        .lookup
        .iter()
        .map(|l| LookupStub::parse(l))
        .collect::<Result<Vec<_>, _>>()?;
    let wall = match &args.at {
        Some(at) => parse_at(at)?,
        // The command line may read the clock; the interpreter never does.
        None => jiff::Timestamp::now().as_millisecond(),
    };
    let language = args
        .language
        .clone()
        .or_else(|| cfg.map(|c| c.media.default_language))
        .unwrap_or_else(|| "en".into());
    let opts = SimOptions {
        caller: args.caller.clone(),
        dialed: args.dialed.clone(),
        language,
        wall_time_unix_ms: wall,
        lookups,
        prompt_length: args.prompt_length,
        ..SimOptions::default()
    };
    run(flows, &name, &script, &opts)
        .map(|(text, _)| text)
        .map_err(|e| e.to_string())
}

/// `switchboard graph`: the diagram text.
pub fn graph(args: &GraphArgs) -> Result<String, String> {
    let (dir, name, _) = resolve(&args.flow, &args.config.config)?;
    let flows = load(&dir, &name)?;
    let flow = flows
        .get(&name)
        .ok_or_else(|| format!("no flow named `{name}`"))?;
    let format = match args.format {
        GraphFormat::Dot => Format::Dot,
        GraphFormat::Mermaid => Format::Mermaid,
    };
    Ok(graph::render(flow, format))
}
