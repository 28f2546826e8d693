//! Why a request never got an answer, in words: the host cannot be resolved,
//! refused the connection, did not answer in time, presented a certificate
//! nobody here trusts, or the proxy in between failed. One line naming the
//! host (and the proxy and its variable, when one is in the way) and the fix;
//! the SDK's whole error chain goes to the `-v` log only.

use std::error::Error;
use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

use crate::aws::endpoints::{Endpoint, Service};
use crate::config::network::{credentials_fix, exempt_fix};
use crate::timefmt::describe_duration;

/// Where a client's requests go: the service, its endpoint, and the proxy in
/// the way (its shown URL and variable).
#[derive(Clone, Debug)]
pub struct Route {
    pub service: Service,
    pub endpoint: Endpoint,
    /// `(http://proxy:3128, HTTPS_PROXY)`.
    pub proxy: Option<(String, String)>,
    /// Bound on each attempt, for "did not answer within".
    pub timeout: Duration,
}

/// What went wrong on the way to the service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The name does not resolve.
    Dns,
    Refused,
    TimedOut,
    /// The connection closed before an answer.
    Closed,
    /// The server's certificate is not trusted here; the rustls reason.
    Untrusted(String),
    /// Another TLS failure (an alert, no common protocol).
    Tls(String),
    /// The proxy answered the CONNECT with something other than 200.
    ProxyRefused,
    /// The proxy wants credentials (HTTP 407).
    ProxyAuth,
    Other(String),
}

/// The cause of a failure that is not the service's own answer (`None` for a
/// service error or a response that did not parse: the caller words those).
pub fn cause<E: Error + 'static, R: std::fmt::Debug + 'static>(
    err: &SdkError<E, R>,
) -> Option<Cause> {
    let found = match err {
        SdkError::TimeoutError(_) => Cause::TimedOut,
        SdkError::DispatchFailure(failure) => {
            let chain = chain(err);
            tracing::debug!(error = %chain.join(": "), "the request failed");
            classify(&chain_errors(err)).unwrap_or_else(|| {
                if failure.is_timeout() {
                    Cause::TimedOut
                } else {
                    Cause::Other(chain.last().cloned().unwrap_or_default())
                }
            })
        }
        _ => return None,
    };
    Some(found)
}

/// An HTTP answer that came from the proxy in the way rather than from the
/// service (an `http://` request goes to a forward proxy, which answers for
/// it): AWS services tag every answer with a request id; a proxy does not.
pub fn answered_by_proxy<E>(err: &SdkError<E, HttpResponse>, route: &Route) -> Option<String> {
    let (proxy, variable) = route.proxy.as_ref()?;
    let raw = match err {
        SdkError::ServiceError(service) => service.raw(),
        SdkError::ResponseError(response) => response.raw(),
        _ => return None,
    };
    let status = raw.status().as_u16();
    if raw.status().is_success() || raw.headers().get("x-amzn-requestid").is_some() {
        return None;
    }
    let host = route.endpoint.authority();
    Some(if status == 407 {
        format!(
            "the proxy {proxy} (from {variable}) asks for a user name and password; {}",
            credentials_fix(variable)
        )
    } else {
        format!(
            "the proxy {proxy} (from {variable}) answered {status} instead of {}: it could not reach {host}, or would not; {}",
            route.service.label(),
            exempt_fix(variable, &route.endpoint.host)
        )
    })
}

/// Every error in the chain, the payload of each `io::Error` included
/// (hyper-rustls nests the TLS error there).
fn chain_errors<'a>(err: &'a (dyn Error + 'static)) -> Vec<&'a (dyn Error + 'static)> {
    let mut all = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        if all.len() > 32 {
            break;
        }
        all.push(e);
        next = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn Error + 'static)),
            None => e.source(),
        };
    }
    all
}

fn chain(err: &(dyn Error + 'static)) -> Vec<String> {
    chain_errors(err).iter().map(|e| e.to_string()).collect()
}

fn classify(errors: &[&(dyn Error + 'static)]) -> Option<Cause> {
    for e in errors {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(match tls {
                rustls::Error::InvalidCertificate(why) => Cause::Untrusted(certificate(why)),
                other => Cause::Tls(other.to_string()),
            });
        }
    }
    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let said = |needle: &str| text.iter().any(|t| t.contains(needle));
    if said("proxy authorization required") {
        return Some(Cause::ProxyAuth);
    }
    if said("tunnel error: unsuccessful") {
        return Some(Cause::ProxyRefused);
    }
    if said("dns error") || said("failed to lookup address") {
        return Some(Cause::Dns);
    }
    for e in errors {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return Some(Cause::Refused),
                TimedOut => return Some(Cause::TimedOut),
                ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe => {
                    return Some(Cause::Closed);
                }
                _ => {}
            }
        }
    }
    if said("connection closed") || said("end of file") || said("IncompleteMessage") {
        return Some(Cause::Closed);
    }
    None
}

fn certificate(why: &rustls::CertificateError) -> String {
    use rustls::CertificateError::*;
    match why {
        UnknownIssuer => "issued by an authority this machine does not trust".into(),
        NotValidForName | NotValidForNameContext { .. } => "issued for another name".into(),
        Expired | ExpiredContext { .. } => "expired".into(),
        NotValidYet | NotValidYetContext { .. } => "not valid yet".into(),
        Revoked => "revoked".into(),
        BadSignature => "badly signed".into(),
        other => format!("{other:?}"),
    }
}

impl Route {
    /// One line: what failed, where, and what to do.
    pub fn explain(&self, cause: &Cause) -> String {
        let host = self.endpoint.authority();
        let what = self.service.label();
        let timeout = describe_duration(self.timeout);
        let local = self.endpoint.is_loopback();
        if let Some((proxy, variable)) = &self.proxy {
            let via = format!("the proxy {proxy} (from {variable})");
            let exempt = exempt_fix(variable, &self.endpoint.host);
            let said = match cause {
                Cause::Dns => {
                    format!("cannot reach {via}: its name does not resolve (DNS); {exempt}")
                }
                Cause::Refused => {
                    format!("cannot reach {via}: it refused the connection; {exempt}")
                }
                Cause::TimedOut => format!(
                    "no answer through {via} from {host} within {timeout}; {exempt}, or raise --timeout"
                ),
                Cause::ProxyAuth => format!(
                    "{via} asks for a user name and password; {}",
                    credentials_fix(variable)
                ),
                Cause::ProxyRefused => format!(
                    "{via} refused to connect to {host}; ask its administrators to allow it, or {exempt}"
                ),
                Cause::Closed => {
                    format!("{via} closed the connection to {host} before an answer; {exempt}")
                }
                Cause::Untrusted(why) => untrusted(what, &host, why, Some(&via)),
                Cause::Tls(why) => {
                    format!("the TLS handshake with {host} through {via} failed ({why}); {exempt}")
                }
                Cause::Other(why) => format!("cannot reach {host} through {via} ({why}); {exempt}"),
            };
            return said;
        }
        let network = if local {
            "is the local endpoint running?".to_string()
        } else {
            "check the network or VPN".to_string()
        };
        match cause {
            Cause::Dns => format!(
                "cannot reach {what}: {} does not resolve (DNS); {network}, or the region",
                self.endpoint.host
            ),
            Cause::Refused => {
                format!("cannot reach {what}: {host} refused the connection; {network}")
            }
            Cause::TimedOut => format!(
                "{what} did not answer in time ({host}, {timeout} per try); {network}, or raise --timeout"
            ),
            Cause::Closed => format!(
                "{host} closed the connection before {what} answered; {network}, or try again"
            ),
            Cause::Untrusted(why) => untrusted(what, &host, why, None),
            Cause::Tls(why) => format!(
                "the TLS handshake with {host} failed ({why}); if a proxy or firewall inspects TLS, set AWS_CA_BUNDLE to its CA certificates (PEM)"
            ),
            Cause::ProxyAuth | Cause::ProxyRefused => {
                format!("cannot reach {what} at {host}: a proxy refused the connection")
            }
            Cause::Other(why) => format!("cannot reach {what} at {host} ({why}); {network}"),
        }
    }
}

fn untrusted(what: &str, host: &str, why: &str, via: Option<&str>) -> String {
    let through = via.map(|v| format!(" through {v}")).unwrap_or_default();
    format!(
        "the TLS certificate of {host}{through} is not trusted ({why}), so {what} was not asked; if a proxy or firewall inspects TLS, set AWS_CA_BUNDLE (or the profile's ca_bundle) to a PEM file of its CA certificates"
    )
}
