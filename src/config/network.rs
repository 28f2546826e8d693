//! The network a user configured, read as the AWS CLI reads it: proxies from
//! the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, in
//! either case, the lower-case spelling first), else, on Windows, from its own
//! proxy setting ([`internet_options`]); and extra certificate authorities to
//! trust (`AWS_CA_BUNDLE`, else a profile's `ca_bundle`).
//!
//! Only the decisions live here (which proxy, if any, a URL goes through; which
//! PEM files to trust); `aws::clients` builds the HTTP clients from them. Proxy
//! URLs may hold a user name and password: the URL is a [`Secret`], and what
//! messages show of a proxy is its scheme, host and port.

use std::path::PathBuf;

use crate::config::environment::Environment;
use crate::config::internet_options::{self, InternetOptions};
use crate::secret::Secret;

/// A proxy to send requests through, and the variable it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    /// The URL as configured (with `http://` added when it had no scheme):
    /// it may carry credentials.
    pub url: Secret,
    /// `http://proxy.corp:3128`: scheme, host and port, never credentials.
    pub shown: String,
    /// `HTTPS_PROXY`, `https_proxy`, `ALL_PROXY`, ..., or the Windows setting
    /// ([`internet_options::SOURCE`]).
    pub variable: String,
}

/// One proxy variable: unset, usable, or set to something ssosync cannot use.
#[derive(Clone, Debug, Default)]
enum Setting {
    #[default]
    Unset,
    Proxy(Proxy),
    Unusable(String),
}

/// The proxy variables of the environment.
#[derive(Clone, Debug, Default)]
pub struct Proxies {
    http: Setting,
    https: Setting,
    all: Setting,
    no_proxy: NoProxy,
}

impl Proxies {
    /// The environment's proxy variables; when none is set, Windows' own
    /// proxy setting (elsewhere: no proxy).
    pub fn from_env(env: &Environment) -> Self {
        Self::from_sources(env, internet_options::read)
    }

    fn from_sources(env: &Environment, system: impl FnOnce() -> Option<InternetOptions>) -> Self {
        // Any `*_proxy` variable set (NO_PROXY and FTP_PROXY too), and Windows'
        // own setting is not read, as in the AWS CLI's Python.
        let any_variable = env
            .vars()
            .any(|(k, v)| k.to_ascii_lowercase().ends_with("_proxy") && !v.is_empty());
        if !any_variable && let Some(options) = system() {
            return Self::from_internet_options(&options);
        }
        let setting = |name: &str| match pick(env, name) {
            None => Setting::Unset,
            Some((variable, value)) => match parse_proxy(value, &variable) {
                Ok(proxy) => Setting::Proxy(proxy),
                Err(why) => Setting::Unusable(why),
            },
        };
        Proxies {
            http: setting("http_proxy"),
            https: setting("https_proxy"),
            all: setting("all_proxy"),
            no_proxy: pick(env, "no_proxy")
                .map(|(_, value)| NoProxy::parse(value))
                .unwrap_or_default(),
        }
    }

    /// The proxies Windows' own setting names (and its exceptions).
    pub fn from_internet_options(options: &InternetOptions) -> Self {
        let setting = |scheme: &str| match options.proxy_for(scheme) {
            None => Setting::Unset,
            Some(url) if url.starts_with("socks") => Setting::Unusable(format!(
                "{} names a SOCKS proxy for {scheme}:// URLs, and ssosync uses http:// and \
                 https:// proxies only: add an {scheme}= proxy to it, or set HTTPS_PROXY",
                internet_options::SOURCE
            )),
            Some(url) => match parse_proxy(&url, internet_options::SOURCE) {
                Ok(proxy) => Setting::Proxy(proxy),
                Err(why) => Setting::Unusable(why),
            },
        };
        Proxies {
            http: setting("http"),
            https: setting("https"),
            all: Setting::Unset,
            no_proxy: NoProxy {
                patterns: options.bypass_patterns(),
                ..NoProxy::default()
            },
        }
    }

    /// The proxy a request to `scheme://host:port` goes through (`None`:
    /// straight to the host). `HTTPS_PROXY` is for `https://` URLs, `HTTP_PROXY`
    /// for `http://` ones, `ALL_PROXY` for either when that one is unset;
    /// `NO_PROXY` exempts hosts. An error names the variable that applies and
    /// why ssosync cannot use it.
    pub fn for_url(&self, scheme: &str, host: &str, port: u16) -> Result<Option<&Proxy>, String> {
        if self.no_proxy.exempts(host, port) {
            return Ok(None);
        }
        self.pick_for(scheme)
    }
}

impl Proxies {
    /// Whether the variable that applies to `scheme` URLs (whatever `NO_PROXY`
    /// exempts) is usable: the error names it and says why not.
    pub fn check(&self, scheme: &str) -> Result<(), String> {
        self.pick_for(scheme).map(drop)
    }

    /// Every usable proxy a variable names.
    pub fn configured(&self) -> impl Iterator<Item = &Proxy> {
        [&self.http, &self.https, &self.all]
            .into_iter()
            .filter_map(|s| match s {
                Setting::Proxy(p) => Some(p),
                _ => None,
            })
    }

    fn pick_for(&self, scheme: &str) -> Result<Option<&Proxy>, String> {
        let own = if scheme.eq_ignore_ascii_case("https") {
            &self.https
        } else {
            &self.http
        };
        match own {
            Setting::Unset => &self.all,
            set => set,
        }
        .usable()
    }
}

impl Setting {
    fn usable(&self) -> Result<Option<&Proxy>, String> {
        match self {
            Setting::Unset => Ok(None),
            Setting::Proxy(proxy) => Ok(Some(proxy)),
            Setting::Unusable(why) => Err(why.clone()),
        }
    }
}

/// The lower-case variable if it is set (even empty: then it means "none", as
/// for the AWS CLI), else the upper-case one; `None` when neither is non-empty.
fn pick<'e>(env: &'e Environment, lower: &str) -> Option<(String, &'e str)> {
    let (name, value) = env
        .raw_named(lower)
        .or_else(|| env.raw_named(&lower.to_ascii_uppercase()))?;
    let value = value.trim();
    (!value.is_empty()).then(|| (name.to_string(), value))
}

/// What to do about a proxy in the way of `host`: check where it came from,
/// or exempt the host (in `NO_PROXY`, or in the exceptions of Windows' setting).
pub fn exempt_fix(variable: &str, host: &str) -> String {
    if variable == internet_options::SOURCE {
        format!("check {variable}, or add {host} to its exceptions")
    } else {
        format!("check {variable}, or add {host} to NO_PROXY")
    }
}

/// Where the user name and password for a proxy that asks for them go.
pub fn credentials_fix(variable: &str) -> String {
    if variable == internet_options::SOURCE {
        format!(
            "set HTTPS_PROXY to http://USER:PASSWORD@HOST:PORT (it takes the place of {variable})"
        )
    } else {
        format!("put them in {variable} (http://USER:PASSWORD@HOST:PORT)")
    }
}

/// `http://user:pass@proxy:3128/` → a [`Proxy`]; a URL without a scheme is
/// `http://`, as the AWS CLI takes it.
fn parse_proxy(value: &str, variable: &str) -> Result<Proxy, String> {
    let url = if value.contains("://") {
        value.to_string()
    } else {
        format!("http://{}", value.trim_start_matches("//"))
    };
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url.as_str()));
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "{variable} is a {scheme}:// proxy; ssosync (like the AWS CLI) uses http:// and https:// proxies only: set {} to one, or exempt the host in NO_PROXY",
            if variable.eq_ignore_ascii_case("all_proxy") {
                "HTTPS_PROXY"
            } else {
                variable
            }
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (host, port) = split_host_port(host_port);
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!(
            "{variable} does not name a proxy host; set it to http://HOST:PORT"
        ));
    }
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().map_err(|_| {
            format!("{variable} has a bad port (`{p}`); set it to http://HOST:PORT")
        })?),
    };
    let shown = match port {
        Some(port) => format!("{scheme}://{}:{port}", bracketed(host)),
        None => format!("{scheme}://{}", bracketed(host)),
    };
    Ok(Proxy {
        url: Secret::new(format!("{scheme}://{rest}")),
        shown,
        variable: variable.to_string(),
    })
}

/// `host:443` → (`host`, `443`); `[::1]:80` → (`::1`, `80`).
fn split_host_port(text: &str) -> (&str, Option<&str>) {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').unwrap_or((rest, ""));
        return (host, after.strip_prefix(':'));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (host, Some(port)),
        _ => (text, None),
    }
}

fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// `NO_PROXY`: `*`, or a comma-separated list of host names (each also
/// covering its subdomains; a leading `.` is the same), IP addresses, or
/// `host:port`, compared without case. From Windows' setting instead: its
/// `ProxyOverride` patterns.
#[derive(Clone, Debug, Default)]
struct NoProxy {
    everything: bool,
    entries: Vec<String>,
    patterns: Vec<String>,
}

impl NoProxy {
    fn parse(value: &str) -> Self {
        let mut rules = NoProxy::default();
        for entry in value
            .split([',', ' '])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            if entry == "*" {
                rules.everything = true;
            }
            let entry = entry.trim_start_matches('.').to_ascii_lowercase();
            let entry = match entry.strip_prefix('[') {
                Some(rest) => rest.replacen(']', "", 1),
                None => entry,
            };
            rules.entries.push(entry);
        }
        rules
    }

    fn exempts(&self, host: &str, port: u16) -> bool {
        if self.everything {
            return true;
        }
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if self
            .patterns
            .iter()
            .any(|p| internet_options::bypasses(p, &host))
        {
            return true;
        }
        let with_port = format!("{host}:{port}");
        self.entries.iter().any(|entry| {
            [&host, &with_port]
                .iter()
                .any(|name| *name == entry || name.ends_with(&format!(".{entry}")))
        })
    }
}

/// A PEM file of certificate authorities to trust besides the system's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaBundle {
    pub path: PathBuf,
    /// Where it was configured: `AWS_CA_BUNDLE`, or `ca_bundle of profile dev`.
    pub source: String,
}

/// `AWS_CA_BUNDLE` when set (it wins, as in the AWS CLI), else the distinct
/// `ca_bundle` values of the profiles a run uses (`(profile, value)`).
pub fn ca_bundles<'a>(
    env: &Environment,
    profiles: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<CaBundle> {
    if let Some(path) = env.var("AWS_CA_BUNDLE") {
        return vec![CaBundle {
            path: env.expand_home(path),
            source: "AWS_CA_BUNDLE".into(),
        }];
    }
    let mut bundles: Vec<CaBundle> = Vec::new();
    for (profile, value) in profiles {
        let path = env.expand_home(value.trim());
        if value.trim().is_empty() || bundles.iter().any(|b| b.path == path) {
            continue;
        }
        bundles.push(CaBundle {
            path,
            source: format!("ca_bundle of profile {profile}"),
        });
    }
    bundles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(vars: &[(&str, &str)]) -> Proxies {
        Proxies::from_env(&Environment::from_vars(vars.iter().copied()))
    }

    fn via(p: &Proxies, scheme: &str, host: &str) -> Option<String> {
        p.for_url(scheme, host, if scheme == "https" { 443 } else { 80 })
            .unwrap()
            .map(|p| format!("{} {}", p.variable, p.shown))
    }

    #[test]
    fn each_scheme_has_its_variable_lower_case_first_and_all_proxy_last() {
        let p = proxies(&[
            ("HTTPS_PROXY", "http://upper:3128"),
            ("https_proxy", "lower:8080"),
            ("HTTP_PROXY", "http://plain:80"),
        ]);
        assert_eq!(
            via(&p, "https", "oidc.eu-west-1.amazonaws.com").as_deref(),
            Some("https_proxy http://lower:8080")
        );
        assert_eq!(
            via(&p, "http", "127.0.0.1").as_deref(),
            Some("HTTP_PROXY http://plain:80")
        );
        // Set but empty in lower case: no proxy, whatever the upper case says.
        let p = proxies(&[("HTTPS_PROXY", "http://upper:3128"), ("https_proxy", "")]);
        assert_eq!(via(&p, "https", "x.amazonaws.com"), None);
        let p = proxies(&[("ALL_PROXY", "http://all:1"), ("HTTP_PROXY", "http://h:2")]);
        assert_eq!(
            via(&p, "https", "x").as_deref(),
            Some("ALL_PROXY http://all:1")
        );
        assert_eq!(
            via(&p, "http", "x").as_deref(),
            Some("HTTP_PROXY http://h:2")
        );
        assert_eq!(via(&proxies(&[]), "https", "x"), None);
    }

    #[test]
    fn no_proxy_exempts_hosts_their_subdomains_and_host_ports() {
        let p = proxies(&[
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("HTTP_PROXY", "http://proxy:3128"),
            (
                "NO_PROXY",
                "localhost, .internal.example,amazonaws.com.cn,127.0.0.1,[::1],sts.example:8443",
            ),
        ]);
        for exempt in [
            "localhost",
            "a.internal.example",
            "internal.example",
            "oidc.cn-north-1.amazonaws.com.cn",
            "127.0.0.1",
            "::1",
        ] {
            assert_eq!(via(&p, "https", exempt), None, "{exempt}");
        }
        for proxied in [
            "oidc.eu-west-1.amazonaws.com",
            "notinternal.example",
            "127.0.0.2",
            "sts.example",
        ] {
            assert!(via(&p, "https", proxied).is_some(), "{proxied}");
        }
        assert_eq!(p.for_url("https", "sts.example", 8443).unwrap(), None);
        let star = proxies(&[("HTTPS_PROXY", "http://proxy:3128"), ("no_proxy", "*")]);
        assert_eq!(via(&star, "https", "anything"), None);
    }

    #[test]
    fn credentials_stay_in_the_secret_and_bad_values_name_their_variable() {
        let p = proxies(&[("HTTPS_PROXY", "http://me:p%40ss@proxy.corp:3128/")]);
        let proxy = p.for_url("https", "x", 443).unwrap().unwrap();
        assert_eq!(proxy.shown, "http://proxy.corp:3128");
        assert_eq!(proxy.url.expose(), "http://me:p%40ss@proxy.corp:3128/");
        assert!(!format!("{proxy:?}").contains("p%40ss"));

        let p = proxies(&[("ALL_PROXY", "socks5://proxy:1080")]);
        let err = p.for_url("https", "x", 443).unwrap_err();
        assert!(
            err.starts_with("ALL_PROXY is a socks5:// proxy") && err.contains("HTTPS_PROXY"),
            "{err}"
        );
        let p = proxies(&[("https_proxy", "http://proxy:port")]);
        assert!(
            p.for_url("https", "x", 443)
                .unwrap_err()
                .starts_with("https_proxy has a bad port")
        );
        let p = proxies(&[("HTTPS_PROXY", "http://:3128")]);
        assert!(p.for_url("https", "x", 443).is_err());
        // Not consulted for the other scheme.
        assert_eq!(p.for_url("http", "x", 80).unwrap(), None);
    }

    #[test]
    fn windows_setting_applies_only_when_no_variable_is_set() {
        let options = InternetOptions {
            enabled: true,
            server: "http=web:80;https=me:pw@secure.corp:3128".into(),
            bypass: "*.internal;<local>".into(),
        };
        let from = |vars: &[(&str, &str)]| {
            Proxies::from_sources(&Environment::from_vars(vars.iter().copied()), || {
                Some(options.clone())
            })
        };
        let p = from(&[]);
        assert_eq!(
            via(&p, "https", "portal.sso.eu-west-1.amazonaws.com").as_deref(),
            Some("Windows' proxy setting http://secure.corp:3128")
        );
        let proxy = p.for_url("https", "x.amazonaws.com", 443).unwrap().unwrap();
        assert_eq!(proxy.url.expose(), "http://me:pw@secure.corp:3128");
        assert_eq!(
            via(&p, "http", "127.0.0.1").as_deref(),
            Some("Windows' proxy setting http://web:80")
        );
        assert_eq!(via(&p, "https", "sso.internal"), None);
        assert_eq!(via(&p, "https", "intranet"), None);
        // Any proxy variable, NO_PROXY included, and the setting is not read.
        assert_eq!(
            via(&from(&[("NO_PROXY", "example.com")]), "https", "x"),
            None
        );
        assert_eq!(
            via(&from(&[("https_proxy", "http://env:1")]), "http", "x"),
            None
        );
        // Set but empty counts as unset, as for the AWS CLI's Python; any
        // other `*_proxy` counts as set.
        assert!(via(&from(&[("HTTPS_PROXY", "")]), "https", "x.example").is_some());
        assert_eq!(
            via(&from(&[("FTP_PROXY", "http://f:21")]), "https", "x.example"),
            None
        );
        // A SOCKS-only setting: the fix, without the address.
        let socks = Proxies::from_sources(&Environment::from_vars::<&str, &str>([]), || {
            Some(InternetOptions {
                server: "socks=s.corp:1080".into(),
                ..options.clone()
            })
        });
        let err = socks.for_url("https", "x.example", 443).unwrap_err();
        assert!(
            err.starts_with("Windows' proxy setting names a SOCKS proxy")
                && err.contains("set HTTPS_PROXY")
                && !err.contains("s.corp"),
            "{err}"
        );
    }

    #[test]
    fn aws_ca_bundle_wins_over_the_profiles_ca_bundle() {
        let env = Environment::from_vars([("HOME", "/home/me")]);
        let bundles = ca_bundles(
            &env,
            [
                ("dev", "~/corp.pem"),
                ("prod", "~/corp.pem"),
                ("x", "/etc/b.pem"),
            ],
        );
        assert_eq!(
            bundles,
            [
                CaBundle {
                    path: "/home/me/corp.pem".into(),
                    source: "ca_bundle of profile dev".into()
                },
                CaBundle {
                    path: "/etc/b.pem".into(),
                    source: "ca_bundle of profile x".into()
                }
            ]
        );
        let env =
            Environment::from_vars([("HOME", "/home/me"), ("AWS_CA_BUNDLE", "/etc/corp.pem")]);
        assert_eq!(
            ca_bundles(&env, [("dev", "~/corp.pem")]),
            [CaBundle {
                path: "/etc/corp.pem".into(),
                source: "AWS_CA_BUNDLE".into()
            }]
        );
    }
}
