//! Password hashing with argon2id (OWASP parameters: m = 19 MiB, t = 2, p = 1), on the
//! blocking pool so a sign-in never stalls the request threads.

use accounts::{PasswordHasher, StoreError};
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::Arc;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_now(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| StoreError::Other(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Other(e.to_string()))
}

/// The argon2id hasher. Holds a hash of a random password, verified when the account does not
/// exist, so that case costs what a wrong password costs.
#[derive(Clone)]
pub struct Argon2Hasher {
    dummy: Arc<str>,
}

impl Argon2Hasher {
    pub fn new() -> Result<Self, StoreError> {
        let random: [u8; 16] = rand::random();
        let dummy = hash_now(&format!("{random:?}"))?;
        Ok(Self {
            dummy: dummy.into(),
        })
    }
}

impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &str) -> Result<String, StoreError> {
        let password = password.to_string();
        tokio::task::spawn_blocking(move || hash_now(&password))
            .await
            .map_err(|e| StoreError::Other(e.to_string()))?
    }

    async fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let password = password.to_string();
        let (hash, real) = match hash {
            Some(h) => (h.to_string(), true),
            None => (self.dummy.to_string(), false),
        };
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        ok && real
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let h = Argon2Hasher::new().unwrap();
        let stored = h.hash("correct horse battery").await.unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(h.verify("correct horse battery", Some(&stored)).await);
        assert!(!h.verify("wrong", Some(&stored)).await);
        assert!(
            !h.verify("anything", None).await,
            "no account never verifies"
        );
        assert!(!h.verify("x", Some("not a hash")).await);
    }
}
