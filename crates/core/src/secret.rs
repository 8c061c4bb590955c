//! Secrets that never appear in logs or API answers, and their encryption at rest.

use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer};
use sha2::Sha256;

/// A secret string (an app secret, a partner key, a token). `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Why a sealed value could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The master key is not 32 bytes of base64.
    #[error("the master key must be 32 bytes encoded in base64")]
    BadKey,
    /// The stored value is not one this key sealed (wrong key, or tampered).
    #[error("a stored secret could not be decrypted: wrong master key or corrupted data")]
    Open,
}

/// AES-256-GCM with a per-value random nonce; sealed values are `v1:` + base64(nonce ‖ ciphertext).
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
    fingerprint_key: Vec<u8>,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

const SEALED_PREFIX: &str = "v1:";

impl SecretBox {
    /// Builds the box from a base64-encoded 32-byte master key.
    pub fn from_base64(key_b64: &str) -> Result<Self, SealError> {
        let raw = B64.decode(key_b64.trim()).map_err(|_| SealError::BadKey)?;
        if raw.len() != 32 {
            return Err(SealError::BadKey);
        }
        // A separate key for fingerprints, so a fingerprint never reveals anything about the cipher key.
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(&raw).map_err(|_| SealError::BadKey)?;
        derive.update(b"shoprelay fingerprint key v1");
        Ok(Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&raw)),
            fingerprint_key: derive.finalize().into_bytes().to_vec(),
        })
    }

    /// A fresh random master key, base64-encoded.
    pub fn generate_key() -> String {
        B64.encode(Aes256Gcm::generate_key(OsRng))
    }

    /// Encrypts a secret for storage.
    pub fn seal(&self, secret: &Secret) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption with a valid key and a 12-byte nonce cannot fail for inputs under 64 GiB.
        let ciphertext = self
            .cipher
            .encrypt(&nonce, secret.expose().as_bytes())
            .unwrap_or_default();
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}", B64.encode(blob))
    }

    /// A keyed digest of plaintext, to tell whether a value changed without storing or revealing it.
    pub fn fingerprint(&self, data: &[u8]) -> String {
        match <Hmac<Sha256> as Mac>::new_from_slice(&self.fingerprint_key) {
            Ok(mut mac) => {
                mac.update(data);
                hex::encode(mac.finalize().into_bytes())
            }
            // HMAC accepts keys of any length.
            Err(_) => String::new(),
        }
    }

    /// Decrypts a value sealed by [`SecretBox::seal`] with the same key.
    pub fn open(&self, sealed: &str) -> Result<Secret, SealError> {
        let encoded = sealed.strip_prefix(SEALED_PREFIX).ok_or(SealError::Open)?;
        let blob = B64.decode(encoded).map_err(|_| SealError::Open)?;
        if blob.len() < 12 + 16 {
            return Err(SealError::Open);
        }
        let (nonce, ciphertext) = blob.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SealError::Open)?;
        String::from_utf8(plain).map(Secret).map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_tamper_detection() {
        let b = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let sealed = b.seal(&Secret::new("partner-key-123"));
        assert!(!sealed.contains("partner-key-123"));
        assert_eq!(b.open(&sealed).unwrap().expose(), "partner-key-123");
        let other = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        assert!(other.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push('A');
        assert!(b.open(&tampered).is_err() || tampered == sealed);
        assert!(b.open("garbage").is_err());
        assert!(SecretBox::from_base64("c2hvcnQ=").is_err());
        assert_eq!(b.fingerprint(b"x"), b.fingerprint(b"x"));
        assert_ne!(b.fingerprint(b"x"), other.fingerprint(b"x"));
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
    }
}
