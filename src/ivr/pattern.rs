//! Digit patterns in the style of Asterisk's dialplan, for `collect.pattern`,
//! `branch` conditions on variables and on caller/dialed numbers.
//!
//! Chosen over regular expressions because every value they test is a short
//! string of keypad digits or a phone number, admins already know the syntax
//! from PBXs, and it keeps a regex engine out of the dependency tree.
//!
//! | element | matches |
//! |---|---|
//! | `0`-`9`, `*`, `#`, `+` | that character |
//! | `X` | any digit 0-9 |
//! | `Z` | 1-9 |
//! | `N` | 2-9 |
//! | `[15-7]` | one character of the set (ranges allowed) |
//! | `.` | one or more of anything (only at the end) |
//! | `!` | zero or more of anything (only at the end) |

use std::fmt;

/// One position of a pattern: the set of characters it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CharSet(Vec<char>);

/// A parsed digit pattern; matches a whole string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitPattern {
    source: String,
    fixed: Vec<CharSet>,
    /// What may follow the fixed part: nothing, one-or-more, zero-or-more.
    tail: Tail,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    None,
    OneOrMore,
    ZeroOrMore,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("empty pattern")]
    Empty,
    #[error("`{0}` is not a pattern character (use digits, * # +, X Z N, [..], . or !)")]
    BadChar(char),
    #[error("unclosed `[` in pattern")]
    Unclosed,
    #[error("`{0}` can only end a pattern")]
    TailNotLast(char),
    #[error("bad range `{0}-{1}` in pattern")]
    BadRange(char, char),
}

fn literal(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '*' | '#' | '+')
}

impl DigitPattern {
    pub fn parse(source: &str) -> Result<DigitPattern, PatternError> {
        if source.is_empty() {
            return Err(PatternError::Empty);
        }
        let chars: Vec<char> = source.chars().collect();
        let mut fixed = Vec::new();
        let mut tail = Tail::None;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if tail != Tail::None {
                let t = if tail == Tail::OneOrMore { '.' } else { '!' };
                return Err(PatternError::TailNotLast(t));
            }
            match c {
                'X' | 'x' => fixed.push(CharSet(('0'..='9').collect())),
                'Z' | 'z' => fixed.push(CharSet(('1'..='9').collect())),
                'N' | 'n' => fixed.push(CharSet(('2'..='9').collect())),
                '.' => tail = Tail::OneOrMore,
                '!' => tail = Tail::ZeroOrMore,
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|&c| c == ']')
                        .ok_or(PatternError::Unclosed)?;
                    let inner = &chars[i + 1..i + close];
                    let mut set = Vec::new();
                    let mut j = 0;
                    while j < inner.len() {
                        let a = inner[j];
                        if !literal(a) {
                            return Err(PatternError::BadChar(a));
                        }
                        if inner.get(j + 1) == Some(&'-') && j + 2 < inner.len() {
                            let b = inner[j + 2];
                            if !a.is_ascii_digit() || !b.is_ascii_digit() || a > b {
                                return Err(PatternError::BadRange(a, b));
                            }
                            set.extend(a..=b);
                            j += 3;
                        } else {
                            set.push(a);
                            j += 1;
                        }
                    }
                    if set.is_empty() {
                        return Err(PatternError::Unclosed);
                    }
                    fixed.push(CharSet(set));
                    i += close;
                }
                c if literal(c) => fixed.push(CharSet(vec![c])),
                c => return Err(PatternError::BadChar(c)),
            }
            i += 1;
        }
        Ok(DigitPattern {
            source: source.to_string(),
            fixed,
            tail,
        })
    }

    /// Whether the whole of `s` matches.
    pub fn matches(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        let n = self.fixed.len();
        let len_ok = match self.tail {
            Tail::None => chars.len() == n,
            Tail::OneOrMore => chars.len() > n,
            Tail::ZeroOrMore => chars.len() >= n,
        };
        len_ok
            && self
                .fixed
                .iter()
                .zip(&chars)
                .all(|(set, c)| set.0.contains(c))
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for DigitPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        DigitPattern::parse(p).expect("valid pattern").matches(s)
    }

    #[test]
    fn matches_classes_sets_and_tails() {
        assert!(m("XXXX", "0123"));
        assert!(!m("XXXX", "012"));
        assert!(!m("XXXX", "01234"));
        assert!(m("NXX", "200"));
        assert!(!m("NXX", "100"));
        assert!(m("Z", "1"));
        assert!(!m("Z", "0"));
        assert!(m("[1-3]5", "25"));
        assert!(!m("[1-3]5", "45"));
        assert!(m("+44.", "+442071234567"));
        assert!(!m("+44.", "+44"));
        assert!(m("+44!", "+44"));
        assert!(m("*#", "*#"));
    }

    #[test]
    fn rejects_bad_patterns() {
        assert_eq!(DigitPattern::parse(""), Err(PatternError::Empty));
        assert_eq!(DigitPattern::parse("12a"), Err(PatternError::BadChar('a')));
        assert_eq!(DigitPattern::parse("[12"), Err(PatternError::Unclosed));
        assert_eq!(
            DigitPattern::parse("1.2"),
            Err(PatternError::TailNotLast('.'))
        );
        assert_eq!(
            DigitPattern::parse("[5-1]"),
            Err(PatternError::BadRange('5', '1'))
        );
    }
}
