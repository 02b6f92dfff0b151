//! `check` over the broken sample flows in `tests/flows/broken/`: every
//! problem with its exact `file:line:column: message`, and the demo flow clean.

use std::path::Path;

use switchboard::config::Config;
use switchboard::ivr::check::{check_flows, PromptCatalog};
use switchboard::media::prompts::PromptLibrary;

/// Prompts as the demo has them, except that `survey` exists in English only.
struct FakePrompts;

impl PromptCatalog for FakePrompts {
    fn has(&self, lang: &str, name: &str) -> bool {
        let known = [
            "welcome",
            "language-menu",
            "main-menu",
            "main-menu-short",
            "invalid",
            "timeout",
            "enter-order",
            "closed",
            "goodbye",
            "please-hold",
            "thank-you",
            "voicemail-beep",
        ];
        known.contains(&name)
            || name.starts_with("digits/")
            || (lang == "en" && (name == "survey" || name.starts_with("numbers/")))
    }

    fn languages(&self) -> Vec<String> {
        vec!["en".into(), "fa".into()]
    }
}

fn queues() -> Vec<String> {
    ["billing", "tech", "orders", "operator"]
        .map(String::from)
        .to_vec()
}

fn config(flows_dir: &str) -> Config {
    Config::from_str_at(
        &format!("flows_dir: {flows_dir}\n"),
        Path::new("switchboard.yaml"),
    )
    .expect("config")
}

const EXPECTED: &str = "\
tests/flows/broken/bad-collect.yaml:7:7: digit lengths must satisfy min <= max and max >= 1 (min 8, max 4)
tests/flows/broken/bad-collect.yaml:9:16: bad pattern `XXXXa`: `a` is not a pattern character (use digits, * # +, X Z N, [..], . or !)
tests/flows/broken/bad-hours.yaml:7:9: `mon-fry` is not a day or day range (write mon, mon-fri, sat,sun or daily)
tests/flows/broken/bad-hours.yaml:8:14: time range `14:00-09:00` ends before it starts (split a range past midnight over two days)
tests/flows/broken/bad-hours.yaml:9:22: `2026-02-30` is not a date (write 2026-12-25, 12-25 for every year, or 2026-12-24..2026-12-26)
tests/flows/broken/bad-timezone.yaml:5:13: unknown time zone `Europe/Londn` (use an IANA name like Europe/London)
tests/flows/broken/busy-loop.yaml:3:3: nodes `hold`, `again` form a loop that never waits for the caller (no menu, collect or voicemail in it)
tests/flows/broken/dead-end.yaml:3:3: node `hello` (play) has no `next`: say where the call goes afterwards (end with a `hangup: true` node to hang up)
tests/flows/broken/duplicate-key.yaml:8:3: duplicate key `bye` (first on line 6)
tests/flows/broken/missing-flow.yaml:7:19: no flow `sales` (no file sales.yaml next to this one)
tests/flows/broken/missing-node.yaml:5:11: no node `main-menus` in this flow (did you mean `main-menu`?)
tests/flows/broken/missing-node.yaml:6:3: node `main-menu` is unreachable: nothing leads to it from `hello`
tests/flows/broken/missing-node.yaml:11:18: no node `tech-queue` in this flow
tests/flows/broken/missing-node.yaml:13:3: node `billing` is unreachable: nothing leads to it from `hello`
tests/flows/broken/missing-prompt.yaml:4:23: prompt `survey` has no recording for fa
tests/flows/broken/no-way-out.yaml:4:5: menu `main` has no way out after 3 retries: add `on_failure:` (an operator queue, voicemail, or a goodbye and hangup)
tests/flows/broken/self-failure.yaml:8:7: `on_failure` of `main` leads back to `main`: a caller who never presses a valid key never gets out
tests/flows/broken/syntax.yaml:5:4: did not find expected key, while parsing a block mapping
tests/flows/broken/two-actions.yaml:5:5: node `hello` has both `play` and `queue`: one action per node (chain nodes with `next`)
tests/flows/broken/unknown-key.yaml:4:5: nodes.hello: unknown field `paly`, expected one of `play`, `say`, `menu`, `collect`, `set`, `branch`, `hours`, `language`, `lookup`, `queue`, `transfer`, `voicemail`, `hangup`, `goto`, `next`
tests/flows/broken/unknown-queue.yaml:7:20: no queue `biling` (did you mean `billing`?); queues: billing, operator, orders, tech
tests/flows/broken/unreachable.yaml:6:3: node `survey` is unreachable: nothing leads to it from `hello`
tests/flows/broken/wrong-type.yaml:8:16: nodes.main.menu.retries: invalid type: string \"many\", expected u32
";

#[test]
fn broken_flows_report_exact_positions() {
    let problems = check_flows(&config("tests/flows/broken"), &queues(), &FakePrompts);
    let got: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let got = got.join("\n");
    assert_eq!(got, EXPECTED.trim_end());
}

#[test]
fn every_broken_sample_has_a_problem() {
    let problems = check_flows(&config("tests/flows/broken"), &queues(), &FakePrompts);
    for entry in std::fs::read_dir("tests/flows/broken").expect("dir") {
        let path = entry.expect("entry").path();
        assert!(
            problems.iter().any(|p| p.file == path),
            "{} passes the check",
            path.display()
        );
    }
}

#[test]
fn the_demo_flow_is_clean_with_the_real_prompts() {
    let library = PromptLibrary::load(Path::new("sounds"), "en").expect("sounds/ loads");
    let problems = check_flows(&config("ivr-flows"), &queues(), &library);
    assert_eq!(problems, vec![]);
    // The same flow with a language that has no recordings is refused.
    let problems = check_flows(&config("ivr-flows"), &queues(), &FakePrompts);
    assert_eq!(
        problems
            .iter()
            .map(|p| p.to_string())
            .filter(|p| p.starts_with("ivr-flows/support.yaml"))
            .collect::<Vec<_>>(),
        vec!["ivr-flows/support.yaml:18:41: language `ru` has no prompts (languages: en, fa)"]
    );
}

#[test]
fn switchboard_check_runs_the_flow_checker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flows = dir.path().join("ivr-flows");
    std::fs::create_dir(&flows).expect("mkdir");
    std::fs::copy(
        "tests/flows/broken/unknown-queue.yaml",
        flows.join("support.yaml"),
    )
    .expect("copy");
    let cfg = dir.path().join("switchboard.yaml");
    std::fs::write(
        &cfg,
        format!(
            "numbers:\n  \"5000\": {{ flow: support }}\nsounds_dir: {}\n",
            std::fs::canonicalize("sounds").expect("sounds").display()
        ),
    )
    .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .expect("run switchboard");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let want = format!(
        "{}:7:20: no queue `biling` (did you mean `billing`?); queues: billing, operator, orders, tech\n",
        flows.join("support.yaml").display()
    );
    assert_eq!(err, want);
    // Fixed, the same configuration passes.
    std::fs::copy("ivr-flows/support.yaml", flows.join("support.yaml")).expect("copy");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["check", "--config"])
        .arg(&cfg)
        .output()
        .expect("run switchboard");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
}
