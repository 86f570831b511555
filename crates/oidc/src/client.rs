//! [`GoogleOidc`]: ID-token verification and the authorization-code flow.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreErrorResponseType, CoreIdToken,
    CoreIdTokenClaims, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AccessTokenHash, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, DiscoveryError, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl,
    JwsSigningAlgorithm, Nonce, NonceVerifier, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError,
    StandardErrorResponse, TokenResponse,
};
use secrecy::{ExposeSecret, SecretString};

use crate::{OidcConfig, OidcError};

/// How long discovered metadata and keys are used before they are fetched again.
const PROVIDER_TTL: Duration = Duration::from_secs(60 * 60);
/// After a failed refresh, how long the stale metadata is used before trying again.
const REFRESH_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Minimum time between two JWKS fetches caused by a token naming an unknown key; bounds the
/// requests an attacker can trigger by sending tokens with random `kid`s.
const JWKS_REFETCH_COOLDOWN: Duration = Duration::from_secs(30);
/// Clock-skew leeway for `exp` and `iat`.
const CLOCK_SKEW: TimeDelta = TimeDelta::seconds(60);
/// ID tokens longer than this are rejected without parsing (Google's are about 1.2 kB).
const MAX_ID_TOKEN_LEN: usize = 16 * 1024;

/// A client built from discovery: authorization endpoint set, token and userinfo endpoints
/// possibly set.
type DiscoveredClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The identity an issuer vouched for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedIdentity {
    /// Stable user identifier at the issuer (`sub`); key accounts by (`issuer`, `subject`).
    pub subject: String,
    /// E-mail address (`email`).
    pub email: String,
    /// Always `true`: tokens whose `email_verified` is not `true` are refused.
    pub email_verified: bool,
    /// `given_name`, if the `profile` scope was granted.
    pub given_name: Option<String>,
    /// `family_name`, if the `profile` scope was granted.
    pub family_name: Option<String>,
    /// Profile picture URL (`picture`), if the `profile` scope was granted.
    pub picture: Option<String>,
    /// Issuer identifier (`iss`), e.g. `https://accounts.google.com`.
    pub issuer: String,
}

/// Where to send the browser to start the code flow, and what to keep until it comes back.
///
/// Store `state`, `nonce` and `pkce_verifier` server-side (or in an encrypted, short-lived
/// cookie); on the callback, check the returned `state` equals the stored one, then call
/// [`GoogleOidc::exchange_code`] with the stored nonce and verifier.
#[derive(Clone)]
pub struct AuthorizeRequest {
    /// Authorization endpoint URL with `response_type=code`, `client_id`, `redirect_uri`,
    /// `scope=openid email profile`, `state`, `nonce`, `code_challenge` and
    /// `code_challenge_method=S256`.
    pub url: String,
    /// CSRF token sent as `state`; the callback must carry the same value.
    pub state: String,
    /// Nonce the ID token must contain.
    pub nonce: String,
    /// PKCE code verifier to send with the code.
    pub pkce_verifier: String,
}

impl fmt::Debug for AuthorizeRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizeRequest")
            .field("url", &self.url)
            .field("state", &"[redacted]")
            .field("nonce", &"[redacted]")
            .field("pkce_verifier", &"[redacted]")
            .finish()
    }
}

/// OpenID Connect relying party for one client at one issuer (Google by default).
///
/// Cheap to clone; clones share the cached provider metadata and keys.
#[derive(Clone)]
pub struct GoogleOidc {
    inner: Arc<Inner>,
}

struct Inner {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<SecretString>,
    redirect_uri: Option<RedirectUrl>,
    http: reqwest::Client,
    cache: Mutex<Cache>,
    /// Serializes discovery and JWKS fetches (single flight).
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Cache {
    provider: Option<Arc<Provider>>,
    /// When the last discovery attempt failed, and why.
    last_failure: Option<(Instant, OidcError)>,
}

/// Discovered metadata (with its JWKS) and the ID-token verifier built from it.
struct Provider {
    metadata: CoreProviderMetadata,
    verifier: CoreIdTokenVerifier<'static>,
    refresh_after: Instant,
    last_kid_refetch: Option<Instant>,
}

impl fmt::Debug for GoogleOidc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleOidc")
            .field("issuer", &self.inner.issuer.as_str())
            .field("client_id", &self.inner.client_id.as_str())
            .finish_non_exhaustive()
    }
}

impl GoogleOidc {
    /// Checks the configuration and builds the HTTP client; does no I/O.
    pub fn new(cfg: OidcConfig) -> Result<Self, OidcError> {
        let issuer = IssuerUrl::new(cfg.issuer_url.clone()).map_err(|e| {
            OidcError::Misconfigured(format!("issuer URL {:?}: {e}", cfg.issuer_url))
        })?;
        check_scheme("issuer URL", issuer.url())?;
        if cfg.client_id.trim().is_empty() {
            return Err(OidcError::Misconfigured("client ID is empty".into()));
        }
        let redirect_uri = cfg
            .redirect_uri
            .map(|uri| {
                RedirectUrl::new(uri.clone())
                    .map_err(|e| OidcError::Misconfigured(format!("redirect URI {uri:?}: {e}")))
            })
            .transpose()?;
        if cfg.http_timeout.is_zero() {
            return Err(OidcError::Misconfigured("HTTP timeout is zero".into()));
        }
        let http = reqwest::Client::builder()
            // Following redirects would expose us to SSRF (openidconnect's guidance).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(cfg.http_timeout)
            // Requests are rare (discovery hourly, JWKS on rotation, one per code-flow login);
            // an idle pooled connection would mostly be one the server is about to close, and
            // reusing it as it closes fails the request.
            .pool_max_idle_per_host(0)
            .build()
            .map_err(|e| OidcError::Misconfigured(format!("HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                issuer,
                client_id: ClientId::new(cfg.client_id),
                client_secret: cfg.client_secret,
                redirect_uri,
                http,
                cache: Mutex::new(Cache::default()),
                refresh: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// Verifies an ID token obtained by a client (`POST /auth/google {id_token}`).
    ///
    /// Checks the signature against the issuer's JWKS (algorithm pinned to the asymmetric ones
    /// the issuer advertises), `iss`, `aud` (must contain the client ID; other audiences are
    /// refused), `exp` and `iat` (60 s leeway), the nonce when `nonce` is `Some` (`None`: not
    /// checked, as in the client flow), and then that `email_verified` is `true`.
    pub async fn verify_id_token(
        &self,
        id_token: &str,
        nonce: Option<&str>,
    ) -> Result<VerifiedIdentity, OidcError> {
        let token = parse_id_token(id_token)?;
        let (claims, _) = self.verified_claims(&token, nonce).await?;
        identity(&claims)
    }

    /// Starts the server-side code flow: the authorization URL (scopes `openid email profile`,
    /// PKCE S256) and the `state`, `nonce` and PKCE verifier the caller must keep.
    ///
    /// Needs [`OidcConfig::redirect_uri`]; fetches the discovery document on first use.
    pub async fn authorize_url(&self) -> Result<AuthorizeRequest, OidcError> {
        let provider = self.provider().await?;
        let client = self.client(&provider)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(AuthorizeRequest {
            url: url.into(),
            state: state.into_secret(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.into_secret(),
        })
    }

    /// Finishes the code flow: redeems `code` at the token endpoint (client authentication
    /// `client_secret_basic` or `client_secret_post`, whichever the issuer advertises, basic
    /// preferred), then verifies the returned ID token like [`verify_id_token`](Self::verify_id_token)
    /// with the stored `nonce` required, and its `at_hash` when present.
    ///
    /// A code or PKCE verifier the issuer rejects (`invalid_grant`) is
    /// [`OidcError::InvalidToken`]; refused client credentials are [`OidcError::Misconfigured`].
    pub async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<VerifiedIdentity, OidcError> {
        let provider = self.provider().await?;
        let client = self.client(&provider)?;
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Misconfigured(format!("token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()));
        let response: CoreTokenResponse = request
            .request_async(&self.inner.http)
            .await
            .map_err(token_error)?;
        let token = response.id_token().ok_or_else(|| {
            OidcError::InvalidToken("the token endpoint returned no ID token".into())
        })?;
        let (claims, provider) = self.verified_claims(token, Some(nonce)).await?;
        if let Some(expected) = claims.access_token_hash() {
            let alg = token.signing_alg().map_err(invalid_signature)?;
            let key = token
                .signing_key(&provider.verifier)
                .map_err(invalid_signature)?;
            let actual = AccessTokenHash::from_token(response.access_token(), alg, key)
                .map_err(|e| OidcError::InvalidToken(format!("at_hash: {e}")))?;
            if actual != *expected {
                return Err(OidcError::InvalidToken(
                    "at_hash does not match the access token".into(),
                ));
            }
        }
        identity(&claims)
    }

    /// Verifies `token` with the cached keys; on an unknown `kid`, fetches the JWKS again (at
    /// most once per [`JWKS_REFETCH_COOLDOWN`]) and retries once.
    async fn verified_claims(
        &self,
        token: &CoreIdToken,
        nonce: Option<&str>,
    ) -> Result<(CoreIdTokenClaims, Arc<Provider>), OidcError> {
        let provider = self.provider().await?;
        match check_claims(token, &provider, nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {}
            other => {
                return other
                    .map(|claims| (claims, provider))
                    .map_err(invalid_claims);
            }
        }
        tracing::debug!(issuer = %self.inner.issuer.as_str(), "ID token names an unknown key; refetching the JWKS");
        let Some(refreshed) = self.refetch_jwks(&provider).await? else {
            return Err(OidcError::InvalidToken(
                "no key in the issuer's JWKS matches the token".into(),
            ));
        };
        check_claims(token, &refreshed, nonce)
            .map(|claims| (claims, refreshed))
            .map_err(invalid_claims)
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        self.inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached provider, discovering it when absent or due for refresh.
    async fn provider(&self) -> Result<Arc<Provider>, OidcError> {
        let asked_at = Instant::now();
        if let Some(provider) = self.cache().provider.clone()
            && provider.refresh_after > asked_at
        {
            return Ok(provider);
        }
        let _flight = self.inner.refresh.lock().await;
        let stale = {
            let cache = self.cache();
            if let Some(provider) = &cache.provider
                && provider.refresh_after > Instant::now()
            {
                return Ok(provider.clone());
            }
            // Another task tried while we were waiting: share its failure.
            if let Some((failed_at, err)) = &cache.last_failure
                && *failed_at >= asked_at
                && cache.provider.is_none()
            {
                return Err(err.clone());
            }
            cache.provider.clone()
        };
        match self.discover().await {
            Ok(metadata) => {
                let provider = Arc::new(self.build_provider(metadata, None));
                let mut cache = self.cache();
                cache.provider = Some(provider.clone());
                cache.last_failure = None;
                Ok(provider)
            }
            Err(err) => {
                let mut cache = self.cache();
                cache.last_failure = Some((Instant::now(), err.clone()));
                let Some(stale) = stale else {
                    tracing::warn!(issuer = %self.inner.issuer.as_str(), error = %err, "OpenID Connect discovery failed");
                    return Err(err);
                };
                tracing::warn!(issuer = %self.inner.issuer.as_str(), error = %err, "OpenID Connect discovery failed; keeping the cached metadata");
                let provider = Arc::new(Provider {
                    metadata: stale.metadata.clone(),
                    verifier: stale.verifier.clone(),
                    refresh_after: Instant::now() + REFRESH_RETRY_AFTER,
                    last_kid_refetch: stale.last_kid_refetch,
                });
                cache.provider = Some(provider.clone());
                Ok(provider)
            }
        }
    }

    /// Fetches the JWKS again after a token named a key `seen` does not have. `None` when the
    /// cooldown forbids a new fetch.
    async fn refetch_jwks(&self, seen: &Arc<Provider>) -> Result<Option<Arc<Provider>>, OidcError> {
        let _flight = self.inner.refresh.lock().await;
        if let Some(current) = self.cache().provider.clone()
            && !Arc::ptr_eq(&current, seen)
        {
            // Refreshed by another task meanwhile.
            return Ok(Some(current));
        }
        if seen
            .last_kid_refetch
            .is_some_and(|at| at.elapsed() < JWKS_REFETCH_COOLDOWN)
        {
            return Ok(None);
        }
        let fetched = CoreJsonWebKeySet::fetch_async(seen.metadata.jwks_uri(), &self.inner.http)
            .await
            .map_err(|e| discovery_error("JWKS", e));
        let provider = Arc::new(match &fetched {
            Ok(jwks) => {
                let metadata = seen.metadata.clone().set_jwks(jwks.clone());
                let mut provider = self.build_provider(metadata, Some(Instant::now()));
                provider.refresh_after = seen.refresh_after;
                provider
            }
            // Remember the attempt anyway, so that failures are rate-limited too.
            Err(_) => Provider {
                metadata: seen.metadata.clone(),
                verifier: seen.verifier.clone(),
                refresh_after: seen.refresh_after,
                last_kid_refetch: Some(Instant::now()),
            },
        });
        self.cache().provider = Some(provider.clone());
        fetched.map(|_| Some(provider))
    }

    async fn discover(&self) -> Result<CoreProviderMetadata, OidcError> {
        tracing::debug!(issuer = %self.inner.issuer.as_str(), "fetching OpenID Connect discovery document and JWKS");
        let metadata =
            CoreProviderMetadata::discover_async(self.inner.issuer.clone(), &self.inner.http)
                .await
                .map_err(|e| discovery_error("discovery", e))?;
        for (what, url) in [
            (
                "authorization_endpoint",
                metadata.authorization_endpoint().url(),
            ),
            ("jwks_uri", metadata.jwks_uri().url()),
        ] {
            check_scheme(what, url).map_err(|e| OidcError::Unavailable(e.to_string()))?;
        }
        if let Some(token_url) = metadata.token_endpoint() {
            check_scheme("token_endpoint", token_url.url())
                .map_err(|e| OidcError::Unavailable(e.to_string()))?;
        }
        Ok(metadata)
    }

    fn build_provider(
        &self,
        metadata: CoreProviderMetadata,
        last_kid_refetch: Option<Instant>,
    ) -> Provider {
        // Only asymmetric algorithms: HMAC would make the client secret (or, for a public
        // client, nothing) the key, and `none` no signature at all.
        let mut algs: Vec<CoreJwsSigningAlgorithm> = metadata
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|alg| alg.key_type().is_some() && !alg.uses_shared_secret())
            .cloned()
            .collect();
        if algs.is_empty() {
            algs.push(CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256);
        }
        let verifier = CoreIdTokenVerifier::new_public_client(
            self.inner.client_id.clone(),
            self.inner.issuer.clone(),
            metadata.jwks().clone(),
        )
        .set_allowed_algs(algs)
        .set_time_fn(|| Utc::now() - CLOCK_SKEW)
        .set_issue_time_verifier_fn(|iat| {
            if iat > Utc::now() + CLOCK_SKEW {
                Err(format!("issued in the future ({iat})"))
            } else {
                Ok(())
            }
        });
        Provider {
            metadata,
            verifier,
            refresh_after: Instant::now() + PROVIDER_TTL,
            last_kid_refetch,
        }
    }

    /// An OAuth client for the code flow, from the cached metadata.
    fn client(&self, provider: &Provider) -> Result<DiscoveredClient, OidcError> {
        let redirect_uri =
            self.inner.redirect_uri.clone().ok_or_else(|| {
                OidcError::Misconfigured("the code flow needs a redirect URI".into())
            })?;
        let secret = self
            .inner
            .client_secret
            .as_ref()
            .map(|s| ClientSecret::new(s.expose_secret().to_owned()));
        // RFC 8414 / OpenID Discovery: absent means client_secret_basic.
        let post_only = provider
            .metadata
            .token_endpoint_auth_methods_supported()
            .is_some_and(|methods| {
                methods.contains(&CoreClientAuthMethod::ClientSecretPost)
                    && !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
            });
        let auth_type = if post_only {
            AuthType::RequestBody
        } else {
            AuthType::BasicAuth
        };
        Ok(CoreClient::from_provider_metadata(
            provider.metadata.clone(),
            self.inner.client_id.clone(),
            secret,
        )
        .set_redirect_uri(redirect_uri)
        .set_auth_type(auth_type))
    }
}

fn parse_id_token(id_token: &str) -> Result<CoreIdToken, OidcError> {
    let id_token = id_token.trim();
    if id_token.is_empty() {
        return Err(OidcError::InvalidToken("empty ID token".into()));
    }
    if id_token.len() > MAX_ID_TOKEN_LEN {
        return Err(OidcError::InvalidToken("ID token too long".into()));
    }
    CoreIdToken::from_str(id_token)
        .map_err(|e| OidcError::InvalidToken(format!("malformed ID token: {e}")))
}

fn check_claims(
    token: &CoreIdToken,
    provider: &Provider,
    nonce: Option<&str>,
) -> Result<CoreIdTokenClaims, ClaimsVerificationError> {
    let nonce_check = |claim: Option<&Nonce>| match nonce {
        None => Ok(()),
        Some(expected) => (&Nonce::new(expected.to_owned())).verify(claim),
    };
    token.claims(&provider.verifier, nonce_check).cloned()
}

fn identity(claims: &CoreIdTokenClaims) -> Result<VerifiedIdentity, OidcError> {
    let email = claims.email().ok_or_else(|| {
        OidcError::InvalidToken("no email claim (is the email scope granted?)".into())
    })?;
    if claims.email_verified() != Some(true) {
        return Err(OidcError::EmailNotVerified);
    }
    Ok(VerifiedIdentity {
        subject: claims.subject().to_string(),
        email: email.to_string(),
        email_verified: true,
        given_name: claims
            .given_name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
        family_name: claims
            .family_name()
            .and_then(|n| n.get(None))
            .map(|n| n.to_string()),
        picture: claims
            .picture()
            .and_then(|p| p.get(None))
            .map(|p| p.to_string()),
        issuer: claims.issuer().to_string(),
    })
}

/// `https`, or `http` to a loopback host.
fn check_scheme(what: &str, url: &openidconnect::url::Url) -> Result<(), OidcError> {
    let loopback = match url.host() {
        Some(openidconnect::url::Host::Domain(d)) => d == "localhost",
        Some(openidconnect::url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(openidconnect::url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        scheme => Err(OidcError::Misconfigured(format!(
            "{what} must use https (got {scheme}://{})",
            url.host_str().unwrap_or_default()
        ))),
    }
}

fn invalid_claims(err: ClaimsVerificationError) -> OidcError {
    match err {
        ClaimsVerificationError::SignatureVerification(e) => invalid_signature(e),
        other => OidcError::InvalidToken(other.to_string()),
    }
}

fn invalid_signature(err: SignatureVerificationError) -> OidcError {
    OidcError::InvalidToken(format!("signature verification failed: {err}"))
}

fn discovery_error<RE: std::error::Error + 'static>(
    what: &str,
    err: DiscoveryError<RE>,
) -> OidcError {
    match err {
        DiscoveryError::Validation(msg) => {
            OidcError::Misconfigured(format!("{what}: {msg} (check the issuer URL)"))
        }
        DiscoveryError::UrlParse(e) => OidcError::Misconfigured(format!("{what} URL: {e}")),
        DiscoveryError::Request(e) => {
            OidcError::Unavailable(format!("{what}: {}", error_chain(&e)))
        }
        DiscoveryError::Parse(e) => {
            OidcError::Unavailable(format!("{what}: unusable document: {e}"))
        }
        DiscoveryError::Response(status, _, msg) => {
            OidcError::Unavailable(format!("{what}: {msg} (HTTP {status})"))
        }
        other => OidcError::Unavailable(format!("{what}: {}", error_chain(&other))),
    }
}

fn token_error<RE: std::error::Error + 'static>(
    err: RequestTokenError<RE, StandardErrorResponse<CoreErrorResponseType>>,
) -> OidcError {
    match err {
        RequestTokenError::ServerResponse(resp) => {
            let detail = match resp.error_description() {
                Some(desc) => format!("{}: {desc}", resp.error()),
                None => resp.error().to_string(),
            };
            match resp.error() {
                CoreErrorResponseType::InvalidClient
                | CoreErrorResponseType::UnauthorizedClient => {
                    OidcError::Misconfigured(format!("token endpoint refused the client: {detail}"))
                }
                _ => OidcError::InvalidToken(format!("token endpoint refused the code: {detail}")),
            }
        }
        RequestTokenError::Request(e) => {
            OidcError::Unavailable(format!("token endpoint: {}", error_chain(&e)))
        }
        RequestTokenError::Parse(e, _) => {
            OidcError::Unavailable(format!("token endpoint: unusable response: {e}"))
        }
        RequestTokenError::Other(msg) => OidcError::Unavailable(format!("token endpoint: {msg}")),
    }
}

/// An error and its sources, `: `-separated (reqwest hides the useful part in the sources).
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        out.push_str(": ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}
