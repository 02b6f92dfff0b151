//! Interpreter tests: every node kind and edge, in virtual time.

use super::*;
use crate::ivr::flow::Flow;
use std::path::Path;

fn flows(files: &[(&str, &str)]) -> Arc<FlowSet> {
    Arc::new(FlowSet::new(files.iter().map(|(name, yaml)| {
        Flow::from_str_at(yaml, Path::new(&format!("{name}.yaml")))
            .unwrap_or_else(|p| panic!("{name}: {p:?}"))
    })))
}

fn ctx_at(ms: i64) -> CallContext {
    CallContext {
        caller: "+442071234567".into(),
        dialed: "5000".into(),
        language: "en".into(),
        wall_time_unix_ms: ms,
    }
}

struct T {
    s: Session,
    now: Instant,
    trail: Vec<TrailEntry>,
}

impl T {
    fn new(yaml: &str) -> T {
        T::with(flows(&[("main", yaml)]), ctx_at(0))
    }

    fn with(set: Arc<FlowSet>, ctx: CallContext) -> T {
        let now = Instant::now();
        let s = Session::new(set, "main", ctx, now).expect("session");
        T {
            s,
            now,
            trail: Vec::new(),
        }
    }

    /// Feeds an input; returns the non-trail actions, keeping the trail.
    fn input(&mut self, i: IvrInput) -> Vec<IvrAction> {
        self.s.handle_input(self.now, i);
        let mut out = Vec::new();
        while let Some(a) = self.s.poll_action() {
            match a {
                IvrAction::Trail(t) => self.trail.push(t),
                a => out.push(a),
            }
        }
        out
    }

    fn digit(&mut self, d: char) -> Vec<IvrAction> {
        self.input(IvrInput::Digit(d))
    }

    fn finish(&mut self, play: u64) -> Vec<IvrAction> {
        self.input(IvrInput::PlayFinished {
            play,
            interrupted: false,
        })
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    /// Moves to the pending deadline and fires it.
    fn fire(&mut self) -> Vec<IvrAction> {
        let at = self.s.poll_timeout().expect("a timer is set");
        assert!(at >= self.now);
        self.now = at;
        self.input(IvrInput::Timeout)
    }
}

fn play(id: u64, prompts: &[&str], barge_in: bool) -> IvrAction {
    IvrAction::Play {
        play: id,
        prompts: prompts
            .iter()
            .map(|p| PromptRef {
                name: p.to_string(),
            })
            .collect(),
        barge_in,
        language: "en".into(),
    }
}

fn enqueue(queue: &str) -> Option<String> {
    Some(queue.to_string())
}

fn queued(actions: &[IvrAction]) -> Option<String> {
    actions.iter().find_map(|a| match a {
        IvrAction::Enqueue { queue, .. } => Some(queue.clone()),
        _ => None,
    })
}

const MENU: &str = r#"
nodes:
  hello:
    play: welcome
    next: main
  main:
    menu:
      prompt: main-menu
      short_prompt: main-menu-short
      options:
        1: billing
        12: tech
        2: sub
      timeout: 5s
      inter_digit_timeout: 2s
      retries: 2
      on_failure: operator
  sub:
    menu:
      prompt: sub-menu
      options:
        1: tech
        9: back
      on_failure: operator
  billing:
    queue: billing
  tech:
    queue: tech
  operator:
    queue: operator
"#;

#[test]
fn play_then_menu_then_queue() {
    let mut t = T::new(MENU);
    assert_eq!(t.input(IvrInput::Start), vec![play(1, &["welcome"], true)]);
    assert_eq!(t.s.poll_timeout(), None, "no timer while a prompt plays");
    assert_eq!(t.finish(1), vec![play(2, &["main-menu"], true)]);
    assert_eq!(t.s.poll_timeout(), None);
    t.advance(Duration::from_secs(3));
    assert_eq!(t.finish(2), vec![]);
    assert_eq!(t.s.poll_timeout(), Some(t.now + Duration::from_secs(5)));
    // `1` is also the start of `12`: wait the inter-digit timeout.
    assert_eq!(t.digit('1'), vec![]);
    assert_eq!(t.s.poll_timeout(), Some(t.now + Duration::from_secs(2)));
    let a = t.fire();
    assert_eq!(queued(&a), enqueue("billing"));
    assert!(t.s.is_done());
    assert!(t.trail.contains(&TrailEntry::Key {
        node: "main".into(),
        key: "1".into()
    }));
}

#[test]
fn multi_digit_option_completes_without_waiting() {
    let mut t = T::new(MENU);
    t.input(IvrInput::Start);
    t.finish(1);
    t.finish(2);
    t.digit('1');
    assert_eq!(queued(&t.digit('2')), enqueue("tech"));
}

#[test]
fn stale_timeout_and_stale_play_are_ignored() {
    let mut t = T::new(MENU);
    t.input(IvrInput::Start);
    assert_eq!(t.input(IvrInput::Timeout), vec![], "no deadline yet");
    assert_eq!(t.finish(7), vec![], "unknown playback");
    t.finish(1);
    t.finish(2);
    t.advance(Duration::from_secs(4));
    assert_eq!(t.input(IvrInput::Timeout), vec![], "deadline not reached");
    assert!(!t
        .trail
        .iter()
        .any(|e| matches!(e, TrailEntry::Retry { .. })));
}

#[test]
fn barge_in_stops_the_prompt_and_keeps_the_key_as_type_ahead() {
    let mut t = T::new(MENU);
    t.input(IvrInput::Start);
    // `2` during the welcome prompt: the prompt stops, the main menu takes
    // the key without playing its own prompt, and the sub-menu plays.
    let a = t.digit('2');
    assert_eq!(a, vec![IvrAction::StopPlay, play(2, &["sub-menu"], true)]);
    // Keys during the sub-menu prompt barge in too.
    let a = t.digit('1');
    assert_eq!(a[0], IvrAction::StopPlay);
    assert_eq!(queued(&a), enqueue("tech"));
}

#[test]
fn no_barge_in_ignores_keys_during_the_prompt() {
    let mut t = T::new(
        r#"
nodes:
  notice:
    play: { prompts: [closed], barge_in: false }
    next: m
  m:
    menu: { prompt: main-menu, options: { 1: q }, on_failure: q }
  q:
    queue: billing
"#,
    );
    assert_eq!(t.input(IvrInput::Start), vec![play(1, &["closed"], false)]);
    assert_eq!(t.digit('1'), vec![]);
    assert_eq!(
        t.finish(1),
        vec![play(2, &["main-menu"], true)],
        "the key was not kept"
    );
}

#[test]
fn timeouts_and_invalid_keys_retry_then_go_to_on_failure() {
    let mut t = T::new(MENU);
    t.input(IvrInput::Start);
    t.finish(1);
    t.finish(2);
    // Failure 1: no key.
    assert_eq!(
        t.fire(),
        vec![play(3, &["timeout", "main-menu-short"], true)]
    );
    assert_eq!(t.s.poll_timeout(), None);
    t.finish(3);
    // Failure 2: a key no option starts with.
    assert_eq!(
        t.digit('7'),
        vec![play(4, &["invalid", "main-menu-short"], true)]
    );
    t.finish(4);
    // Failure 3 > retries 2: on_failure.
    let a = t.fire();
    assert_eq!(queued(&a), enqueue("operator"));
    let retries: Vec<_> = t
        .trail
        .iter()
        .filter_map(|e| match e {
            TrailEntry::Retry {
                attempt, reason, ..
            } => Some((*attempt, reason.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        retries,
        vec![
            (1, RetryReason::Timeout),
            (2, RetryReason::Invalid("7".into())),
            (3, RetryReason::Timeout)
        ]
    );
    assert!(t.trail.contains(&TrailEntry::GaveUp {
        node: "main".into()
    }));
}

#[test]
fn keys_typed_after_a_mistake_are_dropped() {
    let mut t = T::new(MENU);
    t.input(IvrInput::Start);
    t.finish(1);
    t.finish(2);
    // 7 is invalid; the re-prompt plays; 1 barges into it and counts afresh.
    assert_eq!(
        t.digit('7'),
        vec![play(3, &["invalid", "main-menu-short"], true)]
    );
    let a = t.digit('2');
    assert_eq!(a, vec![IvrAction::StopPlay, play(4, &["sub-menu"], true)]);
}

#[test]
fn back_returns_to_the_previous_menu() {
    let mut t = T::new(MENU);
    t.input(IvrInput::Start);
    t.finish(1);
    t.finish(2);
    assert_eq!(t.digit('2'), vec![play(3, &["sub-menu"], true)]);
    t.finish(3);
    assert_eq!(t.digit('9'), vec![play(4, &["main-menu"], true)]);
    t.finish(4);
    assert_eq!(t.digit('2'), vec![play(5, &["sub-menu"], true)]);
}

const COLLECT: &str = r#"
nodes:
  ask:
    collect:
      prompt: enter-order
      into: order
      min: 4
      max: 6
      timeout: 5s
      inter_digit_timeout: 3s
      pattern: "[1-9]XXX!"
      retries: 1
      on_failure: operator
    next: done
  done:
    queue: orders
  operator:
    queue: operator
"#;

fn collect_ready(yaml: &str) -> T {
    let mut t = T::new(yaml);
    t.input(IvrInput::Start);
    t.finish(1);
    t
}

fn order_of(a: &[IvrAction]) -> Option<String> {
    a.iter().find_map(|a| match a {
        IvrAction::Enqueue { vars, .. } => vars.get("order").cloned(),
        _ => None,
    })
}

#[test]
fn collect_ends_on_terminator() {
    let mut t = collect_ready(COLLECT);
    for d in "12345".chars() {
        assert_eq!(t.digit(d), vec![]);
        assert_eq!(t.s.poll_timeout(), Some(t.now + Duration::from_secs(3)));
    }
    let a = t.digit('#');
    assert_eq!(order_of(&a), Some("12345".into()));
}

#[test]
fn collect_ends_at_max_digits() {
    let mut t = collect_ready(COLLECT);
    let mut a = Vec::new();
    for d in "123456".chars() {
        a = t.digit(d);
    }
    assert_eq!(order_of(&a), Some("123456".into()));
}

#[test]
fn collect_ends_on_inter_digit_timeout() {
    let mut t = collect_ready(COLLECT);
    for d in "4321".chars() {
        t.advance(Duration::from_millis(500));
        t.digit(d);
    }
    let a = t.fire();
    assert_eq!(order_of(&a), Some("4321".into()));
}

#[test]
fn collect_rejects_short_and_unmatched_input() {
    let mut t = collect_ready(COLLECT);
    t.digit('1');
    t.digit('2');
    assert_eq!(
        t.digit('#'),
        vec![play(2, &["invalid", "enter-order"], true)]
    );
    t.finish(2);
    // The pattern wants a first digit 1-9.
    for d in "0123".chars() {
        t.digit(d);
    }
    let a = t.digit('#');
    assert_eq!(
        queued(&a),
        enqueue("operator"),
        "second failure > retries 1"
    );
    assert!(t.trail.contains(&TrailEntry::Retry {
        node: "ask".into(),
        attempt: 2,
        reason: RetryReason::Invalid("0123".into())
    }));
}

#[test]
fn collect_times_out_without_digits() {
    let mut t = collect_ready(COLLECT);
    assert_eq!(t.fire(), vec![play(2, &["timeout", "enter-order"], true)]);
}

#[test]
fn sensitive_values_are_masked_everywhere() {
    let yaml = COLLECT.replace("retries: 1", "retries: 1\n      sensitive: true");
    let mut t = collect_ready(&yaml);
    t.digit('9');
    t.digit('9');
    t.digit('#');
    // The invalid attempt is masked too.
    assert!(t.trail.contains(&TrailEntry::Retry {
        node: "ask".into(),
        attempt: 1,
        reason: RetryReason::Invalid(MASK.into())
    }));
    t.finish(2);
    for d in "9876".chars() {
        t.digit(d);
    }
    let a = t.digit('#');
    assert_eq!(order_of(&a), Some(MASK.into()));
    assert_eq!(t.s.variables().get("order").map(String::as_str), Some(MASK));
    let text = format!("{:?}", t.trail);
    assert!(!text.contains("9876"), "{text}");
    assert!(t.trail.contains(&TrailEntry::Key {
        node: "ask".into(),
        key: MASK.into()
    }));
}

#[test]
fn terminator_none_and_star() {
    let yaml = COLLECT.replace("min: 4", "min: 4\n      terminator: \"*\"");
    let mut t = collect_ready(&yaml);
    for d in "1234".chars() {
        t.digit(d);
    }
    assert_eq!(order_of(&t.digit('*')), Some("1234".into()));
    let yaml = COLLECT.replace("min: 4", "min: 4\n      terminator: none");
    let mut t = collect_ready(&yaml);
    for d in "1234".chars() {
        t.digit(d);
    }
    // `#` is an ordinary key now: it is part of the value, and the
    // inter-digit timeout ends the input.
    assert_eq!(t.digit('#'), vec![]);
    assert_eq!(order_of(&t.fire()), Some("1234#".into()));
}

fn ms(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().expect("ts").as_millisecond()
}

const HOURS: &str = r#"
timezone: Europe/London
nodes:
  check:
    hours:
      weekly: { mon-fri: "08:00-20:00", sat: ["09:00-12:00", "13:00-14:00"] }
      closed_dates: [2026-12-25]
      open: open
      closed: closed
  open:
    queue: billing
  closed:
    voicemail: support
"#;

fn hours_at(ts: &str) -> bool {
    let mut t = T::with(flows(&[("main", HOURS)]), ctx_at(ms(ts)));
    queued(&t.input(IvrInput::Start)).is_some()
}

#[test]
fn hours_follow_the_zone_across_dst() {
    // Friday 27 March 2026, GMT: 07:30Z = 07:30 local, closed.
    assert!(!hours_at("2026-03-27T07:30:00Z"));
    // Monday 30 March 2026, BST: 07:30Z = 08:30 local, open.
    assert!(hours_at("2026-03-30T07:30:00Z"));
    // Saturday lunch break and afternoon.
    assert!(!hours_at("2026-03-28T12:30:00Z"));
    assert!(hours_at("2026-03-28T12:30:00-01:00"));
    // Christmas Day 2026 is a Friday: closed by date.
    assert!(!hours_at("2026-12-25T10:00:00Z"));
    // Sunday.
    assert!(!hours_at("2026-03-29T10:00:00Z"));
}

#[test]
fn wall_time_advances_with_now() {
    let yaml = r#"
timezone: Europe/London
nodes:
  m:
    menu: { prompt: main-menu, options: { 1: check }, on_failure: check }
  check:
    hours: { weekly: { mon-fri: "08:00-20:00" }, open: open, closed: closed }
  open:
    queue: billing
  closed:
    queue: operator
"#;
    // 07:59:50 local on a winter Monday; the caller answers 15 s later.
    let mut t = T::with(flows(&[("main", yaml)]), ctx_at(ms("2026-01-05T07:59:50Z")));
    t.input(IvrInput::Start);
    t.advance(Duration::from_secs(15));
    t.finish(1);
    assert_eq!(queued(&t.digit('1')), enqueue("billing"));
}

#[test]
fn voicemail_greets_beeps_records_until_hash() {
    let mut t = T::new(
        r#"
nodes:
  vm:
    voicemail: { box: support, greeting: closed, max_length: 2m, silence: 4s }
    next: bye
  bye:
    hangup: true
"#,
    );
    assert_eq!(
        t.input(IvrInput::Start),
        vec![play(1, &["closed", "voicemail-beep"], false)]
    );
    assert_eq!(t.digit('#'), vec![], "the greeting is heard out");
    assert_eq!(
        t.finish(1),
        vec![IvrAction::Voicemail {
            box_name: "support".into(),
            max: Duration::from_secs(120),
            silence: Duration::from_secs(4),
        }]
    );
    assert_eq!(t.digit('5'), vec![]);
    assert_eq!(t.digit('#'), vec![IvrAction::StopRecording]);
    assert_eq!(t.digit('#'), vec![], "only once");
    let a = t.input(IvrInput::RecordingFinished {
        path: "var/voicemail/support/1.wav".into(),
        duration: Duration::from_secs(9),
    });
    assert_eq!(a, vec![IvrAction::Hangup]);
    assert!(t.trail.contains(&TrailEntry::Voicemail {
        box_name: "support".into(),
        path: "var/voicemail/support/1.wav".into(),
        duration: Duration::from_secs(9)
    }));
}

const LOOKUP: &str = r#"
nodes:
  crm:
    lookup:
      url: "http://crm.local/customers?phone={caller}"
      timeout: 2s
      fields: { name: customer.name, tier: customer.tier, first: orders.0 }
      on_error: unknown
    next: route
  route:
    branch:
      when:
        - { var: tier, equals: gold, to: vip }
      else: normal
  vip:
    queue: { name: billing, priority: 9 }
  normal:
    queue: billing
  unknown:
    queue: operator
"#;

fn lookup_id(a: &[IvrAction]) -> (u64, String) {
    a.iter()
        .find_map(|a| match a {
            IvrAction::Lookup(r) => Some((r.id, r.url.clone())),
            _ => None,
        })
        .expect("a lookup")
}

#[test]
fn lookup_fills_variables() {
    let mut t = T::new(LOOKUP);
    let (id, url) = lookup_id(&t.input(IvrInput::Start));
    assert_eq!(url, "http://crm.local/customers?phone=%2B442071234567");
    assert_eq!(t.s.poll_timeout(), Some(t.now + Duration::from_secs(2)));
    let body = serde_json::json!({"customer": {"name": "Ann", "tier": "gold"}, "orders": [17, 18]});
    let a = t.input(IvrInput::LookupResult {
        id,
        body: Some(body),
    });
    match &a[..] {
        [IvrAction::Enqueue {
            queue,
            priority,
            vars,
            ..
        }] => {
            assert_eq!((queue.as_str(), *priority), ("billing", 9));
            assert_eq!(vars.get("name").map(String::as_str), Some("Ann"));
            assert_eq!(vars.get("first").map(String::as_str), Some("17"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn lookup_failure_and_timeout_take_on_error() {
    let mut t = T::new(LOOKUP);
    let (id, _) = lookup_id(&t.input(IvrInput::Start));
    assert_eq!(
        t.input(IvrInput::LookupResult {
            id: id + 1,
            body: None
        }),
        vec![],
        "stale id"
    );
    assert_eq!(
        queued(&t.input(IvrInput::LookupResult { id, body: None })),
        enqueue("operator")
    );

    let mut t = T::new(LOOKUP);
    let (id, _) = lookup_id(&t.input(IvrInput::Start));
    assert_eq!(queued(&t.fire()), enqueue("operator"));
    // A late answer changes nothing.
    let late = t.input(IvrInput::LookupResult {
        id,
        body: Some(serde_json::json!({})),
    });
    assert_eq!(late, vec![]);
    assert!(t.trail.contains(&TrailEntry::Lookup {
        node: "crm".into(),
        ok: false
    }));
}

#[test]
fn lookup_redacts_sensitive_values_in_debug() {
    let mut t = T::new(
        r#"
nodes:
  pin:
    collect: { prompt: enter-order, into: pin, min: 4, max: 4, sensitive: true, on_failure: bye }
    next: check
  check:
    lookup: { url: "https://bank.local/verify?pin={pin}", method: POST, body: '{"pin": "{pin}"}', on_error: bye }
    next: bye
  bye:
    hangup: true
"#,
    );
    t.input(IvrInput::Start);
    t.finish(1);
    let mut a = Vec::new();
    for d in "4711".chars() {
        a = t.digit(d);
    }
    let IvrAction::Lookup(req) = &a[0] else {
        panic!("{a:?}")
    };
    assert_eq!(req.url, "https://bank.local/verify?pin=4711");
    assert_eq!(req.body.as_deref(), Some("{\"pin\": \"4711\"}"));
    assert_eq!(req.redacted_url, "https://bank.local/verify?pin=****");
    assert!(!format!("{a:?}").contains("4711"));
}

#[test]
fn branch_tests_variables_numbers_and_time() {
    let yaml = r#"
timezone: Europe/London
nodes:
  s:
    set: { tier: silver, balance: "120.5" }
    next: b
  b:
    branch:
      when:
        - { var: tier, equals: gold, to: gold }
        - { caller: "+44.", var: balance, above: 100, to: uk-debt }
        - { days: sat-sun, to: weekend }
      else: other
  gold:
    queue: gold
  uk-debt:
    queue: billing
  weekend:
    queue: weekend
  other:
    queue: other
"#;
    let mut t = T::new(yaml);
    assert_eq!(queued(&t.input(IvrInput::Start)), enqueue("billing"));
    assert!(t.trail.contains(&TrailEntry::Decision {
        node: "b".into(),
        outcome: "rule 2 -> uk-debt".into()
    }));
    let mut c = ctx_at(ms("2026-03-28T10:00:00Z"));
    c.caller = "0123".into();
    let mut t = T::with(flows(&[("main", yaml)]), c.clone());
    assert_eq!(queued(&t.input(IvrInput::Start)), enqueue("weekend"));
    c.wall_time_unix_ms = ms("2026-03-30T10:00:00Z");
    let mut t = T::with(flows(&[("main", yaml)]), c);
    assert_eq!(queued(&t.input(IvrInput::Start)), enqueue("other"));
}

#[test]
fn language_goto_flow_say_and_transfer() {
    let set = flows(&[
        (
            "main",
            r#"
nodes:
  lang:
    language: fa
    next: jump
  jump:
    goto: { flow: other }
"#,
        ),
        (
            "other",
            r#"
nodes:
  s:
    set: { n: "42" }
    next: say
  say:
    say: n
    next: t
  t:
    transfer: 1004
"#,
        ),
    ]);
    let mut t = T::with(set, ctx_at(0));
    let a = t.input(IvrInput::Start);
    assert_eq!(a[0], IvrAction::SetLanguage("fa".into()));
    // Persian numbers are said digit by digit.
    assert_eq!(
        a[1],
        IvrAction::Play {
            play: 1,
            prompts: vec![
                PromptRef {
                    name: "digits/4".into()
                },
                PromptRef {
                    name: "digits/2".into()
                }
            ],
            barge_in: true,
            language: "fa".into()
        }
    );
    assert_eq!(t.s.position(), ("other", "say"));
    assert_eq!(
        t.finish(1),
        vec![IvrAction::Transfer {
            extension: "1004".into()
        }]
    );
}

#[test]
fn option_sets_language_and_variables() {
    let mut t = T::new(
        r#"
nodes:
  m:
    menu:
      prompt: language-menu
      options: { 2: { to: q, language: ru, set: { picked: "two-{caller}" } } }
      on_failure: q
  q:
    queue: billing
"#,
    );
    t.input(IvrInput::Start);
    t.finish(1);
    let a = t.digit('2');
    assert_eq!(a[0], IvrAction::SetLanguage("ru".into()));
    match &a[1] {
        IvrAction::Enqueue { language, vars, .. } => {
            assert_eq!(language, "ru");
            assert_eq!(
                vars.get("picked").map(String::as_str),
                Some("two-+442071234567")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_loop_without_input_hangs_up_instead_of_spinning() {
    let mut t = T::new(
        r#"
nodes:
  a:
    set: { x: "1" }
    next: b
  b:
    goto: a
"#,
    );
    let a = t.input(IvrInput::Start);
    assert_eq!(a.last(), Some(&IvrAction::Hangup));
    assert!(matches!(t.trail.last(), Some(TrailEntry::Error(_))));
    assert!(t.s.is_done());
    assert_eq!(t.digit('1'), vec![]);
}

#[test]
fn unknown_flow_and_odd_keys() {
    let set = flows(&[("main", MENU)]);
    assert_eq!(
        Session::new(set, "nope", ctx_at(0), Instant::now()).err(),
        Some(SessionError::UnknownFlow("nope".into()))
    );
    let mut t = T::new(MENU);
    t.input(IvrInput::Start);
    assert_eq!(t.digit('x'), vec![], "not a DTMF key");
    assert_eq!(t.digit('A'), vec![]);
    assert_eq!(t.input(IvrInput::Start), vec![], "started once");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn input() -> impl Strategy<Value = (u64, IvrInput)> {
        let digit = prop::sample::select(vec!['0', '1', '2', '3', '7', '9', '#', '*', 'x']);
        (
            0u64..8_000,
            prop_oneof![
                Just(IvrInput::Start),
                digit.prop_map(IvrInput::Digit),
                Just(IvrInput::Timeout),
                (0u64..8).prop_map(|play| IvrInput::PlayFinished {
                    play,
                    interrupted: false
                }),
                (0u64..3, any::<bool>()).prop_map(|(id, ok)| IvrInput::LookupResult {
                    id,
                    body: ok.then(|| serde_json::json!({"customer": {"tier": "gold"}}))
                }),
                Just(IvrInput::RecordingFinished {
                    path: "x.wav".into(),
                    duration: Duration::from_secs(1)
                }),
            ],
        )
    }

    proptest! {
        /// Whatever the shell sends, in any order, the session neither panics
        /// nor loops, and once done it stays done.
        #[test]
        fn any_input_sequence_is_safe(inputs in prop::collection::vec(input(), 0..60), which in 0usize..3) {
            let yaml = [MENU, COLLECT, LOOKUP][which];
            let mut t = T::new(yaml);
            for (ms, i) in inputs {
                t.advance(Duration::from_millis(ms));
                let was_done = t.s.is_done();
                let out = t.input(i);
                prop_assert!(out.len() < 50);
                if was_done {
                    prop_assert!(out.is_empty());
                }
            }
        }
    }
}
