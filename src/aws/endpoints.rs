//! Where each service is, for a region: the SDKs' own endpoint resolution (so
//! `cn-north-1` is `amazonaws.com.cn` and GovCloud has its own regions, as in
//! every partition the SDK knows), or an endpoint override from the
//! environment. An override carries tokens (SSO's access token, SSO-OIDC's
//! refresh token and client secret, STS's session tokens), so plain `http://`
//! is refused unless the host is this machine.

use std::future::Future;
use std::net::IpAddr;
use std::task::{Context, Poll, Waker};

use anyhow::{Result, anyhow};

use crate::config::environment::EndpointOverride;

/// The services ssosync calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// The SSO portal (GetRoleCredentials, Logout).
    Sso,
    SsoOidc,
    Sts,
}

impl Service {
    /// How messages name it.
    pub fn label(self) -> &'static str {
        match self {
            Service::Sso => "the portal",
            Service::SsoOidc => "SSO-OIDC",
            Service::Sts => "STS",
        }
    }
}

/// A URL split as far as messages and proxy rules need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn parse(url: &str) -> Option<Endpoint> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let authority = rest.split(['/', '?', '#']).next()?;
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        let (host, port) = match authority.strip_prefix('[') {
            Some(rest) => {
                let (host, after) = rest.split_once(']')?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        let port = match port {
            Some(p) => p.parse().ok()?,
            None if scheme == "https" => 443,
            None if scheme == "http" => 80,
            None => return None,
        };
        (!host.is_empty()).then(|| Endpoint {
            url: url.to_string(),
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    /// `host` or `host:port` (the port when it is not the scheme's own).
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match (self.scheme.as_str(), self.port) {
            ("https", 443) | ("http", 80) => host,
            _ => format!("{host}:{}", self.port),
        }
    }

    /// This machine: `localhost`, 127.0.0.0/8 or `::1`.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self.host.ends_with(".localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// The SDK's endpoint for `service` in `region` (`https://oidc.{region}.amazonaws.com`
/// in the aws partition). A region the resolver rejects gets the aws
/// partition's form, and the call itself reports the region.
pub fn default_url(service: Service, region: &str) -> String {
    let resolved = match service {
        Service::Sso => {
            use aws_sdk_sso::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
            Params::builder()
                .region(region)
                .build()
                .ok()
                .and_then(|params| now(DefaultResolver::new().resolve_endpoint(&params)))
                .and_then(Result::ok)
                .map(|endpoint| endpoint.url().to_string())
        }
        Service::SsoOidc => {
            use aws_sdk_ssooidc::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
            Params::builder()
                .region(region)
                .build()
                .ok()
                .and_then(|params| now(DefaultResolver::new().resolve_endpoint(&params)))
                .and_then(Result::ok)
                .map(|endpoint| endpoint.url().to_string())
        }
        Service::Sts => {
            use aws_sdk_sts::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
            Params::builder()
                .region(region)
                .build()
                .ok()
                .and_then(|params| now(DefaultResolver::new().resolve_endpoint(&params)))
                .and_then(Result::ok)
                .map(|endpoint| endpoint.url().to_string())
        }
    };
    resolved.unwrap_or_else(|| {
        let prefix = match service {
            Service::Sso => "portal.sso",
            Service::SsoOidc => "oidc",
            Service::Sts => "sts",
        };
        format!("https://{prefix}.{region}.amazonaws.com")
    })
}

/// The SDK resolvers answer at once (their futures are ready when made): take
/// that answer without an async runtime.
fn now<T>(future: impl Future<Output = T>) -> Option<T> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(value) => Some(value),
        Poll::Pending => None,
    }
}

/// An override that may be used: a URL with a host, and `http://` only to
/// this machine.
pub fn check_override(service: Service, o: &EndpointOverride) -> Result<Endpoint> {
    let Some(endpoint) = Endpoint::parse(&o.url) else {
        return Err(anyhow!(
            "{} is not a URL (`{}`); set it to https://HOST[:PORT], or unset it",
            o.variable,
            o.url
        ));
    };
    match endpoint.scheme.as_str() {
        "https" => Ok(endpoint),
        "http" if endpoint.is_loopback() => Ok(endpoint),
        "http" => Err(anyhow!(
            "{} is http://{}: requests to {} carry {}, which must not cross the network unencrypted; use https://, or a loopback address for a local endpoint",
            o.variable,
            endpoint.authority(),
            service.label(),
            carried(service)
        )),
        other => Err(anyhow!(
            "{} has the scheme {other}://; use https://",
            o.variable
        )),
    }
}

/// What requests to a service carry that an eavesdropper must not see.
pub fn carried(service: Service) -> &'static str {
    match service {
        Service::Sso => "your SSO access token",
        Service::SsoOidc => "your refresh token and client secret",
        Service::Sts => "your role session tokens",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_has_its_own_hosts() {
        let cases = [
            ("eu-west-1", "amazonaws.com"),
            ("cn-north-1", "amazonaws.com.cn"),
            ("cn-northwest-1", "amazonaws.com.cn"),
            ("us-gov-west-1", "amazonaws.com"),
        ];
        for (region, suffix) in cases {
            assert_eq!(
                default_url(Service::SsoOidc, region),
                format!("https://oidc.{region}.{suffix}"),
                "{region}"
            );
            assert_eq!(
                default_url(Service::Sso, region),
                format!("https://portal.sso.{region}.{suffix}"),
                "{region}"
            );
            assert_eq!(
                default_url(Service::Sts, region),
                format!("https://sts.{region}.{suffix}"),
                "{region}"
            );
        }
    }

    #[test]
    fn http_overrides_are_for_this_machine_only() {
        let o = |url: &str| EndpointOverride {
            url: url.into(),
            variable: "AWS_ENDPOINT_URL".into(),
        };
        for ok in [
            "http://127.0.0.1:4566",
            "http://localhost:4566/",
            "http://[::1]:9",
            "https://sso.corp.example",
        ] {
            assert!(check_override(Service::Sso, &o(ok)).is_ok(), "{ok}");
        }
        let err = check_override(Service::SsoOidc, &o("http://10.0.0.5:4566"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("AWS_ENDPOINT_URL is http://10.0.0.5:4566: requests to SSO-OIDC carry your refresh token and client secret"),
            "{err}"
        );
        assert!(check_override(Service::Sso, &o("localhost:4566")).is_err());
        let e = Endpoint::parse("https://portal.sso.eu-west-1.amazonaws.com").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.authority()),
            ("portal.sso.eu-west-1.amazonaws.com", 443, e.host.clone())
        );
    }
}
