//! OpenID Connect adapter for "Sign in with Google" (or any other OpenID Connect issuer).
//!
//! [`GoogleOidc`] verifies ID tokens with the [`openidconnect`] crate against the issuer's
//! discovery document and JSON Web Key Set: signature (asymmetric algorithms only, as advertised
//! by the issuer — RS256 for Google), `iss`, `aud == client_id`, `exp`/`iat` with a small leeway,
//! optionally the `nonce`, and finally `email_verified == true`.
//!
//! Two flows are supported:
//! - **client flow** — a browser or mobile app signs in with Google itself and posts the ID token
//!   (`POST /auth/google {id_token}`): [`GoogleOidc::verify_id_token`];
//! - **server-side code flow** with PKCE (S256): [`GoogleOidc::authorize_url`] gives the URL to
//!   redirect to plus the `state`, `nonce` and PKCE verifier to keep (e.g. in the session), and
//!   [`GoogleOidc::exchange_code`] redeems the code returned to the redirect URI.
//!
//! The provider metadata and keys are fetched lazily on first use (never in
//! [`GoogleOidc::new`]), cached for an hour, and the JWKS is fetched again when a token names a key
//! the cache does not know (key rotation), at most once per 30 seconds. If the issuer cannot be
//! reached when the cache expires, the cached metadata keeps being used.
//!
//! With the `testing` feature, [`testing::TestIssuer`] runs a real OpenID Connect issuer on
//! `127.0.0.1` for tests (discovery, JWKS, token endpoint, token minting, key rotation).

mod client;
mod config;
mod error;
#[cfg(feature = "testing")]
pub mod testing;

pub use client::{AuthorizeRequest, GoogleOidc, VerifiedIdentity};
pub use config::{GOOGLE_ISSUER_URL, OidcConfig};
pub use error::OidcError;
