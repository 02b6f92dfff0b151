//! The container packaging: `docker-compose.yml` (and the Dockerfile it
//! builds) must stay valid for Debian's docker-compose. No Docker engine is
//! needed: `docker-compose config` only parses and resolves the file.

mod common;

use std::process::Command;

fn compose(args: &[&str]) -> std::process::Output {
    Command::new("docker-compose")
        .current_dir(common::repo())
        .arg("-f")
        .arg("docker-compose.yml")
        .args(args)
        .output()
        .expect("run docker-compose")
}

#[test]
fn compose_file_is_valid() {
    if !common::require_tool("docker-compose") {
        return;
    }
    let out = compose(&["config", "-q"]);
    assert!(
        out.status.success(),
        "docker-compose config -q failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn compose_publishes_sip_and_rtp_and_keeps_var() {
    if !common::require_tool("docker-compose") {
        return;
    }
    let out = compose(&["config"]);
    assert!(
        out.status.success(),
        "docker-compose config failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("\n  switchboard:\n"),
        "no switchboard service:\n{text}"
    );
    for port in [
        "5060:5060/udp",
        "5060:5060/tcp",
        "10000:10000/udp",
        "10099:10099/udp",
    ] {
        assert!(text.contains(port), "port {port} is not published:\n{text}");
    }
    // Inside the container 127.0.0.1 is unreachable from outside.
    assert!(
        text.contains("- --sip-listen\n    - 0.0.0.0:5060\n"),
        "the service must listen on 0.0.0.0:5060:\n{text}"
    );
    assert!(
        text.contains("switchboard-var:/opt/switchboard/var"),
        "var/ must be a named volume:\n{text}"
    );
    assert!(
        text.contains("/switchboard.yaml:/opt/switchboard/switchboard.yaml:ro"),
        "the demo configuration must be mounted:\n{text}"
    );
}

#[test]
fn compose_stores_call_records_in_postgres() {
    if !common::require_tool("docker-compose") {
        return;
    }
    let out = compose(&["config"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("\n  postgres:\n"),
        "no postgres service:\n{text}"
    );
    assert!(text.contains("image: postgres:15"), "{text}");
    // The app's CDR store is that service, and it waits until it is healthy.
    assert!(
        text.contains("SWITCHBOARD_CDR_POSTGRES: host=postgres user=switchboard"),
        "{text}"
    );
    assert!(text.contains("condition: service_healthy"), "{text}");
    assert!(
        text.contains("switchboard-cdr:/var/lib/postgresql/data"),
        "the database must be a named volume:\n{text}"
    );
}

#[test]
fn dockerfile_is_multi_stage_and_unprivileged() {
    let text = std::fs::read_to_string(common::repo().join("Dockerfile")).unwrap();
    assert!(text.contains("FROM rust:1-bookworm AS build"), "{text}");
    assert!(text.contains("FROM debian:bookworm-slim"), "{text}");
    assert!(text.contains("\nUSER switchboard\n"), "{text}");
    for copied in [
        "switchboard.yaml",
        "ivr-flows",
        "sounds",
        "target/release/switchboard",
    ] {
        assert!(
            text.contains(copied),
            "the image must contain {copied}:\n{text}"
        );
    }
}
