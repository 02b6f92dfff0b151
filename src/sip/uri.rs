//! SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966), kept close to the text:
//! escapes are preserved verbatim and parameters keep their order, so a URI we
//! forward is the URI we received.

use std::fmt;

use super::headers::Params;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// Lower-case scheme: `sip`, `sips` or `tel`.
    pub scheme: String,
    /// User part (for `tel:`, the number).
    pub user: Option<String>,
    pub password: Option<String>,
    /// Host name, IPv4 address or bracketed IPv6 reference (`[2001:db8::1]`). Empty for `tel:`.
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
    /// `?header=value&...` part, without the `?`.
    pub headers: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("unsupported URI scheme {0:?}")]
    Scheme(String),
    #[error("malformed URI")]
    Malformed,
}

impl Uri {
    pub fn parse(s: &str) -> Result<Uri, UriError> {
        let s = s.trim();
        let (scheme, rest) = s.split_once(':').ok_or(UriError::Malformed)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(UriError::Malformed);
        }
        match scheme.as_str() {
            "sip" | "sips" => Self::parse_sip(scheme, rest),
            "tel" => {
                let (number, params) = match rest.split_once(';') {
                    Some((n, p)) => (n, Params::parse(p)?),
                    None => (rest, Params::default()),
                };
                if number.is_empty() || number.contains([' ', '<', '>', '@']) {
                    return Err(UriError::Malformed);
                }
                Ok(Uri {
                    scheme,
                    user: Some(number.to_string()),
                    password: None,
                    host: String::new(),
                    port: None,
                    params,
                    headers: None,
                })
            }
            _ => Err(UriError::Scheme(scheme)),
        }
    }

    fn parse_sip(scheme: String, rest: &str) -> Result<Uri, UriError> {
        if rest.is_empty()
            || rest
                .bytes()
                .any(|b| b <= b' ' || b == b'<' || b == b'>' || b == b'"')
        {
            return Err(UriError::Malformed);
        }
        // The user part may contain ';' and '?' (RFC 3261 §25.1 `user-unreserved`),
        // so split userinfo at the last '@' first, then headers at the first '?' after it.
        let (userinfo, hostpart) = match rest.rfind('@') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        let (hostpart, headers) = match hostpart.split_once('?') {
            Some((r, h)) => (r, Some(h.to_string())),
            None => (hostpart, None),
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                None => (Some(u.to_string()), None),
            },
            None => (None, None),
        };
        if user.as_deref() == Some("") {
            return Err(UriError::Malformed);
        }
        let (hostport, params) = match hostpart.split_once(';') {
            Some((h, p)) => (h, Params::parse(p)?),
            None => (hostpart, Params::default()),
        };
        let (host, port) = split_hostport(hostport)?;
        Ok(Uri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// Host with port when one is given: `127.0.0.1:5060`.
    pub fn host_port(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{}", self.host, p),
            None => self.host.clone(),
        }
    }

    pub fn transport(&self) -> Option<&str> {
        self.params.get("transport").flatten()
    }
}

/// Splits `host[:port]`, accepting bracketed IPv6 references.
pub fn split_hostport(s: &str) -> Result<(String, Option<u16>), UriError> {
    let s = s.trim();
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or(UriError::Malformed)?;
        let host = &s[..end + 2];
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(UriError::Malformed),
        };
        if host[1..host.len() - 1]
            .parse::<std::net::Ipv6Addr>()
            .is_err()
        {
            return Err(UriError::Malformed);
        }
        (host, port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty()
        || !host.starts_with('[')
            && !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
    {
        return Err(UriError::Malformed);
    }
    let port = match port {
        Some(p) => Some(
            p.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or(UriError::Malformed)?,
        ),
        None => None,
    };
    Ok((host.to_string(), port))
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme)?;
        if self.scheme == "tel" {
            write!(f, "{}", self.user.as_deref().unwrap_or(""))?;
        } else {
            if let Some(u) = &self.user {
                f.write_str(u)?;
                if let Some(p) = &self.password {
                    write!(f, ":{p}")?;
                }
                f.write_str("@")?;
            }
            f.write_str(&self.host_port())?;
        }
        write!(f, "{}", self.params)?;
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let u = Uri::parse("sip:1001@127.0.0.1:5060;transport=tcp;lr").unwrap();
        assert_eq!(u.user.as_deref(), Some("1001"));
        assert_eq!(u.host, "127.0.0.1");
        assert_eq!(u.port, Some(5060));
        assert_eq!(u.transport(), Some("tcp"));
        assert!(u.params.has("lr"));
        assert_eq!(u.to_string(), "sip:1001@127.0.0.1:5060;transport=tcp;lr");
    }

    #[test]
    fn ipv6_tel_escapes_and_user_params() {
        let u = Uri::parse("sip:alice@[2001:db8::10]:5070").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("[2001:db8::10]", Some(5070)));
        let t = Uri::parse("tel:+14155551234;phone-context=example.com").unwrap();
        assert_eq!(t.user.as_deref(), Some("+14155551234"));
        assert_eq!(t.to_string(), "tel:+14155551234;phone-context=example.com");
        let e = Uri::parse("sip:sips%3Auser%40example.com@example.net").unwrap();
        assert_eq!(e.user.as_deref(), Some("sips%3Auser%40example.com"));
        assert_eq!(e.to_string(), "sip:sips%3Auser%40example.com@example.net");
        let p =
            Uri::parse("sip:+1-415-555-1234;phone-context=example.com@gw.example.com;user=phone")
                .unwrap();
        assert_eq!(
            p.user.as_deref(),
            Some("+1-415-555-1234;phone-context=example.com")
        );
        assert_eq!(p.host, "gw.example.com");
        let h = Uri::parse("sip:bob@example.com;transport=tcp?Subject=hi").unwrap();
        assert_eq!(h.headers.as_deref(), Some("Subject=hi"));
        assert_eq!(
            h.to_string(),
            "sip:bob@example.com;transport=tcp?Subject=hi"
        );
    }

    #[test]
    fn rejects_bad_uris() {
        assert_eq!(
            Uri::parse("isbn:2983792873"),
            Err(UriError::Scheme("isbn".into()))
        );
        for bad in [
            "sip:",
            "sip:@host",
            "sip:a@host:99999",
            "sip:a@host:0",
            "sip:a b@c",
            "nocolon",
            "sip:a@[::1",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad}");
        }
    }
}
