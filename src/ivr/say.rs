//! Turning a value into prompt names for `say`, the same way as
//! `media::prompts::PromptLibrary::say_number`: English (`en`, `en-*`) uses
//! words from `digits/0-9`, `numbers/10-19`, `numbers/20..90` and
//! `numbers/hundred|thousand|million`; other languages say the digits one by
//! one (their number grammar needs more than concatenation).

use super::flow::SayAs;

/// Whether `say` uses number words in `lang`.
pub fn uses_words(lang: &str) -> bool {
    lang == "en" || lang.starts_with("en-") || lang.starts_with("en_")
}

/// Prompts a `say` may need in `lang`, for the checker.
pub fn all_prompts(lang: &str) -> Vec<String> {
    let mut v: Vec<String> = (0..10).map(|d| format!("digits/{d}")).collect();
    if uses_words(lang) {
        v.extend((10..20).map(|n| format!("numbers/{n}")));
        v.extend((2..10).map(|n| format!("numbers/{}", n * 10)));
        v.extend(["numbers/hundred", "numbers/thousand", "numbers/million"].map(String::from));
    }
    v
}

/// The prompts that speak `value`. Non-digit characters are skipped; values
/// too large for words (or with a leading zero, like an order number) fall
/// back to digit by digit, which is also how an empty value says nothing.
pub fn prompts(value: &str, as_: SayAs, lang: &str) -> Vec<String> {
    let digits: String = value.chars().filter(|c| c.is_ascii_digit()).collect();
    let as_digits = || digits.chars().map(|c| format!("digits/{c}")).collect();
    if as_ == SayAs::Digits || digits.is_empty() || !uses_words(lang) {
        return as_digits();
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return as_digits();
    }
    match digits.parse::<u64>() {
        Ok(n) if n < 1_000_000_000 => {
            let mut out = Vec::new();
            number(n, &mut out);
            out
        }
        _ => as_digits(),
    }
}

fn number(n: u64, out: &mut Vec<String>) {
    if n == 0 {
        out.push("digits/0".into());
        return;
    }
    let mut rest = n;
    for (unit, word) in [(1_000_000, "numbers/million"), (1_000, "numbers/thousand")] {
        if rest >= unit {
            below_thousand(rest / unit, out);
            out.push(word.into());
            rest %= unit;
        }
    }
    if rest > 0 {
        below_thousand(rest, out);
    }
}

fn below_thousand(n: u64, out: &mut Vec<String>) {
    let (h, r) = (n / 100, n % 100);
    if h > 0 {
        out.push(format!("digits/{h}"));
        out.push("numbers/hundred".into());
    }
    match r {
        0 => {}
        1..=9 => out.push(format!("digits/{r}")),
        10..=19 => out.push(format!("numbers/{r}")),
        _ => {
            out.push(format!("numbers/{}", r / 10 * 10));
            if r % 10 > 0 {
                out.push(format!("digits/{}", r % 10));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn say(v: &str) -> String {
        prompts(v, SayAs::Number, "en").join(" ")
    }

    #[test]
    fn numbers_compose_from_words() {
        assert_eq!(say("0"), "digits/0");
        assert_eq!(say("7"), "digits/7");
        assert_eq!(say("13"), "numbers/13");
        assert_eq!(say("40"), "numbers/40");
        assert_eq!(say("42"), "numbers/40 digits/2");
        assert_eq!(say("300"), "digits/3 numbers/hundred");
        assert_eq!(
            say("1205"),
            "digits/1 numbers/thousand digits/2 numbers/hundred digits/5"
        );
        assert_eq!(say("2000017"), "digits/2 numbers/million numbers/17");
        assert_eq!(say("012"), "digits/0 digits/1 digits/2");
        assert_eq!(
            say("1234567890123"),
            prompts("1234567890123", SayAs::Digits, "en").join(" ")
        );
        assert_eq!(say(""), "");
        assert_eq!(say("abc"), "");
    }

    #[test]
    fn digits_read_one_by_one() {
        assert_eq!(
            prompts("4071", SayAs::Digits, "en").join(" "),
            "digits/4 digits/0 digits/7 digits/1"
        );
        assert_eq!(
            prompts("42", SayAs::Number, "fa").join(" "),
            "digits/4 digits/2"
        );
        assert_eq!(all_prompts("ru").len(), 10);
        let all = all_prompts("en-GB");
        for p in prompts("987654321", SayAs::Number, "en-GB") {
            assert!(all.contains(&p), "{p}");
        }
    }
}
