use super::*;

pub(super) fn load(text: &str) -> Result<Config, Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("ivr-flows")).unwrap();
    std::fs::write(dir.path().join("ivr-flows/support.yaml"), "name: support\n").unwrap();
    let path = dir.path().join("sb.yaml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path).map_err(|e| match e {
        ConfigError::Invalid(ps) => ps
            .into_iter()
            .map(|p| format!("{}:{}: {}", p.line, p.column, p.message))
            .collect(),
        other => vec![other.to_string()],
    })
}

#[test]
fn demo_config_is_valid() {
    let cfg = Config::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/switchboard.yaml"
    )))
    .unwrap();
    assert_eq!(cfg.sip.listen, "127.0.0.1:5060".parse().unwrap());
    assert_eq!(
        cfg.sip.transports,
        vec![TransportKind::Udp, TransportKind::Tcp]
    );
    let exts: Vec<_> = cfg.agents.iter().map(|a| a.extension.as_str()).collect();
    assert_eq!(exts, ["1001", "1002", "1003", "1004"]);
    assert_eq!(cfg.numbers["5000"].flow.as_deref(), Some("support"));
    assert!(cfg.numbers["9196"].echo);
    assert_eq!(cfg.sip.realm(), "switchboard");
}

#[test]
fn unknown_key_is_an_error_with_position() {
    let errs = load("sip:\n  listen: 127.0.0.1:5060\n  lisen: 1\n").unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with("3:3: sip: unknown field `lisen`"),
        "{errs:?}"
    );
}

#[test]
fn wrong_type_is_an_error_with_position() {
    let errs = load("registrar:\n  max_contacts: many\n").unwrap_err();
    assert!(
        errs[0].starts_with("2:17: registrar.max_contacts: invalid type"),
        "{errs:?}"
    );
}

#[test]
fn bad_duration_names_the_field() {
    let errs = load("registrar:\n  min_expires: soon\n").unwrap_err();
    assert!(
        errs[0].starts_with("2:16: registrar.min_expires"),
        "{errs:?}"
    );
}

#[test]
fn cross_checks_are_located() {
    let text = "agents:\n  - extension: \"1001\"\n    name: A\n    password: secret1\n  - extension: \"1001\"\n    name: B\n    password: abc\n    skills: { tech: 11 }\nnumbers:\n  \"5000\": { flow: nowhere }\n  \"77\": {}\n";
    let errs = load(text).unwrap_err();
    let want = [
        "5:5: extension 1001 is defined twice",
        "7:5: password of extension 1001 is shorter than 6 characters",
        "8:15: skill level 11 for \"tech\" must be 1 to 10",
        "10:13: flow \"nowhere\" not found: no file ",
        "11:3: a number needs exactly one of `flow` or `echo: true`",
    ];
    assert_eq!(errs.len(), want.len(), "{errs:?}");
    for (w, g) in want.iter().zip(&errs) {
        assert!(g.starts_with(w), "got {g:?}, want {w:?}");
    }
}

#[test]
fn syntax_error_is_located() {
    let errs = load("sip:\n\tlisten: 127.0.0.1:5060\n").unwrap_err();
    assert!(errs[0].starts_with("2:1: "), "{errs:?}");
}

#[test]
fn admin_section_is_checked_where_it_is_written() {
    let text = "admin:\n  listen: 0.0.0.0:8080\n  timezone: Mars/Olympus\n";
    let errs = load(text).unwrap_err();
    let want = [
        "2:3: admin.listen 0.0.0.0:8080 is not a loopback address: set admin.token",
        "3:3: unknown time zone \"Mars/Olympus\"",
    ];
    assert_eq!(errs.len(), want.len(), "{errs:?}");
    for (w, g) in want.iter().zip(&errs) {
        assert!(g.starts_with(w), "got {g:?}, want {w:?}");
    }
    let errs = load("admin:\n  listen: 0.0.0.0:8080\n  token: short\n").unwrap_err();
    assert_eq!(errs, ["3:3: admin.token must be at least 8 characters"]);
    // A token makes a public address acceptable; without the section nothing is served.
    let cfg = load("admin:\n  listen: 0.0.0.0:8080\n  token: long-enough\n").unwrap();
    assert_eq!(cfg.admin.unwrap().token.as_deref(), Some("long-enough"));
    assert!(load("sip: {}\n").unwrap().admin.is_none());
}

#[test]
fn demo_config_serves_the_wallboard_on_8080() {
    let cfg = Config::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/switchboard.yaml"
    )))
    .unwrap();
    let admin = cfg.admin.expect("admin section");
    assert_eq!(admin.listen, "127.0.0.1:8080".parse().unwrap());
    assert!(admin.token.is_some());
}
