//! Which host names the server answers for, and whether a browser's request comes from this
//! site's own pages.
//!
//! **Host names.** A page on another site whose name the attacker points at 127.0.0.1 (DNS
//! rebinding) is, to the browser, of the same origin as this server: it may read the answers and
//! send changes, and nothing else would tell it apart. Only the name it asks for does, in `Host`.
//! So a request must name a host of the [`AllowedHosts`]: `localhost`, any IP address (an address
//! cannot be re-pointed: a page served from an address is that address's, never the attacker's,
//! and a container probe names the pod's address), and the names the user gave
//! (`--allowed-host`, the host of `--public-url`). Others are answered 421.
//!
//! **Origin.** A change (and a WebSocket handshake) is taken from a browser only when it says it
//! comes from this site: `Sec-Fetch-Site` `same-origin` (or `none`, typed by the user) and an
//! `Origin` whose scheme, host and port are the request's own. Behind a trusted proxy the
//! request's scheme and host are the ones it forwards (`X-Forwarded-Proto`, `X-Forwarded-Host`).

use std::net::{Ipv4Addr, Ipv6Addr};

use axum::http::{HeaderMap, Uri, header};

/// The longest `Host` value looked at; longer ones are refused.
const HOST_LIMIT: usize = 255;

/// A host as a request or an origin names it: its name or address in lower case (IPv6 inside
/// brackets, no trailing dot) and its port when one was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// The name or address.
    pub host: String,
    /// The port, when written.
    pub port: Option<u16>,
}

impl HostPort {
    /// Reads `name`, `name:port`, `1.2.3.4:port`, `[::1]:port`; `None` when it is none of
    /// these.
    pub fn parse(value: &str) -> Option<HostPort> {
        let v = value.trim();
        if v.is_empty() || v.len() > HOST_LIMIT {
            return None;
        }
        let (host, port) = if let Some(rest) = v.strip_prefix('[') {
            let (inside, after) = rest.split_once(']')?;
            inside.parse::<Ipv6Addr>().ok()?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':')?.parse::<u16>().ok()?),
            };
            (format!("[{}]", inside.to_ascii_lowercase()), port)
        } else {
            let (host, port) = match v.rsplit_once(':') {
                Some((h, p)) => (h, Some(p.parse::<u16>().ok()?)),
                None => (v, None),
            };
            let host = host.strip_suffix('.').unwrap_or(host);
            let valid = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
            if !valid {
                return None;
            }
            (host.to_ascii_lowercase(), port)
        };
        Some(HostPort { host, port })
    }

    /// Whether the host is an IP address.
    pub fn is_address(&self) -> bool {
        match self.host.strip_prefix('[') {
            Some(v6) => v6.trim_end_matches(']').parse::<Ipv6Addr>().is_ok(),
            None => self.host.parse::<Ipv4Addr>().is_ok(),
        }
    }

    /// Whether the host is `localhost` or a loopback address.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || match self.host.strip_prefix('[') {
                Some(v6) => v6
                    .trim_end_matches(']')
                    .parse::<Ipv6Addr>()
                    .is_ok_and(|a| a.is_loopback()),
                None => self.host.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback()),
            }
    }
}

/// The host names a request may name besides `localhost` and IP addresses: each with the port
/// it was given with, or any port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    names: Vec<HostPort>,
}

/// Why an allowed host was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a host name such as dashboard.example.com or dashboard.example.com:8443")]
pub struct BadHost(pub String);

impl AllowedHosts {
    /// Adds a host name (`name` or `name:port`), or the host of a URL such as
    /// `https://dashboard.example.com/`.
    pub fn add(&mut self, value: &str) -> Result<(), BadHost> {
        let v = value.trim();
        let authority = match v.split_once("://") {
            Some((_, rest)) => {
                let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
                let authority = &rest[..end];
                // `user:password@host` names the host after the last `@`.
                authority.rsplit('@').next().unwrap_or(authority)
            }
            None => v,
        };
        let host = HostPort::parse(authority).ok_or_else(|| BadHost(value.to_owned()))?;
        if !self.names.contains(&host) {
            self.names.push(host);
        }
        Ok(())
    }

    /// The names added, as written back (`name` or `name:port`).
    pub fn names(&self) -> Vec<String> {
        self.names
            .iter()
            .map(|h| match h.port {
                Some(p) => format!("{}:{p}", h.host),
                None => h.host.clone(),
            })
            .collect()
    }

    /// Whether a request naming `host` is answered: `localhost`, an IP address, or an added
    /// name (with its port when it was added with one).
    pub fn allows(&self, host: &HostPort) -> bool {
        host.is_loopback()
            || host.is_address()
            || self
                .names
                .iter()
                .any(|n| n.host == host.host && (n.port.is_none() || n.port == host.port))
    }
}

/// The last of a header's comma-separated values: what the nearest proxy added.
fn last_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .rfind(|v| !v.is_empty())
}

/// The host a request names, as written: `X-Forwarded-Host` behind a trusted proxy, else
/// `Host`, else the request line's authority. `None` when it names none.
pub fn request_host<'a>(
    headers: &'a HeaderMap,
    uri: &'a Uri,
    trust_proxy: bool,
) -> Option<&'a str> {
    if trust_proxy && let Some(h) = last_value(headers, "x-forwarded-host") {
        return Some(h);
    }
    headers
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"))
        .or_else(|| uri.authority().map(axum::http::uri::Authority::as_str))
}

/// The request's scheme: `https` over TLS or behind a trusted proxy that says so, else `http`.
pub fn request_scheme(headers: &HeaderMap, tls: bool, trust_proxy: bool) -> &'static str {
    let forwarded_https = trust_proxy
        && last_value(headers, "x-forwarded-proto")
            .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    if tls || forwarded_https {
        "https"
    } else {
        "http"
    }
}

/// The port a scheme's URLs mean when they write none.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// Whether `origin` (an `Origin` header's value) is `scheme://host` of this request, ports
/// compared after filling in the scheme's default.
pub fn same_origin(origin: &str, scheme: &str, host: &HostPort) -> bool {
    let Some((origin_scheme, rest)) = origin.trim().split_once("://") else {
        return false;
    };
    let origin_scheme = origin_scheme.to_ascii_lowercase();
    let Some(origin_host) = HostPort::parse(rest) else {
        return false;
    };
    origin_scheme == scheme
        && origin_host.host == host.host
        && origin_host.port.or_else(|| default_port(&origin_scheme))
            == host.port.or_else(|| default_port(scheme))
}

/// Whether a request comes from this site's own pages, or from no browser at all: a browser
/// says where a request comes from in `Sec-Fetch-Site` and `Origin`; scripts send neither.
/// `scheme` and `host` are the request's own ([`request_scheme`], [`request_host`]).
pub fn same_site(headers: &HeaderMap, scheme: &str, host: Option<&str>) -> bool {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(site, Some(s) if s != "same-origin" && s != "none") {
        return false;
    }
    match (
        headers
            .get(header::ORIGIN)
            .map(|v| v.to_str().unwrap_or("")),
        host.and_then(HostPort::parse),
    ) {
        // A browser that hides the origin (privacy settings, a `no-referrer` page): its
        // `Sec-Fetch-Site` must then say the request is from this site.
        (Some("null"), _) => matches!(site, Some("same-origin")),
        (Some(origin), Some(host)) => same_origin(origin, scheme, &host),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn hp(s: &str) -> HostPort {
        HostPort::parse(s).unwrap_or_else(|| panic!("{s} parses"))
    }

    #[test]
    fn hosts_are_read_with_and_without_ports() {
        assert_eq!(
            hp("LocalHost:8000"),
            HostPort {
                host: "localhost".into(),
                port: Some(8000)
            }
        );
        assert_eq!(hp("[::1]").host, "[::1]");
        assert_eq!(hp("[::1]:80").port, Some(80));
        assert_eq!(hp("example.com.").host, "example.com");
        for bad in [
            "", ":80", "a b", "a:b", "::1", "[::1", "[zz]:1", "a:99999", "ex/ample",
        ] {
            assert_eq!(HostPort::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn loopback_names_addresses_and_added_names_are_allowed() {
        let mut allowed = AllowedHosts::default();
        for h in [
            "localhost",
            "localhost:8000",
            "127.0.0.1:8000",
            "[::1]:8000",
            "10.1.2.3:8000",
        ] {
            assert!(allowed.allows(&hp(h)), "{h}");
        }
        for h in [
            "attacker.example:8000",
            "attacker.example",
            "localhost.attacker.example",
        ] {
            assert!(!allowed.allows(&hp(h)), "{h}");
        }
        allowed.add("https://Dash.Example.com/mhd/").unwrap();
        allowed.add("other.example:8443").unwrap();
        assert!(allowed.allows(&hp("dash.example.com")));
        assert!(allowed.allows(&hp("dash.example.com:8443")));
        assert!(allowed.allows(&hp("other.example:8443")));
        assert!(!allowed.allows(&hp("other.example:9000")));
        assert_eq!(allowed.names(), ["dash.example.com", "other.example:8443"]);
        assert!(allowed.add("not a host").is_err());
    }

    #[test]
    fn origins_must_match_scheme_host_and_port() {
        let host = hp("127.0.0.1:8000");
        assert!(same_origin("http://127.0.0.1:8000", "http", &host));
        assert!(!same_origin("https://127.0.0.1:8000", "http", &host));
        assert!(!same_origin("http://127.0.0.1:8001", "http", &host));
        assert!(!same_origin("http://attacker.example:8000", "http", &host));
        let host = hp("dash.example.com");
        assert!(same_origin("https://dash.example.com", "https", &host));
        assert!(same_origin("https://dash.example.com:443", "https", &host));
        assert!(!same_origin("http://dash.example.com", "https", &host));
    }

    #[test]
    fn forms_from_other_sites_are_told_apart() {
        let host = Some("127.0.0.1:8000");
        let mut h = HeaderMap::new();
        assert!(
            same_site(&h, "http", host),
            "no header: a browser without them, or a script"
        );
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8000"),
        );
        assert!(same_site(&h, "http", host));
        assert!(!same_site(&h, "https", host), "the scheme counts");
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_site(&h, "http", host));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_site(&h, "http", host));
        h.remove("sec-fetch-site");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(!same_site(&h, "http", host));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(
            !same_site(&h, "http", host),
            "a hidden origin without Sec-Fetch-Site"
        );
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(
            same_site(&h, "http", host),
            "a hidden origin from this site"
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_host_and_the_scheme() {
        let uri = Uri::from_static("/");
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8000"));
        h.insert(
            "x-forwarded-host",
            HeaderValue::from_static("dash.example.com"),
        );
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(request_host(&h, &uri, false), Some("127.0.0.1:8000"));
        assert_eq!(request_host(&h, &uri, true), Some("dash.example.com"));
        assert_eq!(request_scheme(&h, false, false), "http");
        assert_eq!(request_scheme(&h, false, true), "https");
        assert_eq!(request_scheme(&h, true, false), "https");
    }
}
