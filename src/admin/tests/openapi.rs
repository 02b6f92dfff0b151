//! docs/openapi.yaml against the real admin router: the operations it lists
//! are the routes `router` serves (read from the `.route(` calls in
//! src/admin/), and every answer from a busy centre — each route, agent
//! commands, every error — has a status, content type, headers and body the
//! spec documents for that operation. JSON bodies are validated with JSON
//! Schema 2020-12 (OpenAPI 3.1's dialect), `$ref`s resolved in the document.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};

use super::*;

const SPEC: &str = include_str!("../../../docs/openapi.yaml");
const TOKEN: &str = "sesame-sesame";
const AUTH: Option<&str> = Some("Bearer sesame-sesame");

/// The method routers axum offers; `route_calls` looks for these.
const METHODS: [&str; 8] = [
    "get", "post", "put", "patch", "delete", "head", "options", "trace",
];

/// One documented answer: method, path template, status, media type.
type Answer = (String, String, String, String);

/// The OpenAPI document, its compiled schemas and the answers seen so far.
struct Spec {
    doc: Value,
    validators: BTreeMap<String, jsonschema::Validator>,
    seen: BTreeSet<Answer>,
}

impl Spec {
    fn load() -> Spec {
        let doc: Value = serde_yaml::from_str(SPEC).expect("docs/openapi.yaml is YAML");
        assert_eq!(doc["openapi"], "3.1.0");
        Spec {
            doc,
            validators: BTreeMap::new(),
            seen: BTreeSet::new(),
        }
    }

    fn paths(&self) -> &serde_json::Map<String, Value> {
        self.doc["paths"].as_object().expect("paths")
    }

    /// (METHOD, path template) of every operation.
    fn operations(&self) -> BTreeSet<(String, String)> {
        let mut ops = BTreeSet::new();
        for (path, item) in self.paths() {
            for method in item.as_object().expect("path item").keys() {
                if METHODS.contains(&method.as_str()) {
                    ops.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        ops
    }

    fn operation(&self, method: &str, template: &str) -> &Value {
        let op = &self.paths()[template][method.to_lowercase()];
        assert!(op.is_object(), "the spec has no {method} {template}");
        op
    }

    /// `security: []` overrides the document's bearer requirement.
    fn is_public(&self, method: &str, template: &str) -> bool {
        self.operation(method, template)["security"] == json!([])
    }

    /// The path template `uri` falls under (literal segments equal, `{x}`
    /// matches any one segment).
    fn template(&self, uri: &str) -> String {
        let path = uri.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').collect();
        let matches = |t: &str| {
            let ts: Vec<&str> = t.split('/').collect();
            ts.len() == segments.len()
                && ts
                    .iter()
                    .zip(&segments)
                    .all(|(t, s)| t == s || (t.starts_with('{') && t.ends_with('}')))
        };
        let found: Vec<&String> = self.paths().keys().filter(|t| matches(t)).collect();
        assert_eq!(found.len(), 1, "{uri} falls under {found:?} in the spec");
        found[0].clone()
    }

    /// A response object and its JSON pointer, following a `$ref`.
    fn response(&self, method: &str, template: &str, status: StatusCode) -> (String, &Value) {
        let status = status.as_str();
        let r = &self.operation(method, template)["responses"][status];
        assert!(
            r.is_object(),
            "{method} {template} answered {status}, which the spec does not list"
        );
        match r["$ref"].as_str() {
            Some(to) => {
                let pointer = to.strip_prefix('#').expect("a local $ref");
                (pointer.to_string(), self.doc.pointer(pointer).expect(to))
            }
            None => {
                let pointer = format!(
                    "/paths/{}/{}/responses/{status}",
                    escape(template),
                    method.to_lowercase()
                );
                (pointer, r)
            }
        }
    }

    /// Every answer the spec documents.
    fn documented(&self) -> BTreeSet<Answer> {
        let mut all = BTreeSet::new();
        for (method, template) in self.operations() {
            let responses = self.operation(&method, &template)["responses"]
                .as_object()
                .expect("responses");
            for status in responses.keys() {
                let code = StatusCode::from_bytes(status.as_bytes()).expect("a status code");
                let (_, r) = self.response(&method, &template, code);
                for media in r["content"].as_object().expect("content").keys() {
                    all.insert((
                        method.clone(),
                        template.clone(),
                        status.clone(),
                        media.clone(),
                    ));
                }
            }
        }
        all
    }

    /// The schema at `pointer` in the document, compiled once.
    fn validator(&mut self, pointer: &str) -> &jsonschema::Validator {
        let doc = &self.doc;
        self.validators
            .entry(pointer.to_string())
            .or_insert_with(|| {
                let schema = doc
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("no {pointer}"));
                // The whole document is the root, so `#/components/...` resolves.
                let mut root = doc.clone();
                root["allOf"] = json!([schema]);
                jsonschema::draft202012::options()
                    .should_validate_formats(true)
                    .build(&root)
                    .unwrap_or_else(|e| panic!("{pointer} is not a valid schema: {e}"))
            })
    }

    /// Asserts that `instance` matches the schema at `pointer`.
    fn validate(&mut self, pointer: &str, instance: &Value, what: &str) {
        let errors: Vec<String> = self
            .validator(pointer)
            .iter_errors(instance)
            .map(|e| format!("  {} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what} does not match {pointer}:\n{}\n{instance:#}",
            errors.join("\n")
        );
    }

    /// A request body the server took must match the operation's request
    /// schema, and one it refused as malformed (400 with an `Error`) must not.
    fn check_request_body(&mut self, method: &str, template: &str, body: &str, answer: Answer) {
        let pointer = format!(
            "/paths/{}/{}/requestBody/content/application~1json/schema",
            escape(template),
            method.to_lowercase()
        );
        if body.trim().is_empty() || self.doc.pointer(&pointer).is_none() {
            return;
        }
        let parsed: Option<Value> = serde_json::from_str(body).ok();
        let valid = parsed.is_some_and(|v| self.validator(&pointer).is_valid(&v));
        match (answer.2.as_str(), answer.3.as_str()) {
            ("200", _) => assert!(
                valid,
                "{method} {template} took {body:?}, the spec refuses it"
            ),
            ("400", "application/json") => {
                assert!(
                    !valid,
                    "{method} {template} refused {body:?}, the spec takes it"
                )
            }
            _ => {}
        }
    }

    /// Sends the request and checks the answer against the spec; returns
    /// the status and the body (the first event's data for an event stream).
    async fn exercise(
        &mut self,
        app: &Router,
        method: &str,
        uri: &str,
        auth: Option<&str>,
        body: &str,
    ) -> (StatusCode, String) {
        let resp = send(app, method, uri, auth, body).await;
        let status = resp.status();
        let what = format!("the answer to {method} {uri} ({status})");
        let template = self.template(uri);
        let (pointer, response) = self.response(method, &template, status);
        let response = response.clone();
        for (name, header) in response["headers"].as_object().into_iter().flatten() {
            let value = resp.headers().get(name.as_str());
            if header["required"] == json!(true) {
                assert!(value.is_some(), "{what} has no {name} header");
            }
            if let Some(v) = value {
                let v = json!(v.to_str().expect("a text header"));
                let at = format!("{pointer}/headers/{}/schema", escape(name));
                self.validate(&at, &v, &what);
            }
        }
        let media = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_else(|| panic!("{what} has no Content-Type"));
        assert!(
            response["content"][&media].is_object(),
            "{what} is {media}, which the spec does not list"
        );
        let answer = (
            method.to_string(),
            template.clone(),
            status.as_str().to_string(),
            media.clone(),
        );
        self.check_request_body(method, &template, body, answer.clone());
        self.seen.insert(answer);
        let schema = format!("{pointer}/content/{}/schema", escape(&media));
        match media.as_str() {
            "application/json" => {
                let body = text(resp).await;
                let v: Value = serde_json::from_str(&body)
                    .unwrap_or_else(|e| panic!("{what} is not JSON ({e}): {body}"));
                self.validate(&schema, &v, &what);
                (status, body)
            }
            "text/event-stream" => {
                let (event, data) = first_event(resp).await;
                let events = format!("{pointer}/content/{}/x-sse-events", escape(&media));
                let at = format!("{events}/{}", escape(&event));
                assert!(
                    self.doc.pointer(&at).is_some(),
                    "{what} has event {event:?}, which the spec does not list"
                );
                let v: Value = serde_json::from_str(&data)
                    .unwrap_or_else(|e| panic!("{what} has data that is not JSON ({e}): {data}"));
                self.validate(&at, &v, &what);
                (status, data)
            }
            _ => (status, text(resp).await),
        }
    }

    /// `exercise` that expects `want`.
    async fn expect(
        &mut self,
        app: &Router,
        (method, uri, auth, body): (&str, &str, Option<&str>, &str),
        want: StatusCode,
    ) -> String {
        let (status, body) = self.exercise(app, method, uri, auth, body).await;
        assert_eq!(status, want, "{method} {uri}: {body}");
        body
    }
}

/// A JSON pointer token (RFC 6901 §3).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The first Server-Sent Event of an endless stream: its name and data.
async fn first_event(resp: Response) -> (String, String) {
    let mut stream = resp.into_body().into_data_stream();
    let mut buf = String::new();
    // An event ends with a blank line (WHATWG HTML, "Server-sent events").
    while !buf.contains("\n\n") {
        // Only a guard against a hang: the feed answers at once.
        let chunk = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .expect("no event within 30 s")
            .expect("the stream ended")
            .expect("a body chunk");
        buf.push_str(std::str::from_utf8(&chunk).expect("UTF-8 events"));
    }
    let frame = buf
        .split("\n\n")
        .find(|f| !f.starts_with(':'))
        .unwrap_or_default();
    let mut event = String::from("message");
    let mut data = Vec::new();
    for line in frame.lines() {
        if let Some(e) = line.strip_prefix("event:") {
            event = e.trim_start().to_string();
        } else if let Some(d) = line.strip_prefix("data:") {
            data.push(d.strip_prefix(' ').unwrap_or(d));
        }
    }
    (event, data.join("\n"))
}

/// (METHOD, path) of every `.route(` call in src/admin/*.rs: what `router`
/// serves.
fn served_routes() -> BTreeSet<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/admin");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).expect("src/admin") {
        let path = entry.expect("a directory entry").path();
        if path.extension() != Some("rs".as_ref()) || path.ends_with("tests.rs") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("a source file");
        // Routes added another way would escape this reading of the source.
        for other in [".nest(", ".nest_service(", ".route_service("] {
            assert!(
                !src.contains(other),
                "{}: teach served_routes about `{other}`",
                path.display()
            );
        }
        routes.extend(route_calls(&src));
    }
    routes
}

/// The `.route("path", get(..).post(..))` calls of one source file.
fn route_calls(src: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (at, call) in src.match_indices(".route(") {
        let args = src[at + call.len()..].trim_start();
        let args = args
            .strip_prefix('"')
            .expect("the path of .route( is a string literal");
        let end = args.find('"').expect("a closing quote");
        let path = &args[..end];
        // Method routers are the calls at the top level of the arguments.
        let (mut depth, mut ident) = (1, String::new());
        for c in args[end + 1..].chars() {
            match c {
                '(' => {
                    if depth == 1 && METHODS.contains(&ident.as_str()) {
                        out.push((ident.to_uppercase(), path.to_string()));
                    }
                    depth += 1;
                    ident.clear();
                }
                ')' => {
                    depth -= 1;
                    ident.clear();
                    if depth == 0 {
                        break;
                    }
                }
                c if c.is_alphanumeric() || c == '_' => ident.push(c),
                _ => ident.clear(),
            }
        }
    }
    out
}

/// A busy centre: an agent in every state, a queue with a ringing and a
/// waiting caller, calls in the IVR, queued, ringing and connected, the
/// day's slots, and a flow reload that was refused.
fn busy_world(cdr_db: PathBuf) -> World {
    let mut snap = snapshot();
    snap.now_unix_ms = NOW_MS;
    snap.agents = vec![
        agent("1001", "available"),
        AgentView {
            call: Some(7),
            direct: true,
            after_call: Some(AfterCallView {
                state: "available",
                reason: None,
            }),
            ..agent("1002", "offered")
        },
        AgentView {
            call: Some(5),
            after_call: Some(AfterCallView {
                state: "paused",
                reason: Some("lunch".into()),
            }),
            ..agent("1003", "on-call")
        },
        AgentView {
            after_call: Some(AfterCallView {
                state: "logged-out",
                reason: None,
            }),
            ..agent("1004", "wrap-up")
        },
        AgentView {
            reason: Some("lunch".into()),
            ..agent("1005", "paused")
        },
        agent("1006", "logged-out"),
        agent("1007", "unreachable"),
    ];
    let q = &mut snap.queues[0];
    let caller = |call: u64, waited_s, position, status| CallerView {
        call,
        caller: format!("20{call:02}"),
        waited_s,
        position: Some(position),
        status,
    };
    q.callers = vec![caller(7, 41.2, 1, "ringing"), caller(9, 12.0, 2, "waiting")];
    (q.waiting, q.ringing) = (1, 1);
    q.agents = AGENT_STATES
        .iter()
        .map(|s| (*s, snap.agents.iter().filter(|a| a.state == *s).count()))
        .collect();
    q.average_handle_s = 212.0;
    if let Some(s) = q.staffing.as_mut() {
        s.patience_s = Some(95.0);
    }
    let queue = q.name.clone();
    let in_progress = |call: u64, status, agent: Option<&str>| CallView {
        call,
        sip_call_id: format!("{call}-caller@127.0.0.1"),
        caller: format!("20{call:02}"),
        number: "5000".into(),
        status,
        flow: Some("support".into()),
        queue: Some(queue.clone()),
        agent: agent.map(str::to_string),
        duration_s: 60.0 + call as f64,
    };
    snap.calls = vec![
        in_progress(5, "connected", Some("1003")),
        in_progress(7, "ringing", None),
        in_progress(9, "queued", None),
        CallView {
            queue: None,
            ..in_progress(11, "ivr", None)
        },
    ];
    snap.today.current_slot = 40;
    snap.today.slots = vec![Counts::default(); 96];
    snap.today.slots[36] = snap.today.total;
    World {
        snapshot: snap,
        flows: FlowsStatus {
            version: 4,
            loaded_unix_ms: NOW_MS - 60_000,
            flows: vec!["support".into(), "sales".into()],
            prompts: 105,
            last_error: Some(ReloadError {
                at_unix_ms: NOW_MS - 5_000,
                problems: vec!["ivr-flows/support.yaml:12:5: no node `mian`".into()],
            }),
        },
        cdr_db,
    }
}

/// This morning's calls in the store at `db`, one for every way a call
/// ends and one still in progress; returns how many.
fn store_records(db: &Path) -> usize {
    use crate::cdr::{make_id, HungUpBy as By, Journey, OfferOutcome};
    use crate::ivr::interpreter::{RetryReason, TrailEntry as T};
    use crate::store::cdr::{open, CdrWrite, StoreLocation};

    let new = |n: i64| {
        // From 08:07 UTC, a minute apart.
        let at = NOW_MS - 2 * 3_600_000 + n * 60_000;
        let mut j = Journey::new(
            make_id(at, n as u32),
            format!("{n}-caller@127.0.0.1"),
            format!("+44200000{n:04}"),
            Some("Ann".into()),
            "5000",
            at,
        );
        j.answered(at + 300);
        j.trail(
            at + 400,
            &T::Node {
                flow: "support".into(),
                node: "menu".into(),
            },
        );
        (j, at)
    };
    let mut writes = Vec::new();
    let end = |j: Journey, ms, by, reason: &str| CdrWrite::Close(j.end(ms, by, reason).0);

    // Completed: the whole IVR trail, ring-all, hold, a transfer and
    // wrap-up.
    let (mut j, at) = new(1);
    let menu = || "menu".to_string();
    j.trail(
        at + 900,
        &T::Retry {
            node: menu(),
            attempt: 1,
            reason: RetryReason::Invalid("7".into()),
        },
    );
    j.trail(
        at + 1_500,
        &T::Key {
            node: menu(),
            key: "2".into(),
        },
    );
    j.trail(
        at + 1_600,
        &T::Set {
            name: "card".into(),
            value: crate::ivr::interpreter::MASK.into(),
        },
    );
    j.trail(at + 1_700, &T::Language("fa".into()));
    j.trail(
        at + 1_800,
        &T::Decision {
            node: "hours".into(),
            outcome: "open".into(),
        },
    );
    j.trail(
        at + 1_900,
        &T::Lookup {
            node: "crm".into(),
            ok: true,
        },
    );
    j.queued("bill\"ing", 5, at + 5_000);
    // Ring-all: one phone is busy, one rings out, the third answers.
    for agent in ["1001", "1002", "1003"] {
        j.offer(agent, at + 6_000);
    }
    j.offer_outcome("1002", OfferOutcome::Busy, at + 6_100);
    j.offer_outcome("1001", OfferOutcome::NoAnswer, at + 21_000);
    j.connected("1003", "agent-leg-1@127.0.0.1", at + 24_000);
    j.hold(true, at + 40_000);
    j.hold(false, at + 50_000);
    j.transfer("1004", at + 80_000);
    j.recording("var/recordings/1.wav");
    j.survey(4);
    let id = j.id().to_string();
    writes.push(end(j, at + 90_000, By::Agent, "remote hangup"));
    writes.push(CdrWrite::WrapUp { id, ms: 30_000 });

    // Abandoned while ringing.
    let (mut j, at) = new(2);
    j.queued("bill\"ing", 0, at + 2_000);
    j.offer("1001", at + 3_000);
    writes.push(end(j, at + 40_000, By::Caller, "caller hung up"));

    // Gave up in the menu and left a message.
    let (mut j, at) = new(3);
    j.trail(at + 9_000, &T::GaveUp { node: menu() });
    j.trail(
        at + 30_000,
        &T::Voicemail {
            box_name: "sales".into(),
            path: "var/voicemail/sales/3.wav".into(),
            duration: Duration::from_secs(12),
        },
    );
    writes.push(end(j, at + 31_000, By::Caller, "caller hung up"));

    // A callback that connected, and one that never reached the customer.
    for (n, answered) in [(4, true), (5, false)] {
        let (mut j, at) = new(n);
        j.queued("bill\"ing", 0, at + 1_000);
        j.callback_requested(format!("+44200000{n:04}"), at + 30_000);
        j.callback_attempt(at + 60_000, answered);
        if answered {
            j.connected("1001", "callback-leg@127.0.0.1", at + 65_000);
        }
        writes.push(end(j, at + 200_000, By::System, "callback over"));
    }

    // A broken flow, an IVR transfer, closed hours, a hang-up in the IVR
    // and self-service.
    let (mut j, at) = new(6);
    j.trail(at + 500, &T::Error("no node `mian`".into()));
    writes.push(end(j, at + 600, By::System, "flow error"));
    let (mut j, at) = new(7);
    j.transfer("+441234567", at + 3_000);
    writes.push(end(j, at + 3_500, By::System, "transferred"));
    let (mut j, at) = new(8);
    j.closed_hours();
    writes.push(end(j, at + 8_000, By::System, "closed"));
    let (j, at) = new(9);
    writes.push(end(j, at + 2_000, By::Caller, "caller hung up"));
    let (j, at) = new(10);
    writes.push(end(j, at + 20_000, By::System, "flow ended"));

    // Open when the server stopped, closed on the next start.
    let (j, at) = new(11);
    let mut r = j.snapshot();
    r.interrupt(at + 5_000);
    writes.push(CdrWrite::Close(r));

    // Still waiting.
    let (mut j, at) = new(12);
    j.queued("bill\"ing", 1, at + 1_000);
    writes.push(CdrWrite::Open(j.snapshot()));

    let n = writes
        .iter()
        .filter(|w| !matches!(w, CdrWrite::WrapUp { .. }))
        .count();
    open(&StoreLocation::Sqlite(db.to_path_buf()))
        .and_then(|mut store| store.apply(&writes))
        .expect("the CDR store takes the records");
    n
}

#[test]
fn the_spec_lists_exactly_the_routes_the_router_serves() {
    let served = served_routes();
    assert!(served.contains(&("POST".into(), "/api/agents/{ext}/{action}".into())));
    let documented = Spec::load().operations();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(undocumented.is_empty(), "not in the spec: {undocumented:?}");
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(unserved.is_empty(), "no such route: {unserved:?}");
}

/// The keywords a schema here may use (JSON Schema 2020-12 and OpenAPI's
/// `discriminator`); anything else is a typo or a YAML slip, such as a
/// comma splitting a flow mapping.
const SCHEMA_KEYWORDS: [&str; 24] = [
    "$ref",
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "format",
    "description",
    "oneOf",
    "anyOf",
    "allOf",
    "if",
    "then",
    "else",
    "discriminator",
    "default",
    "example",
];

/// Every schema in `v` (a schema itself when `is_schema`), with its pointer.
fn schemas<'a>(v: &'a Value, at: String, is_schema: bool, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(m) if is_schema => {
            out.push((at.clone(), v));
            for (k, sub) in m {
                let at = format!("{at}/{}", escape(k));
                match k.as_str() {
                    "properties" => {
                        for (name, p) in sub.as_object().into_iter().flatten() {
                            schemas(p, format!("{at}/{}", escape(name)), true, out);
                        }
                    }
                    "oneOf" | "anyOf" | "allOf" => {
                        for (i, s) in sub.as_array().into_iter().flatten().enumerate() {
                            schemas(s, format!("{at}/{i}"), true, out);
                        }
                    }
                    "items" | "additionalProperties" | "if" | "then" | "else" => {
                        schemas(sub, at, true, out)
                    }
                    _ => {}
                }
            }
        }
        Value::Object(m) => {
            for (k, sub) in m {
                let at = format!("{at}/{}", escape(k));
                if k == "schema" {
                    schemas(sub, at, true, out);
                } else if at == "/components/schemas" {
                    for (name, s) in sub.as_object().into_iter().flatten() {
                        schemas(s, format!("{at}/{}", escape(name)), true, out);
                    }
                } else {
                    schemas(sub, at, false, out);
                }
            }
        }
        Value::Array(a) => {
            for (i, sub) in a.iter().enumerate() {
                schemas(sub, format!("{at}/{i}"), false, out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_spec_is_well_formed() {
    let mut spec = Spec::load();
    let doc = spec.doc.clone();
    let mut found = Vec::new();
    schemas(&doc, String::new(), false, &mut found);
    assert!(found.len() > 100, "{}", found.len());
    for (at, schema) in &found {
        for k in schema.as_object().unwrap().keys() {
            assert!(SCHEMA_KEYWORDS.contains(&k.as_str()), "{at}: {k:?}");
        }
        if let Some(to) = schema["$ref"].as_str() {
            let target = to.strip_prefix('#').and_then(|p| doc.pointer(p));
            assert!(target.is_some(), "{at}: {to} leads nowhere");
        }
    }
    // Examples beside a schema (media types, parameters) match it.
    for (at, _) in found {
        let Some(parent) = at.strip_suffix("/schema") else {
            continue;
        };
        let holder = doc.pointer(parent).unwrap();
        let named = holder["examples"].as_object().into_iter().flatten();
        let examples = holder
            .get("example")
            .into_iter()
            .chain(named.map(|(_, e)| &e["value"]));
        for example in examples {
            spec.validate(&at, example, &format!("the example at {parent}"));
        }
    }
    let ids: Vec<String> = spec
        .operations()
        .iter()
        .map(|(m, t)| {
            spec.operation(m, t)["operationId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        ids.len(),
        "{ids:?}"
    );
}

#[tokio::test]
async fn every_answer_matches_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cdr.db");
    let stored = store_records(&db);
    let (app, _) = app_in(busy_world(db), Some(TOKEN));
    let mut spec = Spec::load();
    let ok = StatusCode::OK;

    for uri in [
        "/api/snapshot",
        "/api/agents",
        "/api/agents/1003",
        "/api/agents/1005",
        "/api/queues",
        "/api/queues/bill%22ing",
        "/api/calls",
        "/api/flows",
        "/metrics",
    ] {
        spec.expect(&app, ("GET", uri, AUTH, ""), ok).await;
    }
    for uri in ["/", "/wallboard.js", "/wallboard.css"] {
        spec.expect(&app, ("GET", uri, None, ""), ok).await;
    }

    // The stream's snapshot went through the feed: names and staffing advice.
    let event = spec
        .expect(&app, ("GET", "/api/wallboard/stream", AUTH, ""), ok)
        .await;
    let v: Value = serde_json::from_str(&event).unwrap();
    assert_eq!(v["agents"][0]["name"], "Alice Archer");
    assert!(
        v["queues"][0]["staffing"]["erlang_c_agents"].is_u64(),
        "{v}"
    );

    let body = spec.expect(&app, ("GET", "/api/cdrs", AUTH, ""), ok).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["records"].as_array().map(Vec::len), Some(stored));
    assert_eq!(v["truncated"], false);
    // Every disposition kind is in there.
    let kinds: BTreeSet<&str> = v["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["disposition"]["kind"].as_str())
        .collect();
    assert_eq!(kinds.len(), 12, "{kinds:?}");
    let uri = "/api/cdrs?since=yesterday&until=now&limit=3";
    let body = spec.expect(&app, ("GET", uri, AUTH, ""), ok).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["records"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["truncated"], true);

    let command = "/api/agents/1001/pause";
    let body = spec
        .expect(&app, ("POST", command, AUTH, r#"{"reason": "lunch"}"#), ok)
        .await;
    assert!(body.contains(r#""reason":"lunch""#), "{body}");
    for (action, body) in [
        ("logout", ""),
        ("login", "\n"),
        ("pause", r#"{"reason": null}"#),
        ("unpause", "{}"),
    ] {
        let uri = format!("/api/agents/1001/{action}");
        spec.expect(&app, ("POST", &uri, AUTH, body), ok).await;
    }

    let too_big = "x".repeat((2 << 20) + 1);
    for (request, want) in [
        (("POST", command, AUTH, "{reason"), 400),
        (("POST", command, AUTH, r#"{"why": "lunch"}"#), 400),
        (("POST", command, AUTH, r#"{"reason": 5}"#), 400),
        (("POST", "/api/agents/%FF/pause", AUTH, ""), 400),
        (("GET", "/api/agents/%FF", AUTH, ""), 400),
        (("GET", "/api/queues/%FF", AUTH, ""), 400),
        (("GET", "/api/cdrs?since=soon", AUTH, ""), 400),
        (
            ("GET", "/api/cdrs?since=today&until=yesterday", AUTH, ""),
            400,
        ),
        (("GET", "/api/cdrs?from=today", AUTH, ""), 400),
        (("GET", "/api/cdrs?limit=-1", AUTH, ""), 400),
        (("GET", "/api/agents/4242", AUTH, ""), 404),
        (("GET", "/api/queues/nope", AUTH, ""), 404),
        (("POST", "/api/agents/1001/dance", AUTH, ""), 404),
        (("POST", "/api/agents/9999/pause", AUTH, ""), 404),
        (("POST", "/api/agents/1003/pause", AUTH, ""), 409),
        (("POST", command, AUTH, too_big.as_str()), 413),
    ] {
        let want = StatusCode::from_u16(want).unwrap();
        spec.expect(&app, request, want).await;
    }

    // Every operation but the public ones wants the token.
    for (method, template) in spec.operations() {
        let uri = template.replace(['{', '}'], "");
        let public = spec.is_public(&method, &template);
        for auth in [None, Some("Bearer wrong")] {
            let want = if public { ok } else { StatusCode::UNAUTHORIZED };
            spec.expect(&app, (&method, &uri, auth, ""), want).await;
        }
    }

    // A core that is gone, and a CDR store that cannot be opened.
    let (core, requests) = mpsc::channel::<Request>(1);
    drop(requests);
    let world = busy_world(dir.path().to_path_buf());
    let dead = router(shared(core, None, world));
    for (method, uri) in [
        ("GET", "/api/snapshot"),
        ("GET", "/api/agents"),
        ("GET", "/api/agents/1001"),
        ("POST", command),
        ("GET", "/api/queues"),
        ("GET", "/api/queues/billing"),
        ("GET", "/api/calls"),
        ("GET", "/api/cdrs"),
        ("GET", "/metrics"),
    ] {
        let unavailable = StatusCode::SERVICE_UNAVAILABLE;
        spec.expect(&dead, (method, uri, None, ""), unavailable)
            .await;
    }

    // Each status and media type the spec documents was really answered,
    // but a panic in the thread reading the CDR store.
    let untested: BTreeSet<Answer> = [("GET", "/api/cdrs", "500", "application/json")]
        .into_iter()
        .map(|(m, p, s, c)| (m.into(), p.into(), s.into(), c.into()))
        .collect();
    let documented = spec.documented();
    let missing: Vec<_> = documented.difference(&spec.seen).collect();
    assert_eq!(
        missing,
        untested.iter().collect::<Vec<_>>(),
        "documented but never answered"
    );
}
