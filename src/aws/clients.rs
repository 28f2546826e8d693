//! Builds the AWS SDK clients ssosync uses (SSO portal, SSO-OIDC, STS).
//!
//! Each client is built directly from a small config: explicit region, endpoint
//! overrides from the environment, bounded timeouts, standard retries, and a
//! rustls HTTP client that goes through the proxy the environment names for
//! that endpoint (one HTTP client per proxy) and trusts the system's CAs plus
//! any CA bundle configured. `aws_config::load_defaults` is not used: it would
//! re-read the profile files and walk the credential and region chains.
//!
//! [`runtime`] is the one async runtime a command starts, and only once it knows
//! it needs the network: the no-op path never builds one, nor a client (which
//! loads the system trust store).

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

use aws_sdk_sso::config::retry::RetryConfig;
use aws_sdk_sso::config::timeout::TimeoutConfig;
use aws_sdk_sso::config::{Region, SharedHttpClient};
use aws_smithy_http_client::proxy::ProxyConfig;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use anyhow::{Context, Result, anyhow};

use crate::aws::RoleCredentials;
use crate::aws::endpoints::{self, Endpoint, Service};
use crate::aws::network::Route;
use crate::config::environment::{EndpointOverride, Environment};
use crate::config::network::{CaBundle, Proxies, ca_bundles};

/// A single-threaded runtime for the SDK calls (every call is I/O-bound; one
/// thread serves hundreds in flight).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The network settings and limits every client shares.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    pub sso_endpoint: Option<EndpointOverride>,
    pub oidc_endpoint: Option<EndpointOverride>,
    pub sts_endpoint: Option<EndpointOverride>,
    /// Bound on each attempt; a whole call with retries gets three times that.
    pub timeout: Duration,
    pub proxies: Proxies,
    /// CAs to trust besides the system's.
    pub ca_bundles: Vec<CaBundle>,
}

impl ClientSettings {
    /// From the environment alone (`AWS_CA_BUNDLE` the only extra CA).
    pub fn from_env(env: &Environment, timeout: Duration) -> Self {
        ClientSettings {
            sso_endpoint: env.endpoint_override("SSO"),
            oidc_endpoint: env.endpoint_override("SSO_OIDC"),
            sts_endpoint: env.endpoint_override("STS"),
            timeout,
            proxies: Proxies::from_env(env),
            ca_bundles: ca_bundles(env, []),
        }
    }

    /// Also the `ca_bundle` of the profiles a run uses, `(profile, path)`
    /// (unless `AWS_CA_BUNDLE` is set, which wins).
    pub fn trusting<'a>(
        mut self,
        env: &Environment,
        profiles: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        self.ca_bundles = ca_bundles(env, profiles);
        self
    }

    fn endpoint_override(&self, service: Service) -> Option<&EndpointOverride> {
        match service {
            Service::Sso => self.sso_endpoint.as_ref(),
            Service::SsoOidc => self.oidc_endpoint.as_ref(),
            Service::Sts => self.sts_endpoint.as_ref(),
        }
    }
}

/// A portal client and where its requests go (for messages).
#[derive(Clone, Debug)]
pub struct SsoClient {
    pub sdk: aws_sdk_sso::Client,
    pub route: Route,
}

#[derive(Clone, Debug)]
pub struct OidcClient {
    pub sdk: aws_sdk_ssooidc::Client,
    pub route: Route,
}

#[derive(Clone, Debug)]
pub struct StsClient {
    pub sdk: aws_sdk_sts::Client,
    pub route: Route,
}

pub struct ClientFactory {
    settings: ClientSettings,
    tls: TlsContext,
    /// One HTTP client per proxy (by where it was set and its address: Windows'
    /// setting may name one for `http://` and another for `https://`; `None`:
    /// direct).
    http: RwLock<HashMap<Option<(String, String)>, SharedHttpClient>>,
    notices: Vec<String>,
}

impl ClientFactory {
    /// Checks everything a request will depend on before the first one: the
    /// overrides (no `http://` beyond this machine), the proxy variables, the CA
    /// bundles. An error is one line naming the variable or file.
    pub fn new(settings: ClientSettings) -> Result<Self> {
        let mut schemes = vec!["https".to_string()];
        let mut redirected: Vec<Service> = Vec::new();
        let mut generic_url = "";
        for service in [Service::Sso, Service::SsoOidc, Service::Sts] {
            let Some(o) = settings.endpoint_override(service) else {
                continue;
            };
            let endpoint = endpoints::check_override(service, o)?;
            schemes.push(endpoint.scheme.clone());
            if o.is_generic() && service != Service::Sts {
                redirected.push(service);
                generic_url = &o.url;
            }
        }
        // Said once, however many services it redirects: the generic override is
        // meant for every service (LocalStack, most often), and tokens follow it.
        let notices = match redirected.as_slice() {
            [] => Vec::new(),
            services => vec![format!(
                "AWS_ENDPOINT_URL sends {}'s requests, with {}, to {generic_url}; if that is not meant for SSO, run ssosync without it (`env -u AWS_ENDPOINT_URL ssosync`)",
                services
                    .iter()
                    .map(|s| s.label())
                    .collect::<Vec<_>>()
                    .join("'s and "),
                services
                    .iter()
                    .map(|s| endpoints::carried(*s))
                    .collect::<Vec<_>>()
                    .join(" and "),
            )],
        };
        for scheme in &schemes {
            settings.proxies.check(scheme).map_err(|why| anyhow!(why))?;
        }
        for proxy in settings.proxies.configured() {
            // The HTTP client's own check (its error shows no URL, so none here).
            if ProxyConfig::all(proxy.url.expose()).is_err() {
                return Err(anyhow!(
                    "{} is not a proxy URL the HTTP client accepts ({}); set it to http://HOST:PORT",
                    proxy.variable,
                    proxy.shown
                ));
            }
        }
        let tls = trust(&settings.ca_bundles)?;
        Ok(ClientFactory {
            settings,
            tls,
            http: RwLock::new(HashMap::new()),
            notices,
        })
    }

    /// What the user should be told once about where requests go (the generic
    /// `AWS_ENDPOINT_URL` redirecting SSO or SSO-OIDC).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    fn timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.settings.timeout.min(Duration::from_secs(5)))
            .operation_attempt_timeout(self.settings.timeout)
            .operation_timeout(self.settings.timeout * 3)
            .build()
    }

    /// Where `service`'s requests for `region` go, and through which proxy.
    fn route(&self, service: Service, region: &str) -> Route {
        let url = match self.settings.endpoint_override(service) {
            Some(o) => o.url.clone(),
            None => endpoints::default_url(service, region),
        };
        let endpoint = Endpoint::parse(&url).unwrap_or_else(|| Endpoint {
            url: url.clone(),
            scheme: "https".into(),
            host: url.clone(),
            port: 443,
        });
        let proxy = self
            .settings
            .proxies
            .for_url(&endpoint.scheme, &endpoint.host, endpoint.port)
            .ok()
            .flatten();
        tracing::debug!(
            service = service.label(),
            endpoint = %endpoint.url,
            proxy = proxy.map_or("none", |p| p.shown.as_str()),
            from = proxy.map_or("", |p| p.variable.as_str()),
            "route"
        );
        Route {
            service,
            proxy: proxy.map(|p| (p.shown.clone(), p.variable.clone())),
            endpoint,
            timeout: self.settings.timeout,
        }
    }

    /// The HTTP client for a route: direct, or through its proxy.
    fn http(&self, route: &Route) -> SharedHttpClient {
        let proxy = self
            .settings
            .proxies
            .for_url(
                &route.endpoint.scheme,
                &route.endpoint.host,
                route.endpoint.port,
            )
            .ok()
            .flatten();
        let key = proxy.map(|p| (p.variable.clone(), p.shown.clone()));
        if let Some(client) = self.http.read().ok().and_then(|c| c.get(&key).cloned()) {
            return client;
        }
        let client = SharedHttpClient::new(Http {
            // The URL was checked in `new`; a proxy the SDK still rejects
            // would go unused, so it is checked there too.
            proxy: proxy.and_then(|p| ProxyConfig::all(p.url.expose()).ok()),
            tls: self.tls.clone(),
            connectors: RwLock::new(HashMap::new()),
        });
        if let Ok(mut clients) = self.http.write() {
            clients.insert(key, client.clone());
        }
        client
    }

    pub fn sso(&self, region: &str) -> SsoClient {
        self.sso_with(region, RetryConfig::standard().with_max_attempts(3))
    }

    /// An SSO portal client that makes one attempt per call: for callers that
    /// pace and retry themselves (populate's listing), so that every 429 reaches
    /// their pacing and no call sleeps in the SDK's backoff holding its slot.
    pub fn sso_single_attempt(&self, region: &str) -> SsoClient {
        self.sso_with(region, RetryConfig::disabled())
    }

    fn sso_with(&self, region: &str, retry: RetryConfig) -> SsoClient {
        let route = self.route(Service::Sso, region);
        let mut config = aws_sdk_sso::Config::builder()
            .region(Region::new(region.to_string()))
            .http_client(self.http(&route))
            .timeout_config(self.timeouts())
            .retry_config(retry);
        if let Some(o) = &self.settings.sso_endpoint {
            config = config.endpoint_url(&o.url);
        }
        SsoClient {
            sdk: aws_sdk_sso::Client::from_conf(config.build()),
            route,
        }
    }

    pub fn oidc(&self, region: &str) -> OidcClient {
        let route = self.route(Service::SsoOidc, region);
        let mut config = aws_sdk_ssooidc::Config::builder()
            .region(aws_sdk_ssooidc::config::Region::new(region.to_string()))
            .http_client(self.http(&route))
            .timeout_config(self.timeouts())
            .retry_config(RetryConfig::standard().with_max_attempts(3));
        if let Some(o) = &self.settings.oidc_endpoint {
            config = config.endpoint_url(&o.url);
        }
        OidcClient {
            sdk: aws_sdk_ssooidc::Client::from_conf(config.build()),
            route,
        }
    }

    /// An STS client that signs with `creds` (the previous hop's role credentials).
    pub fn sts(&self, region: &str, creds: &RoleCredentials) -> StsClient {
        let route = self.route(Service::Sts, region);
        let credentials = aws_sdk_sts::config::Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key.expose().to_string(),
            Some(creds.session_token.expose().to_string()),
            Some(creds.expiration.into()),
            "ssosync",
        );
        let mut config = aws_sdk_sts::Config::builder()
            .region(aws_sdk_sts::config::Region::new(region.to_string()))
            .http_client(self.http(&route))
            .timeout_config(self.timeouts())
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .credentials_provider(credentials);
        if let Some(o) = &self.settings.sts_endpoint {
            config = config.endpoint_url(&o.url);
        }
        StsClient {
            sdk: aws_sdk_sts::Client::from_conf(config.build()),
            route,
        }
    }
}

/// The system's CAs plus each bundle, every certificate in them checked first
/// (the HTTP client would abort on one it cannot use).
fn trust(bundles: &[CaBundle]) -> Result<TlsContext> {
    let mut store = TrustStore::default();
    for bundle in bundles {
        let shown = bundle.path.display();
        let source = &bundle.source;
        let pem = std::fs::read(&bundle.path).map_err(|e| {
            anyhow!("cannot read the CA bundle {shown} ({source}): {e}; fix {source} or unset it")
        })?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                anyhow!("the CA bundle {shown} ({source}) is not a PEM file ({e}); point {source} at a PEM file of CA certificates")
            })?;
        if certs.is_empty() {
            return Err(anyhow!(
                "the CA bundle {shown} ({source}) holds no certificate (no -----BEGIN CERTIFICATE-----); point {source} at a PEM file of CA certificates"
            ));
        }
        let mut roots = rustls::RootCertStore::empty();
        for (n, cert) in certs.into_iter().enumerate() {
            roots.add(cert).map_err(|e| {
                anyhow!(
                    "certificate {} of the CA bundle {shown} ({source}) cannot be a CA ({e}); remove it from the file",
                    n + 1
                )
            })?;
        }
        store = store.with_pem_certificate(pem);
    }
    TlsContext::builder()
        .with_trust_store(store)
        .build()
        .map_err(|e| anyhow!("cannot set up TLS: {e}"))
}

/// A connector's connect and read timeouts: what its cache is keyed by.
type Timeouts = (Option<Duration>, Option<Duration>);

/// An HTTP client with one proxy (or none): a connector per timeout setting,
/// built on first use and kept, as the SDK's own client does.
struct Http {
    proxy: Option<ProxyConfig>,
    tls: TlsContext,
    connectors: RwLock<HashMap<Timeouts, SharedHttpConnector>>,
}

/// Never the proxy URL: it may hold a password.
impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("proxied", &self.proxy.is_some())
            .finish_non_exhaustive()
    }
}

impl HttpClient for Http {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        if let Some(connector) = self
            .connectors
            .read()
            .ok()
            .and_then(|c| c.get(&key).cloned())
        {
            return connector;
        }
        let mut builder = aws_smithy_http_client::Connector::builder()
            .connector_settings(settings.clone())
            .enable_tcp_nodelay(true);
        builder.set_sleep_impl(components.sleep_impl());
        builder.set_proxy_config(self.proxy.clone());
        let connector = SharedHttpConnector::new(
            builder
                .tls_provider(Provider::Rustls(CryptoMode::Ring))
                .tls_context(self.tls.clone())
                .build(),
        );
        if let Ok(mut connectors) = self.connectors.write() {
            connectors.insert(key, connector.clone());
        }
        connector
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::internet_options::InternetOptions;

    /// Windows' setting names one proxy for `http://` and another for
    /// `https://`, both from the same place: each gets its own HTTP client.
    #[test]
    fn each_proxy_address_gets_its_own_http_client() {
        let options = InternetOptions {
            enabled: true,
            server: "http=127.0.0.1:1;https=127.0.0.1:2".into(),
            bypass: String::new(),
        };
        let settings = ClientSettings {
            sso_endpoint: Some(EndpointOverride {
                url: "http://127.0.0.1:9".into(),
                variable: "AWS_ENDPOINT_URL_SSO".into(),
            }),
            oidc_endpoint: None,
            sts_endpoint: None,
            timeout: Duration::from_secs(1),
            proxies: Proxies::from_internet_options(&options),
            ca_bundles: Vec::new(),
        };
        let factory = ClientFactory::new(settings).unwrap();
        let sso = factory.route(Service::Sso, "eu-west-1");
        let oidc = factory.route(Service::SsoOidc, "eu-west-1");
        let via = |route: &Route| route.proxy.as_ref().map(|(shown, _)| shown.clone());
        assert_eq!(via(&sso).as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(via(&oidc).as_deref(), Some("http://127.0.0.1:2"));
        factory.http(&sso);
        factory.http(&oidc);
        factory.http(&sso);
        assert_eq!(factory.http.read().unwrap().len(), 2);
    }
}
