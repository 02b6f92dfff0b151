//! The command-line side of CDRs: `switchboard cdr export` and
//! `switchboard report`. This is the one place in `cdr/` that reads the
//! clock and opens the store; the figures come from [`super::report`].

use std::io::Write;

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

use super::report;
use super::{export, EventKind};
use crate::cli::{CdrExportArgs, PeriodArgs, ReportArgs, ReportFormat};
use crate::config::Config;
use crate::store::cdr::CdrStore;

/// A point in time from the command line: `now`, `today`, `yesterday`, a
/// date (`2026-11-23`, local midnight), a local date and time
/// (`2026-11-23T10:00` or `2026-11-23 10:00`), RFC 3339
/// (`2026-11-23T10:00:00Z`) or a zoned time (`2026-11-23T10:00[Europe/London]`).
pub fn parse_time(s: &str, tz: &TimeZone, now_ms: i64) -> Result<i64, String> {
    let s = s.trim();
    let today = || {
        Timestamp::from_millisecond(now_ms)
            .map(|t| t.to_zoned(tz.clone()).date())
            .map_err(|e| e.to_string())
    };
    let midnight = |d: Date| {
        d.to_zoned(tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|e| e.to_string())
    };
    match s {
        "now" => return Ok(now_ms),
        "today" => return midnight(today()?),
        "yesterday" => return midnight(today()?.checked_sub(1.day()).map_err(|e| e.to_string())?),
        _ => {}
    }
    // (jiff reads a date from a longer datetime too, so only a bare date here)
    if s.len() == 10 {
        if let Ok(d) = s.parse::<Date>() {
            return midnight(d);
        }
    }
    if let Ok(ms) = crate::ivr::commands::parse_at(s) {
        return Ok(ms);
    }
    if let Ok(dt) = s.replacen(' ', "T", 1).parse::<DateTime>() {
        return dt
            .to_zoned(tz.clone())
            .map(|z| z.timestamp().as_millisecond())
            .map_err(|e| e.to_string());
    }
    Err(format!(
        "`{s}`: write a date (2026-11-23), a local time (2026-11-23T10:00), RFC 3339 \
         (2026-11-23T10:00:00Z), now, today or yesterday"
    ))
}

fn time_zone(name: Option<&str>) -> Result<TimeZone, String> {
    match name {
        Some(n) => TimeZone::get(n).map_err(|e| format!("--tz {n}: {e}")),
        None => Ok(TimeZone::system()),
    }
}

/// The configuration (for the store and targets) and the store.
fn open(period: &PeriodArgs) -> Result<(Config, Box<dyn CdrStore>), String> {
    let mut cfg = Config::load(&period.config.config).map_err(|e| e.to_string())?;
    if let Some(v) = &period.var_dir {
        cfg.var_dir = v.clone();
    }
    period.cdr.apply(&mut cfg);
    let at = cfg.cdr_store();
    if let crate::store::cdr::StoreLocation::Sqlite(p) = &at {
        // Reading must not create an empty database somewhere unexpected.
        if !p.exists() {
            return Err(format!(
                "{at}: no call records yet (the file does not exist)"
            ));
        }
    }
    let store = crate::store::cdr::open(&at).map_err(|e| format!("{at}: {e}"))?;
    Ok((cfg, store))
}

/// `[since, until)` from the arguments, with defaults.
fn period(p: &PeriodArgs, tz: &TimeZone, now_ms: i64, all: bool) -> Result<(i64, i64), String> {
    let since = match &p.since {
        Some(s) => parse_time(s, tz, now_ms).map_err(|e| format!("--since {e}"))?,
        None if all => 0,
        None => parse_time("today", tz, now_ms)?,
    };
    let until = match &p.until {
        Some(s) => parse_time(s, tz, now_ms).map_err(|e| format!("--until {e}"))?,
        None if all => i64::MAX,
        None => now_ms,
    };
    if until <= since {
        return Err("--until must be after --since".into());
    }
    Ok((since, until))
}

/// `switchboard cdr export`: writes to `--output` or standard output.
pub fn export(args: &CdrExportArgs) -> Result<(), String> {
    let now = Timestamp::now().as_millisecond();
    let tz = time_zone(args.period.tz.as_deref())?;
    let (since, until) = period(&args.period, &tz, now, true)?;
    let (_, mut store) = open(&args.period)?;
    let out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let r = if args.events {
        let evs = store.events(since, until).map_err(|e| e.to_string())?;
        export::events(out, &evs, args.format)
    } else {
        let recs = store.records(since, until).map_err(|e| e.to_string())?;
        export::records(out, &recs, args.format)
    };
    r.map_err(|e| e.to_string())
}

/// `switchboard report`: the table (or JSON).
pub fn report(args: &ReportArgs) -> Result<String, String> {
    let now = Timestamp::now().as_millisecond();
    let tz = time_zone(args.period.tz.as_deref())?;
    let (since, until) = period(&args.period, &tz, now, false)?;
    // Occupancy is counted up to now, not into the future.
    let until = until.min(now.max(since + 1));
    let (cfg, mut store) = open(&args.period)?;
    let records = store.records(since, until).map_err(|e| e.to_string())?;
    let mut events = store
        .agent_states_before(since)
        .map_err(|e| e.to_string())?;
    events.sort_by_key(|e| e.at_ms);
    events.extend(
        store
            .events(since, until)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|e| matches!(e.kind, EventKind::AgentState { .. })),
    );
    let r = report::compute(&records, &events, since, until, args.by, &cfg.cdr, &tz);
    Ok(match args.format {
        ReportFormat::Text => report::render(&r, &tz),
        ReportFormat::Json => serde_json::to_string_pretty(&r).map_err(|e| e.to_string())? + "\n",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_from_the_command_line() {
        let tz = TimeZone::get("Europe/London").unwrap();
        // 2026-11-23T15:30:00Z, a Monday in GMT.
        let now = 1_795_447_800_000;
        assert_eq!(parse_time("now", &tz, now), Ok(now));
        assert_eq!(parse_time("today", &tz, now), Ok(1_795_392_000_000));
        assert_eq!(parse_time("yesterday", &tz, now), Ok(1_795_305_600_000));
        assert_eq!(parse_time("2026-11-23", &tz, now), Ok(1_795_392_000_000));
        assert_eq!(
            parse_time("2026-11-23 10:00", &tz, now),
            Ok(1_795_392_000_000 + 10 * 3_600_000)
        );
        assert_eq!(
            parse_time("2026-11-23T10:00:00+01:00", &tz, now),
            Ok(1_795_392_000_000 + 9 * 3_600_000)
        );
        // Summer time: local midnight is 23:00 UTC the day before.
        assert_eq!(parse_time("2026-07-01", &tz, now), Ok(1_782_860_400_000));
        assert!(parse_time("last week", &tz, now).is_err());
    }
}
