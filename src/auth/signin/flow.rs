//! The two ways to get a token, as one sign-in in progress: the authorization
//! code with PKCE (the browser is redirected to our loopback listener) and the
//! device code (a person confirms a code on any device while we poll).

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use chrono::Utc;
use tokio::runtime::Runtime;

use super::options::{SignInError, SignInOptions};
use super::{browser, loopback, pkce};
use crate::auth::oidc::{self, Grant, GrantError, IssuedToken, Registration};
use crate::auth::registration::{self, ClientSpec};
use crate::aws::clients::OidcClient;
use crate::config::environment::Environment;
use crate::config::sign_in::SignInTarget;
use crate::secret::Secret;
use crate::timefmt::describe_duration;

/// How one attempt at a flow failed: a bad registration is retried once.
pub enum Failure {
    InvalidClient,
    Login(SignInError),
}

impl From<SignInError> for Failure {
    fn from(e: SignInError) -> Self {
        Failure::Login(e)
    }
}

/// One sign-in in progress.
pub struct Login<'a> {
    pub target: &'a SignInTarget,
    pub options: &'a SignInOptions,
    pub env: &'a Environment,
    pub runtime: &'a Runtime,
    pub client: OidcClient,
}

impl Login<'_> {
    pub fn register(&self, spec: &ClientSpec, path: &Path) -> Result<Registration, SignInError> {
        let registration = self
            .runtime
            .block_on(oidc::register_client(&self.client, &spec.request()))
            .map_err(|e| SignInError::Other(anyhow!(e)))?;
        tracing::info!(client_id = %registration.client_id, "registered ssosync with SSO-OIDC");
        if let Err(e) = registration::write_cached(path, spec, &registration) {
            // This login still works; the next one registers again.
            eprintln!(
                "ssosync: warning: cannot keep the client registration in {}: {e:#}",
                self.env.display_path(path)
            );
        }
        Ok(registration)
    }

    /// The failure for a grant that did not give a token.
    fn grant_failed(&self, e: GrantError) -> Failure {
        let again = self.target.login_command();
        let label = &self.target.label;
        Failure::Login(match e {
            GrantError::InvalidClient => return Failure::InvalidClient,
            GrantError::Denied => SignInError::NotSignedIn(format!(
                "the sign-in to {label} was denied; run `{again}` to try again"
            )),
            GrantError::Expired => SignInError::NotSignedIn(format!(
                "the sign-in to {label} expired before it was finished; run `{again}` again"
            )),
            GrantError::Pending | GrantError::SlowDown => SignInError::NotSignedIn(format!(
                "the sign-in to {label} was not confirmed; run `{again}` again"
            )),
            GrantError::Failed(message) => SignInError::Other(anyhow!(message)),
        })
    }

    fn timed_out(&self) -> Failure {
        Failure::Login(SignInError::NotSignedIn(format!(
            "the sign-in to {} was not finished within {}; run `{}` again (--timeout gives it longer)",
            self.target.label,
            describe_duration(self.options.timeout),
            self.target.login_command()
        )))
    }

    /// Authorization code with PKCE: the browser signs in and is redirected to a
    /// listener on 127.0.0.1 with the code, which we exchange with the verifier.
    pub fn authorization_code(&self, registration: &Registration) -> Result<IssuedToken, Failure> {
        let deadline = Instant::now() + self.options.timeout;
        let port = self.options.redirect_port.unwrap_or(0);
        let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
            SignInError::Other(anyhow!(
                "cannot listen on 127.0.0.1:{port} for the browser's redirect ({e}); choose another --redirect-port, or use --use-device-code"
            ))
        })?;
        let port = listener
            .local_addr()
            .context("cannot read the listener's port")
            .map_err(SignInError::Other)?
            .port();
        let redirect_uri = format!("http://127.0.0.1:{port}{}", loopback::CALLBACK_PATH);
        let verifier = pkce::verifier().map_err(SignInError::Other)?;
        let state = pkce::state().map_err(SignInError::Other)?;
        let url = pkce::authorize_url(
            &pkce::oidc_endpoint(&self.client.route),
            &registration.client_id,
            &redirect_uri,
            &state,
            &self.target.scopes,
            &pkce::challenge(&verifier),
        );
        if self.options.no_browser {
            eprintln!(
                "ssosync: to sign in to {}, open this URL in a browser on this computer:\n{url}",
                self.target.label
            );
        } else {
            eprintln!(
                "ssosync: opening the sign-in page for {} in your browser; if it does not open, open this URL on this computer:\n{url}",
                self.target.label
            );
            browser::open(self.env, &url);
        }
        let (code, mut browser) = self.wait_for_code(&listener, &state, deadline)?;
        let result = self.runtime.block_on(oidc::create_token(
            &self.client,
            registration,
            Grant::AuthorizationCode {
                code: &code,
                redirect_uri: &redirect_uri,
                code_verifier: &verifier,
            },
            Utc::now(),
        ));
        match &result {
            Ok(_) => loopback::reply(
                &mut browser,
                200,
                "Signed in",
                "ssosync is signed in. You can close this tab and return to the terminal.",
            ),
            Err(_) => loopback::reply(
                &mut browser,
                500,
                "Sign-in failed",
                "ssosync could not finish the sign-in. The terminal says why.",
            ),
        }
        result.map_err(|e| self.grant_failed(e))
    }

    /// Serves the loopback listener until a redirect with our `state` arrives.
    /// A redirect with any other state (not the one we sent, so not our browser's)
    /// is answered with an error page and ignored: we keep waiting for ours.
    fn wait_for_code(
        &self,
        listener: &TcpListener,
        state: &str,
        deadline: Instant,
    ) -> Result<(Secret, TcpStream), Failure> {
        let mut incoming = loopback::Incoming::new(listener)
            .context("cannot set up the redirect listener")
            .map_err(SignInError::Other)?;
        loop {
            let (mut stream, request) = match incoming.next(deadline) {
                Ok(Some(next)) => next,
                Ok(None) => return Err(self.timed_out()),
                Err(e) => {
                    return Err(
                        SignInError::Other(anyhow!("the redirect listener failed: {e}")).into(),
                    );
                }
            };
            let Some(params) = loopback::callback_params(&request) else {
                loopback::reply(
                    &mut stream,
                    404,
                    "Not found",
                    "This is ssosync's sign-in listener.",
                );
                continue;
            };
            let param = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            if param("state") != Some(state) {
                loopback::reply(
                    &mut stream,
                    400,
                    "Wrong sign-in",
                    "This sign-in response does not belong to the sign-in ssosync is waiting for (its state does not match), so it was ignored.",
                );
                eprintln!(
                    "ssosync: ignored a browser redirect whose state does not match this sign-in; still waiting"
                );
                continue;
            }
            if let Some(error) = param("error") {
                loopback::reply(
                    &mut stream,
                    403,
                    "Sign-in not completed",
                    "The sign-in was not completed. The terminal says what to do next.",
                );
                let again = self.target.login_command();
                let error = loopback::printable(error);
                return Err(SignInError::NotSignedIn(if error == "access_denied" {
                    format!(
                        "the sign-in to {} was denied in the browser; run `{again}` to try again",
                        self.target.label
                    )
                } else {
                    format!(
                        "the sign-in to {} failed in the browser ({error}); run `{again}` to try again",
                        self.target.label
                    )
                })
                .into());
            }
            match param("code").filter(|c| !c.is_empty()) {
                Some(code) => return Ok((Secret::new(code), stream)),
                None => {
                    loopback::reply(
                        &mut stream,
                        400,
                        "Sign-in response without a code",
                        "The sign-in response has no authorization code, so it was ignored.",
                    );
                }
            }
        }
    }

    /// Device code: the person confirms a short code at a verification page,
    /// on any device, while we poll CreateToken.
    pub fn device_code(&self, registration: &Registration) -> Result<IssuedToken, Failure> {
        let started = Instant::now();
        let authorization = self
            .runtime
            .block_on(oidc::start_device_authorization(
                &self.client,
                registration,
                self.target.sign_in.start_url(),
            ))
            .map_err(|e| self.grant_failed(e))?;
        let code_deadline = started + authorization.expires_in;
        let deadline = code_deadline.min(started + self.options.timeout);
        let mut interval = authorization.interval;
        let poll = || {
            self.runtime.block_on(oidc::create_token(
                &self.client,
                registration,
                Grant::DeviceCode(&authorization.device_code),
                Utc::now(),
            ))
        };
        // Once before showing the code: a pre-authorized client needs no person.
        let mut shown = false;
        loop {
            match poll() {
                Ok(token) => return Ok(token),
                Err(GrantError::Pending) => {}
                Err(GrantError::SlowDown) => interval += Duration::from_secs(5),
                Err(e) => return Err(self.grant_failed(e)),
            }
            if !shown {
                self.show_device_code(&authorization);
                shown = true;
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(if deadline == code_deadline {
                    self.grant_failed(GrantError::Expired)
                } else {
                    self.timed_out()
                });
            }
            std::thread::sleep(interval.min(deadline - now));
        }
    }

    fn show_device_code(&self, authorization: &oidc::DeviceAuthorization) {
        eprintln!(
            "ssosync: to sign in to {}, open {} and confirm the code {}",
            self.target.label, authorization.verification_uri, authorization.user_code
        );
        if let Some(complete) = &authorization.verification_uri_complete {
            eprintln!("ssosync: (or open {complete}, which has the code in it)");
            if !self.options.no_browser {
                browser::open(self.env, complete);
            }
        }
    }
}
