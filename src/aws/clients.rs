//! Builds the AWS SDK clients ssosync uses (SSO portal, SSO-OIDC, STS).
//!
//! Each client is built directly from a small config: explicit region, endpoint
//! overrides from the environment, bounded timeouts, standard retries, and one shared
//! rustls HTTP client. `aws_config::load_defaults` is not used: it would re-read the
//! profile files and walk the credential and region chains.
//!
//! [`runtime`] is the one async runtime a command starts, and only once it knows
//! it needs the network: the no-op path never builds one.

use std::time::Duration;

use aws_sdk_sso::config::retry::RetryConfig;
use aws_sdk_sso::config::timeout::TimeoutConfig;
use aws_sdk_sso::config::{Region, SharedHttpClient};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use anyhow::{Context, Result};

use crate::aws::RoleCredentials;
use crate::config::environment::Environment;

/// A single-threaded runtime for the SDK calls (every call is I/O-bound; one
/// thread serves hundreds in flight).
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The endpoint overrides and limits every client shares.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    pub sso_endpoint: Option<String>,
    pub oidc_endpoint: Option<String>,
    pub sts_endpoint: Option<String>,
    /// Bound on each attempt; a whole call with retries gets three times that.
    pub timeout: Duration,
}

impl ClientSettings {
    pub fn from_env(env: &Environment, timeout: Duration) -> Self {
        ClientSettings {
            sso_endpoint: env.endpoint("SSO"),
            oidc_endpoint: env.endpoint("SSO_OIDC"),
            sts_endpoint: env.endpoint("STS"),
            timeout,
        }
    }
}

pub struct ClientFactory {
    http: SharedHttpClient,
    settings: ClientSettings,
}

impl ClientFactory {
    pub fn new(settings: ClientSettings) -> Self {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        ClientFactory { http, settings }
    }

    fn timeouts(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.settings.timeout.min(Duration::from_secs(5)))
            .operation_attempt_timeout(self.settings.timeout)
            .operation_timeout(self.settings.timeout * 3)
            .build()
    }

    pub fn sso(&self, region: &str) -> aws_sdk_sso::Client {
        self.sso_with(region, RetryConfig::standard().with_max_attempts(3))
    }

    /// An SSO portal client that makes one attempt per call: for callers that
    /// pace and retry themselves (populate's listing), so that every 429 reaches
    /// their pacing and no call sleeps in the SDK's backoff holding its slot.
    pub fn sso_single_attempt(&self, region: &str) -> aws_sdk_sso::Client {
        self.sso_with(region, RetryConfig::disabled())
    }

    fn sso_with(&self, region: &str, retry: RetryConfig) -> aws_sdk_sso::Client {
        let mut config = aws_sdk_sso::Config::builder()
            .region(Region::new(region.to_string()))
            .http_client(self.http.clone())
            .timeout_config(self.timeouts())
            .retry_config(retry);
        if let Some(url) = &self.settings.sso_endpoint {
            config = config.endpoint_url(url);
        }
        aws_sdk_sso::Client::from_conf(config.build())
    }

    pub fn oidc(&self, region: &str) -> aws_sdk_ssooidc::Client {
        let mut config = aws_sdk_ssooidc::Config::builder()
            .region(aws_sdk_ssooidc::config::Region::new(region.to_string()))
            .http_client(self.http.clone())
            .timeout_config(self.timeouts())
            .retry_config(RetryConfig::standard().with_max_attempts(3));
        if let Some(url) = &self.settings.oidc_endpoint {
            config = config.endpoint_url(url);
        }
        aws_sdk_ssooidc::Client::from_conf(config.build())
    }

    /// An STS client that signs with `creds` (the previous hop's role credentials).
    pub fn sts(&self, region: &str, creds: &RoleCredentials) -> aws_sdk_sts::Client {
        let credentials = aws_sdk_sts::config::Credentials::new(
            creds.access_key_id.clone(),
            creds.secret_access_key.expose().to_string(),
            Some(creds.session_token.expose().to_string()),
            Some(creds.expiration.into()),
            "ssosync",
        );
        let mut config = aws_sdk_sts::Config::builder()
            .region(aws_sdk_sts::config::Region::new(region.to_string()))
            .http_client(self.http.clone())
            .timeout_config(self.timeouts())
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .credentials_provider(credentials);
        if let Some(url) = &self.settings.sts_endpoint {
            config = config.endpoint_url(url);
        }
        aws_sdk_sts::Client::from_conf(config.build())
    }
}
