//! The raw YAML model of a flow file: what serde_yaml reads, before
//! compilation. Hand-written visitors keep serde_yaml's error positions exact
//! where a value may be written short (`queue: billing`) or in full.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// Any YAML scalar read as a string, so `1: billing` and `transfer: 1004`
/// work without quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or number")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Scalar, E> {
                Ok(Scalar(s.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A mapping that keeps file order (node order decides the default start node,
/// option order decides the graph layout).
#[derive(Debug, Clone)]
pub(crate) struct Ordered<V>(pub Vec<(String, V)>);

impl<V> Default for Ordered<V> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Vis<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Vis<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Ordered<V>, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = m.next_key::<Scalar>()? {
                    out.push((k.0, m.next_value::<V>()?));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(Vis(std::marker::PhantomData))
    }
}

/// Reads one string or a list of strings; `expecting` names what for errors.
pub(super) fn one_or_many<'de, D: Deserializer<'de>>(
    d: D,
    expecting: &'static str,
) -> Result<Vec<String>, D::Error> {
    struct V(&'static str);
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Vec<String>, E> {
            Ok(vec![s.to_string()])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Vec<String>, A::Error> {
            let mut v = Vec::new();
            while let Some(p) = s.next_element::<String>()? {
                v.push(p);
            }
            Ok(v)
        }
    }
    d.deserialize_any(V(expecting))
}

/// One prompt name or a list of them.
#[derive(Debug, Clone, Default)]
pub(crate) struct PromptList(pub Vec<String>);

impl<'de> Deserialize<'de> for PromptList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        one_or_many(d, "a prompt name or a list of prompt names").map(PromptList)
    }
}

/// One string or a list of strings (opening-hour ranges).
#[derive(Debug, Clone, Default)]
pub(crate) struct StrList(pub Vec<String>);

impl<'de> Deserialize<'de> for StrList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        one_or_many(d, "a time range like 08:00-20:00 or a list of them").map(StrList)
    }
}

/// Implements Deserialize for a type written either as a short string or as a
/// full map (`queue: billing` or `queue: {name: billing, priority: 5}`).
/// A hand-written visitor rather than `#[serde(untagged)]`, which would lose
/// the error position and say only "did not match any variant".
macro_rules! short_or_map {
    // `Ty(TyMap)`: also declares the wrapper of the map form, with no list form.
    ($ty:ident($map:ident), $expect:literal, |$s:ident| $short:expr) => {
        #[derive(Debug, Clone)]
        pub(crate) struct $ty(pub $map);
        impl NoSeq for $ty {}
        impl $ty {
            fn from_map<'de, A: MapAccess<'de>>(m: A) -> Result<Self, A::Error> {
                $map::deserialize(de::value::MapAccessDeserializer::new(m)).map($ty)
            }
        }
        short_or_map!($ty, $expect, |$s| $short);
    };
    ($ty:ident, $expect:literal, |$s:ident| $short:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expect)
                    }
                    fn visit_str<E: de::Error>(self, $s: &str) -> Result<$ty, E> {
                        Ok($short)
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                        let $s: &str = &v.to_string();
                        Ok($short)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        let $s: &str = &v.to_string();
                        Ok($short)
                    }
                    fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<$ty, A::Error> {
                        $ty::from_seq(s, $expect)
                    }
                    fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<$ty, A::Error> {
                        <$ty>::from_map(m)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

/// Default for types with no list form.
pub(super) trait NoSeq: Sized {
    fn from_seq<'de, A: SeqAccess<'de>>(_s: A, expect: &'static str) -> Result<Self, A::Error> {
        Err(de::Error::invalid_type(de::Unexpected::Seq, &expect))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPlayMap {
    pub prompts: PromptList,
    #[serde(default)]
    pub barge_in: Option<bool>,
}

#[derive(Debug, Clone)]
pub(crate) struct RawPlay(pub RawPlayMap);

impl RawPlay {
    fn from_seq<'de, A: SeqAccess<'de>>(s: A, _expect: &'static str) -> Result<Self, A::Error> {
        let prompts = PromptList::deserialize(de::value::SeqAccessDeserializer::new(s))?;
        Ok(RawPlay(RawPlayMap {
            prompts,
            barge_in: None,
        }))
    }
    fn from_map<'de, A: MapAccess<'de>>(m: A) -> Result<Self, A::Error> {
        RawPlayMap::deserialize(de::value::MapAccessDeserializer::new(m)).map(RawPlay)
    }
}
short_or_map!(
    RawPlay,
    "a prompt name, a list of prompts, or {prompts, barge_in}",
    |s| RawPlay(RawPlayMap {
        prompts: PromptList(vec![s.to_string()]),
        barge_in: None
    })
);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSayMap {
    pub var: String,
    #[serde(default, rename = "as")]
    pub as_: Option<SayAs>,
    #[serde(default)]
    pub barge_in: Option<bool>,
}

short_or_map!(RawSay(RawSayMap), "a variable name or {var, as}", |s| {
    RawSay(RawSayMap {
        var: s.to_string(),
        as_: None,
        barge_in: None,
    })
});

/// How `say` speaks a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SayAs {
    /// "one hundred and twenty three" (prompts `digits/1 hundred numbers/20 digits/3`).
    Number,
    /// "one two three".
    Digits,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOptionMap {
    pub to: String,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub set: Ordered<Scalar>,
}

short_or_map!(
    RawOption(RawOptionMap),
    "a node name or {to, language, set}",
    |s| {
        RawOption(RawOptionMap {
            to: s.to_string(),
            language: None,
            set: Ordered::default(),
        })
    }
);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMenu {
    #[serde(default)]
    pub prompt: PromptList,
    #[serde(default)]
    pub short_prompt: Option<PromptList>,
    pub options: Ordered<RawOption>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub inter_digit_timeout: Option<Duration>,
    #[serde(default)]
    pub retries: Option<u32>,
    #[serde(default)]
    pub invalid_prompt: Option<PromptList>,
    #[serde(default)]
    pub timeout_prompt: Option<PromptList>,
    #[serde(default)]
    pub on_failure: Option<String>,
    #[serde(default)]
    pub barge_in: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCollect {
    #[serde(default)]
    pub prompt: PromptList,
    pub into: String,
    #[serde(default)]
    pub min: Option<u8>,
    #[serde(default)]
    pub max: Option<u8>,
    /// `"#"`, `"*"`, or `none`.
    #[serde(default)]
    pub terminator: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub inter_digit_timeout: Option<Duration>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub retries: Option<u32>,
    #[serde(default)]
    pub invalid_prompt: Option<PromptList>,
    #[serde(default)]
    pub timeout_prompt: Option<PromptList>,
    #[serde(default)]
    pub on_failure: Option<String>,
    #[serde(default)]
    pub sensitive: bool,
    #[serde(default)]
    pub barge_in: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    #[serde(default)]
    pub var: Option<String>,
    #[serde(default)]
    pub equals: Option<Scalar>,
    #[serde(default)]
    pub not_equals: Option<Scalar>,
    #[serde(default, rename = "in")]
    pub in_: Option<Vec<Scalar>>,
    #[serde(default)]
    pub matches: Option<String>,
    #[serde(default)]
    pub empty: Option<bool>,
    #[serde(default)]
    pub above: Option<f64>,
    #[serde(default)]
    pub below: Option<f64>,
    #[serde(default)]
    pub caller: Option<String>,
    #[serde(default)]
    pub dialed: Option<String>,
    #[serde(default)]
    pub time: Option<String>,
    #[serde(default)]
    pub days: Option<String>,
    #[serde(default)]
    pub zone: Option<String>,
    pub to: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBranch {
    #[serde(default)]
    pub when: Vec<RawRule>,
    #[serde(default, rename = "else")]
    pub else_: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHours {
    #[serde(default)]
    pub zone: Option<String>,
    pub weekly: Ordered<StrList>,
    #[serde(default)]
    pub closed_dates: Vec<Scalar>,
    pub open: String,
    pub closed: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Method {
    #[serde(rename = "GET", alias = "get")]
    Get,
    #[serde(rename = "POST", alias = "post")]
    Post,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Get => "GET",
            Method::Post => "POST",
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLookup {
    pub url: String,
    #[serde(default)]
    pub method: Option<Method>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    #[serde(default)]
    pub fields: Ordered<String>,
    #[serde(default)]
    pub on_error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQueueMap {
    pub name: String,
    #[serde(default)]
    pub priority: Option<u8>,
    #[serde(default)]
    pub skills: Vec<String>,
}

short_or_map!(
    RawQueue(RawQueueMap),
    "a queue name or {name, priority, skills}",
    |s| {
        RawQueue(RawQueueMap {
            name: s.to_string(),
            priority: None,
            skills: Vec::new(),
        })
    }
);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVoicemailMap {
    #[serde(rename = "box")]
    pub box_name: String,
    #[serde(default)]
    pub greeting: Option<PromptList>,
    #[serde(default)]
    pub beep: Option<bool>,
    #[serde(default, with = "humantime_serde")]
    pub max_length: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub silence: Option<Duration>,
}

#[derive(Debug, Clone)]
pub(crate) struct RawVoicemail(pub RawVoicemailMap);
impl NoSeq for RawVoicemail {}
impl RawVoicemail {
    fn from_map<'de, A: MapAccess<'de>>(m: A) -> Result<Self, A::Error> {
        RawVoicemailMap::deserialize(de::value::MapAccessDeserializer::new(m)).map(RawVoicemail)
    }
}
short_or_map!(
    RawVoicemail,
    "a mailbox name or {box, greeting, beep, max_length, silence}",
    |s| RawVoicemail(RawVoicemailMap {
        box_name: s.to_string(),
        greeting: None,
        beep: None,
        max_length: None,
        silence: None
    })
);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGotoMap {
    #[serde(default)]
    pub flow: Option<String>,
    #[serde(default)]
    pub node: Option<String>,
}

short_or_map!(RawGoto(RawGotoMap), "a node name or {flow, node}", |s| {
    RawGoto(RawGotoMap {
        flow: None,
        node: Some(s.to_string()),
    })
});

/// A node: one optional field per action kind (exactly one must be given)
/// plus the common `next`. A struct rather than an enum keeps serde_yaml's
/// error positions exact (see crates.md §8).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNode {
    #[serde(default)]
    pub play: Option<RawPlay>,
    #[serde(default)]
    pub say: Option<RawSay>,
    #[serde(default)]
    pub menu: Option<RawMenu>,
    #[serde(default)]
    pub collect: Option<RawCollect>,
    #[serde(default)]
    pub set: Option<Ordered<Scalar>>,
    #[serde(default)]
    pub branch: Option<RawBranch>,
    #[serde(default)]
    pub hours: Option<RawHours>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub lookup: Option<RawLookup>,
    #[serde(default)]
    pub queue: Option<RawQueue>,
    #[serde(default)]
    pub transfer: Option<Scalar>,
    #[serde(default)]
    pub voicemail: Option<RawVoicemail>,
    #[serde(default)]
    pub hangup: Option<bool>,
    #[serde(default)]
    pub goto: Option<RawGoto>,
    #[serde(default)]
    pub next: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFlow {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    pub nodes: Ordered<RawNode>,
}
