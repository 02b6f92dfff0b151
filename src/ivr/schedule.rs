//! Opening hours and time-of-day conditions: day lists (`mon-fri`), time
//! ranges (`08:00-20:00`), closure dates, evaluated in an IANA time zone with
//! jiff (zone rules are bundled, so DST is right without system zoneinfo).

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// Days of the week as a bit set, Monday = bit 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Days(u8);

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(word: &str) -> Option<usize> {
    let w = word.trim().to_ascii_lowercase();
    if w.len() < 3 {
        return None;
    }
    let full = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    (0..7).find(|&i| full[i].starts_with(&w) && w.starts_with(DAY_NAMES[i]))
}

impl Days {
    pub const ALL: Days = Days(0x7f);

    /// `mon`, `mon-fri`, `sat,sun`, `fri-mon` (wraps), `daily`.
    pub fn parse(spec: &str) -> Result<Days, String> {
        let mut bits = 0u8;
        for part in spec.split(',') {
            let part = part.trim();
            if part.eq_ignore_ascii_case("daily") || part.eq_ignore_ascii_case("every day") {
                bits |= 0x7f;
                continue;
            }
            let bad = || {
                format!("`{part}` is not a day or day range (write mon, mon-fri, sat,sun or daily)")
            };
            match part.split_once('-') {
                Some((a, b)) => {
                    let a = day_index(a).ok_or_else(bad)?;
                    let b = day_index(b).ok_or_else(bad)?;
                    let mut i = a;
                    loop {
                        bits |= 1 << i;
                        if i == b {
                            break;
                        }
                        i = (i + 1) % 7;
                    }
                }
                None => bits |= 1 << day_index(part).ok_or_else(bad)?,
            }
        }
        Ok(Days(bits))
    }

    pub fn contains(self, day: Weekday) -> bool {
        let i = day.to_monday_zero_offset();
        self.0 & (1 << i) != 0
    }
}

/// `HH:MM-HH:MM` as minutes since midnight, end exclusive (`24:00` allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start: u16,
    pub end: u16,
}

fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

impl TimeRange {
    pub fn parse(spec: &str) -> Result<TimeRange, String> {
        let bad = || format!("`{spec}` is not a time range like 08:00-20:00");
        let (a, b) = spec.split_once('-').ok_or_else(bad)?;
        let start = parse_hhmm(a).ok_or_else(bad)?;
        let end = parse_hhmm(b).ok_or_else(bad)?;
        if end <= start {
            return Err(format!(
                "time range `{spec}` ends before it starts (split a range past midnight over two days)"
            ));
        }
        Ok(TimeRange { start, end })
    }

    pub fn contains(self, minute_of_day: u16) -> bool {
        (self.start..self.end).contains(&minute_of_day)
    }
}

/// A closure date: one day, one day every year, or an inclusive span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosedDate {
    Day(Date),
    /// Month and day, every year (`12-25`).
    Yearly(i8, i8),
    Span(Date, Date),
}

impl ClosedDate {
    /// `2026-12-25`, `12-25` (every year) or `2026-12-24..2026-12-26`.
    pub fn parse(spec: &str) -> Result<ClosedDate, String> {
        let s = spec.trim();
        let bad = || {
            format!("`{spec}` is not a date (write 2026-12-25, 12-25 for every year, or 2026-12-24..2026-12-26)")
        };
        if let Some((a, b)) = s.split_once("..") {
            let a: Date = a.trim().parse().map_err(|_| bad())?;
            let b: Date = b.trim().parse().map_err(|_| bad())?;
            if b < a {
                return Err(format!("date span `{spec}` ends before it starts"));
            }
            return Ok(ClosedDate::Span(a, b));
        }
        if s.len() == 5 {
            let (m, d) = s.split_once('-').ok_or_else(bad)?;
            let m: i8 = m.parse().map_err(|_| bad())?;
            let d: i8 = d.parse().map_err(|_| bad())?;
            // 2024 is a leap year, so 02-29 is accepted.
            Date::new(2024, m, d).map_err(|_| bad())?;
            return Ok(ClosedDate::Yearly(m, d));
        }
        s.parse::<Date>().map(ClosedDate::Day).map_err(|_| bad())
    }

    pub fn contains(self, d: Date) -> bool {
        match self {
            ClosedDate::Day(x) => x == d,
            ClosedDate::Yearly(m, day) => d.month() == m && d.day() == day,
            ClosedDate::Span(a, b) => a <= d && d <= b,
        }
    }
}

/// Looks up an IANA zone name in the bundled database.
pub fn zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name)
        .map_err(|_| format!("unknown time zone `{name}` (use an IANA name like Europe/London)"))
}

/// The local weekday, date and minute of day of `unix_ms` in `tz`.
pub fn local(unix_ms: i64, tz: &TimeZone) -> (Weekday, Date, u16) {
    // Out-of-range wall times (impossible from a real clock) clamp to the epoch
    // rather than fail: the flow must keep running.
    let ts = Timestamp::from_millisecond(unix_ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let z = ts.to_zoned(tz.clone());
    let minute = (z.hour() as u16) * 60 + z.minute() as u16;
    (z.weekday(), z.date(), minute)
}

/// Weekly opening hours plus closures.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub zone_name: String,
    pub zone: TimeZone,
    pub weekly: Vec<(Days, Vec<TimeRange>)>,
    pub closed_dates: Vec<ClosedDate>,
}

impl Schedule {
    pub fn is_open(&self, unix_ms: i64) -> bool {
        let (day, date, minute) = local(unix_ms, &self.zone);
        if self.closed_dates.iter().any(|c| c.contains(date)) {
            return false;
        }
        self.weekly
            .iter()
            .filter(|(days, _)| days.contains(day))
            .any(|(_, ranges)| ranges.iter().any(|r| r.contains(minute)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_days() {
        let wk = Days::parse("mon-fri").expect("days");
        assert!(wk.contains(Weekday::Monday) && wk.contains(Weekday::Friday));
        assert!(!wk.contains(Weekday::Saturday));
        let wrap = Days::parse("fri-mon").expect("days");
        assert!(wrap.contains(Weekday::Sunday) && wrap.contains(Weekday::Monday));
        assert!(!wrap.contains(Weekday::Tuesday));
        assert_eq!(Days::parse("sat, sunday").expect("days").0, 0b110_0000);
        assert_eq!(Days::parse("daily"), Ok(Days::ALL));
        assert!(Days::parse("mnday").is_err());
        assert!(Days::parse("mo").is_err());
    }

    #[test]
    fn parses_times_and_dates() {
        assert_eq!(
            TimeRange::parse("08:00-20:00"),
            Ok(TimeRange {
                start: 480,
                end: 1200
            })
        );
        assert!(TimeRange::parse("00:00-24:00").is_ok());
        assert!(TimeRange::parse("20:00-08:00").is_err());
        assert!(TimeRange::parse("8-20").is_err());
        assert!(TimeRange::parse("08:60-20:00").is_err());
        assert!(ClosedDate::parse("2026-12-25").is_ok());
        assert!(ClosedDate::parse("12-25").is_ok());
        assert!(ClosedDate::parse("2026-12-24..2026-12-26").is_ok());
        assert!(ClosedDate::parse("2026-13-01").is_err());
        assert!(ClosedDate::parse("13-01").is_err());
    }

    fn ms(s: &str) -> i64 {
        s.parse::<Timestamp>().expect("timestamp").as_millisecond()
    }

    #[test]
    fn opening_hours_follow_london_dst() {
        let s = Schedule {
            zone_name: "Europe/London".into(),
            zone: zone("Europe/London").expect("zone"),
            weekly: vec![(
                Days::parse("mon-fri").expect("days"),
                vec![TimeRange::parse("08:00-20:00").expect("range")],
            )],
            closed_dates: vec![ClosedDate::parse("2026-12-25").expect("date")],
        };
        // Winter (GMT): 07:30Z is 07:30 local, closed; 08:00Z open.
        assert!(!s.is_open(ms("2026-01-05T07:30:00Z")));
        assert!(s.is_open(ms("2026-01-05T08:00:00Z")));
        // Summer (BST = UTC+1): 07:30Z is 08:30 local, open; 19:30Z is 20:30, closed.
        assert!(s.is_open(ms("2026-07-06T07:30:00Z")));
        assert!(!s.is_open(ms("2026-07-06T19:30:00Z")));
        // The Monday after the spring change (29 March 2026): 07:00Z = 08:00 BST.
        assert!(s.is_open(ms("2026-03-30T07:00:00Z")));
        assert!(!s.is_open(ms("2026-03-27T07:00:00Z")));
        // Christmas Day 2026 is a Friday, closed by date.
        assert!(!s.is_open(ms("2026-12-25T12:00:00Z")));
        assert!(zone("Europe/Londn").is_err());
    }
}
