//! Errors of the OpenID Connect adapter.

/// Why a sign-in could not be verified.
///
/// Messages never contain the token itself. Suggested HTTP mapping: `InvalidToken` and
/// `EmailNotVerified` → 401/403, `Unavailable` → 503, `Misconfigured` → 500.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The token (or authorization code) is not acceptable: malformed, bad signature, signed
    /// with an unknown key or a disallowed algorithm (`none`, HMAC…), wrong audience or issuer,
    /// expired or issued in the future, nonce mismatch, missing `email`, or a code / PKCE
    /// verifier the token endpoint rejected.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The token is valid but the issuer has not verified the e-mail address.
    #[error("the e-mail address is not verified by the identity provider")]
    EmailNotVerified,
    /// The issuer (discovery document, JWKS or token endpoint) could not be reached or answered
    /// with something unusable.
    #[error("identity provider unavailable: {0}")]
    Unavailable(String),
    /// The configuration is wrong (bad issuer URL, missing redirect URI, client credentials the
    /// issuer refuses…).
    #[error("OpenID Connect misconfigured: {0}")]
    Misconfigured(String),
}
