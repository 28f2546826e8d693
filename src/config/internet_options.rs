//! Windows' own proxy setting (Settings → Network → Proxy, or Internet Options →
//! LAN settings: "Use a proxy server"), which is where most Windows machines in
//! a company network have their proxy. The AWS CLI's Python reads it from the
//! current user's registry when no proxy variable is set; so does ssosync. Only
//! a fixed proxy: a setup script (PAC, `AutoConfigURL`) is not run, by either.
//! Other platforms have no such setting.

/// What `HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings`
/// says about a fixed proxy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InternetOptions {
    /// `ProxyEnable`, a DWORD: non-zero when the proxy is on.
    pub enabled: bool,
    /// `ProxyServer`: `host:port` for every scheme, or per scheme as
    /// `http=host:port;https=host:port;socks=host:port`.
    pub server: String,
    /// `ProxyOverride`: the hosts that go direct, `;`-separated, with `*` and
    /// `?` wildcards, and `<local>` for host names without a dot.
    pub bypass: String,
}

/// Where messages say a proxy from this setting came from.
pub const SOURCE: &str = "Windows' proxy setting";

/// The current user's setting; `None` when it cannot be read (no such key).
#[cfg(windows)]
#[allow(unsafe_code)]
pub fn read() -> Option<InternetOptions> {
    use windows_sys::Win32::System::Registry::{
        HKEY_CURRENT_USER, REG_ROUTINE_FLAGS, RRF_RT_REG_DWORD, RRF_RT_REG_SZ, RegGetValueW,
    };
    let wide = |s: &str| s.encode_utf16().chain(Some(0)).collect::<Vec<u16>>();
    let key = wide(r"Software\Microsoft\Windows\CurrentVersion\Internet Settings");
    // One value of the key into `data` (null: only its size), `size` bytes
    // at most; `size` becomes the bytes it holds. `false`: unread (missing,
    // another type, or grown past `size` since it was measured).
    let query =
        |name: &str, kind: REG_ROUTINE_FLAGS, data: *mut core::ffi::c_void, size: &mut u32| {
            let name = wide(name);
            // SAFETY: `key` and `name` are NUL-terminated UTF-16 strings that
            // outlive the call; `data` is null or writable for `size` bytes.
            let status = unsafe {
                RegGetValueW(
                    HKEY_CURRENT_USER,
                    key.as_ptr(),
                    name.as_ptr(),
                    kind,
                    std::ptr::null_mut(),
                    data,
                    size,
                )
            };
            status == 0
        };
    let dword = |name: &str| -> Option<u32> {
        let mut value: u32 = 0;
        let mut size = u32::try_from(std::mem::size_of::<u32>()).ok()?;
        query(name, RRF_RT_REG_DWORD, (&raw mut value).cast(), &mut size).then_some(value)
    };
    let string = |name: &str| -> Option<String> {
        let mut size: u32 = 0;
        if !query(name, RRF_RT_REG_SZ, std::ptr::null_mut(), &mut size) {
            return None;
        }
        let mut buffer = vec![0u16; usize::try_from(size).ok()?.div_ceil(2).max(1)];
        let mut size = u32::try_from(buffer.len() * 2).ok()?;
        if !query(name, RRF_RT_REG_SZ, buffer.as_mut_ptr().cast(), &mut size) {
            return None;
        }
        let written = usize::try_from(size).ok()?.div_ceil(2).min(buffer.len());
        let text = buffer
            .get(..written)
            .unwrap_or_default()
            .split(|&c| c == 0)
            .next()
            .unwrap_or_default();
        Some(String::from_utf16_lossy(text))
    };
    let enabled = dword("ProxyEnable")? != 0;
    Some(InternetOptions {
        enabled,
        server: string("ProxyServer").unwrap_or_default(),
        bypass: string("ProxyOverride").unwrap_or_default(),
    })
}

/// No such setting outside Windows.
#[cfg(not(windows))]
pub fn read() -> Option<InternetOptions> {
    None
}

impl InternetOptions {
    /// The proxy URL for `http` and `https` URLs, as the AWS CLI's Python takes
    /// them from `ProxyServer`: one `host:port` serves both; per-scheme
    /// entries get `http://` when they have no scheme; a `socks` entry serves
    /// the schemes that have none of their own, as `socks4://`. `None` when
    /// the proxy is off or names nothing for the scheme.
    pub fn proxy_for(&self, scheme: &str) -> Option<String> {
        if !self.enabled {
            return None;
        }
        let server = self.server.trim();
        if server.is_empty() {
            return None;
        }
        if !server.contains(['=', ';']) {
            return Some(with_scheme(server, "http"));
        }
        // A protocol named twice: the last one counts.
        let entry = |wanted: &str| {
            server.split(';').rev().find_map(|entry| {
                let (protocol, address) = entry.split_once('=')?;
                let address = address.trim();
                (protocol.trim().eq_ignore_ascii_case(wanted) && !address.is_empty())
                    .then_some(address)
            })
        };
        match entry(scheme) {
            Some(address) => Some(with_scheme(address, "http")),
            None => entry("socks").map(|address| {
                let url = with_scheme(address, "socks4");
                match url.strip_prefix("socks://") {
                    Some(rest) => format!("socks4://{rest}"),
                    None => url,
                }
            }),
        }
    }

    /// The `ProxyOverride` patterns (only while the proxy is on).
    pub fn bypass_patterns(&self) -> Vec<String> {
        if !self.enabled {
            return Vec::new();
        }
        self.bypass
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_ascii_lowercase)
            .collect()
    }
}

fn with_scheme(address: &str, scheme: &str) -> String {
    match address.split_once("://") {
        Some((s, _)) if !s.is_empty() && !s.contains(['/', ':']) => address.to_string(),
        _ => format!("{scheme}://{address}"),
    }
}

/// Whether `host` matches a `ProxyOverride` pattern: `<local>` is any name
/// without a dot; otherwise the whole host, without case, with `*` for any
/// run of characters and `?` for one.
pub fn bypasses(pattern: &str, host: &str) -> bool {
    if pattern == "<local>" {
        return !host.contains('.');
    }
    glob(pattern.as_bytes(), host.to_ascii_lowercase().as_bytes())
}

fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative, with one backtrack point: linear in practice, never recursive.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&have) = text.get(t) {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == have => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .unwrap_or_default()
        .iter()
        .all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(server: &str) -> InternetOptions {
        InternetOptions {
            enabled: true,
            server: server.into(),
            bypass: String::new(),
        }
    }

    #[test]
    fn one_address_serves_both_schemes_and_per_scheme_entries_their_own() {
        let all = on("proxy.corp:8080");
        assert_eq!(
            all.proxy_for("https").as_deref(),
            Some("http://proxy.corp:8080")
        );
        assert_eq!(
            all.proxy_for("http").as_deref(),
            Some("http://proxy.corp:8080")
        );
        let split = on("https=old:1;http=web:80;https=secure:3128;ftp=f:21");
        assert_eq!(
            split.proxy_for("https").as_deref(),
            Some("http://secure:3128")
        );
        assert_eq!(split.proxy_for("http").as_deref(), Some("http://web:80"));
        let https_only = on("https=https://secure:443");
        assert_eq!(
            https_only.proxy_for("https").as_deref(),
            Some("https://secure:443")
        );
        assert_eq!(https_only.proxy_for("http"), None);
        let socks = on("socks=s:1080;http=web:80");
        assert_eq!(socks.proxy_for("https").as_deref(), Some("socks4://s:1080"));
        assert_eq!(socks.proxy_for("http").as_deref(), Some("http://web:80"));
        let off = InternetOptions {
            enabled: false,
            ..on("proxy.corp:8080")
        };
        assert_eq!(off.proxy_for("https"), None);
        assert_eq!(on("  ").proxy_for("https"), None);
    }

    #[test]
    fn overrides_match_whole_hosts_with_wildcards_and_local_names() {
        let opts = InternetOptions {
            bypass: "*.corp.example; 10.*;<local>;Host?.Lab".into(),
            ..on("p:1")
        };
        let patterns = opts.bypass_patterns();
        let direct = |host: &str| patterns.iter().any(|p| bypasses(p, host));
        for host in [
            "a.corp.example",
            "b.c.corp.example",
            "10.1.2.3",
            "intranet",
            "host1.lab",
            "HOST2.LAB",
        ] {
            assert!(direct(host), "{host}");
        }
        for host in [
            "corp.example",
            "a.corp.example.evil",
            "110.1.2.3",
            "oidc.eu-west-1.amazonaws.com",
            "host12.lab",
        ] {
            assert!(!direct(host), "{host}");
        }
        assert!(bypasses("*", "anything.at.all"));
        assert!(bypasses("a*b*c", "axxbyyc") && !bypasses("a*b*c", "axxbyy"));
        let off = InternetOptions {
            enabled: false,
            ..opts
        };
        assert!(off.bypass_patterns().is_empty());
    }
}
