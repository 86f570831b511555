//! Configuration of the OpenID Connect adapter.

use std::time::Duration;

use secrecy::SecretString;

/// Google's issuer identifier, the default [`OidcConfig::issuer_url`].
pub const GOOGLE_ISSUER_URL: &str = "https://accounts.google.com";

/// How to reach the issuer and who we are to it.
///
/// Build it with [`OidcConfig::new`] (Google defaults) and override fields as needed:
///
/// ```
/// use std::time::Duration;
/// let cfg = oidc::OidcConfig {
///     redirect_uri: Some("https://app.example.com/auth/google/callback".into()),
///     ..oidc::OidcConfig::new("1234.apps.googleusercontent.com")
/// };
/// assert_eq!(cfg.issuer_url, "https://accounts.google.com");
/// assert_eq!(cfg.http_timeout, Duration::from_secs(10));
/// ```
#[derive(Clone, Debug)]
pub struct OidcConfig {
    /// Issuer identifier; the discovery document is read from
    /// `{issuer_url}/.well-known/openid-configuration` and its `issuer` must be exactly this
    /// string. Must be `https`, except for loopback hosts (tests, local mocks).
    pub issuer_url: String,
    /// OAuth client ID (`GOOGLE_CLIENT_ID`): the required audience of every ID token.
    pub client_id: String,
    /// OAuth client secret; needed by the code flow for confidential (web) clients.
    pub client_secret: Option<SecretString>,
    /// Redirect URI registered with the issuer; required by the code flow only.
    pub redirect_uri: Option<String>,
    /// Timeout of each request to the issuer (discovery, JWKS, token endpoint).
    pub http_timeout: Duration,
}

impl OidcConfig {
    /// Google as the issuer, no client secret, no redirect URI, a 10 s HTTP timeout.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            issuer_url: GOOGLE_ISSUER_URL.to_owned(),
            client_id: client_id.into(),
            client_secret: None,
            redirect_uri: None,
            http_timeout: Duration::from_secs(10),
        }
    }
}
