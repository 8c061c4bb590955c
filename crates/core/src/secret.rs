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
    /// The stored value names a master key that is not configured (a rotation's old key left out).
    #[error(
        "a stored value was sealed with master key {0}, which is not configured: set SHOPRELAY_PREVIOUS_MASTER_KEY to it"
    )]
    UnknownKey(String),
}

/// One master key: its cipher, the key deriving its fingerprints, and its public id.
#[derive(Clone)]
struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
    fingerprint_key: Vec<u8>,
}

impl MasterKey {
    fn from_base64(key_b64: &str) -> Result<Self, SealError> {
        let raw = B64.decode(key_b64.trim()).map_err(|_| SealError::BadKey)?;
        if raw.len() != 32 {
            return Err(SealError::BadKey);
        }
        // Separate keys for fingerprints and the id, so neither reveals anything about the cipher key.
        let derive = |label: &[u8]| -> Result<Vec<u8>, SealError> {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&raw).map_err(|_| SealError::BadKey)?;
            mac.update(label);
            Ok(mac.finalize().into_bytes().to_vec())
        };
        let id = hex::encode(&derive(b"shoprelay key id v1")?[..4]);
        Ok(Self {
            id,
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&raw)),
            fingerprint_key: derive(b"shoprelay fingerprint key v1")?,
        })
    }

    fn fingerprint(&self, data: &[u8]) -> String {
        keyed_hex(&self.fingerprint_key, data)
    }
}

/// Hex HMAC-SHA256 of `data` under `key`.
fn keyed_hex(key: &[u8], data: &[u8]) -> String {
    match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            hex::encode(mac.finalize().into_bytes())
        }
        // HMAC accepts keys of any length.
        Err(_) => String::new(),
    }
}

/// AES-256-GCM with a per-value random nonce. Sealed values are `v2:` + the sealing key's id + `:` +
/// base64(nonce ‖ ciphertext); values of the first format, `v1:` + base64(…), name no key and are tried
/// with every configured key. Besides the current key the box may hold previous ones, which only open:
/// during a key rotation both generations are readable while everything is re-sealed.
#[derive(Clone)]
pub struct SecretBox {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

const SEALED_V1: &str = "v1:";
const SEALED_V2: &str = "v2:";

impl SecretBox {
    /// Builds the box from a base64-encoded 32-byte master key.
    pub fn from_base64(key_b64: &str) -> Result<Self, SealError> {
        Ok(Self {
            current: MasterKey::from_base64(key_b64)?,
            previous: Vec::new(),
        })
    }

    /// Adds a previous master key, used only to open values sealed before a rotation.
    pub fn with_previous(mut self, key_b64: &str) -> Result<Self, SealError> {
        let key = MasterKey::from_base64(key_b64)?;
        if key.id != self.current.id && self.previous.iter().all(|k| k.id != key.id) {
            self.previous.push(key);
        }
        Ok(self)
    }

    /// A fresh random master key, base64-encoded.
    pub fn generate_key() -> String {
        B64.encode(Aes256Gcm::generate_key(OsRng))
    }

    /// The current key's id (a short keyed digest; reveals nothing about the key).
    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// Whether previous keys are configured (a rotation in progress).
    pub fn has_previous(&self) -> bool {
        !self.previous.is_empty()
    }

    /// The prefix of every value the current key seals (to find values still under an older key).
    pub fn current_prefix(&self) -> String {
        format!("{SEALED_V2}{}:", self.current.id)
    }

    /// Whether `value` has the form of a sealed value (of any key or format version).
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(SEALED_V1) || value.starts_with(SEALED_V2)
    }

    /// Encrypts a secret for storage.
    pub fn seal(&self, secret: &Secret) -> String {
        self.seal_str(secret.expose())
    }

    /// Encrypts text (personal data) for storage.
    pub fn seal_str(&self, plain: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption with a valid key and a 12-byte nonce cannot fail for inputs under 64 GiB.
        let ciphertext = self
            .current
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .unwrap_or_default();
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ciphertext);
        format!("{}{}", self.current_prefix(), B64.encode(blob))
    }

    /// A keyed digest of plaintext, to tell whether a value changed without storing or revealing it.
    pub fn fingerprint(&self, data: &[u8]) -> String {
        self.current.fingerprint(data)
    }

    /// [`SecretBox::fingerprint`] under every configured key, the current one first.
    pub fn fingerprints(&self, data: &[u8]) -> Vec<String> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(|k| k.fingerprint(data))
            .collect()
    }

    /// Decrypts a value sealed by [`SecretBox::seal`] with the current or a previous key.
    pub fn open(&self, sealed: &str) -> Result<Secret, SealError> {
        self.open_str(sealed).map(Secret)
    }

    /// Decrypts text sealed by [`SecretBox::seal_str`] (or [`SecretBox::seal`]).
    pub fn open_str(&self, sealed: &str) -> Result<String, SealError> {
        if let Some(rest) = sealed.strip_prefix(SEALED_V2) {
            let (id, encoded) = rest.split_once(':').ok_or(SealError::Open)?;
            let key = std::iter::once(&self.current)
                .chain(&self.previous)
                .find(|k| k.id == id)
                .ok_or_else(|| SealError::UnknownKey(id.chars().take(16).collect()))?;
            return decrypt(key, encoded);
        }
        let encoded = sealed.strip_prefix(SEALED_V1).ok_or(SealError::Open)?;
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find_map(|k| decrypt(k, encoded).ok())
            .ok_or(SealError::Open)
    }

    /// A key for [`KeyedHash`], sealed for storage: random, so lookups stay valid across rotations.
    pub fn new_lookup_key(&self) -> String {
        self.seal_str(&B64.encode(Aes256Gcm::generate_key(OsRng)))
    }

    /// Opens a key made by [`SecretBox::new_lookup_key`].
    pub fn open_lookup_key(&self, sealed: &str) -> Result<KeyedHash, SealError> {
        let raw = B64.decode(self.open_str(sealed)?).map_err(|_| SealError::Open)?;
        Ok(KeyedHash(raw))
    }
}

fn decrypt(key: &MasterKey, encoded: &str) -> Result<String, SealError> {
    let blob = B64.decode(encoded).map_err(|_| SealError::Open)?;
    if blob.len() < 12 + 16 {
        return Err(SealError::Open);
    }
    let (nonce, ciphertext) = blob.split_at(12);
    let plain = key
        .cipher
        .decrypt(Nonce::from_slice(nonce), ciphertext)
        .map_err(|_| SealError::Open)?;
    String::from_utf8(plain).map_err(|_| SealError::Open)
}

/// HMAC-SHA256 under a key kept sealed in the database: lookups of personal data (a buyer's identity)
/// without storing it. Equal inputs give equal digests; without the key a digest cannot be checked
/// against a guessed name.
#[derive(Clone)]
pub struct KeyedHash(Vec<u8>);

impl fmt::Debug for KeyedHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyedHash(***)")
    }
}

impl KeyedHash {
    /// The hex digest of `data`, labelled by its purpose so digests of one value for two purposes differ.
    pub fn hash(&self, purpose: &str, data: &str) -> String {
        keyed_hex(&self.0, format!("{purpose}\n{data}").as_bytes())
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
        assert!(sealed.starts_with(&b.current_prefix()));
        assert_eq!(b.fingerprint(b"x"), b.fingerprint(b"x"));
        assert_ne!(b.fingerprint(b"x"), other.fingerprint(b"x"));
    }

    #[test]
    fn a_rotation_opens_both_generations_and_names_a_missing_key() {
        let (old_key, new_key) = (SecretBox::generate_key(), SecretBox::generate_key());
        let old = SecretBox::from_base64(&old_key).unwrap();
        let sealed_old = old.seal_str("王小明");
        // The first format named no key: "v1:" + base64(nonce ‖ ciphertext).
        let legacy = format!("v1:{}", sealed_old.splitn(3, ':').nth(2).unwrap());
        let new_only = SecretBox::from_base64(&new_key).unwrap();
        assert!(matches!(new_only.open_str(&sealed_old), Err(SealError::UnknownKey(id)) if id == old.key_id()));
        assert!(matches!(new_only.open_str(&legacy), Err(SealError::Open)));
        let both = new_only.clone().with_previous(&old_key).unwrap();
        assert_eq!(both.open_str(&sealed_old).unwrap(), "王小明");
        assert_eq!(both.open_str(&legacy).unwrap(), "王小明");
        let resealed = both.seal_str("王小明");
        assert!(resealed.starts_with(&new_only.current_prefix()));
        assert!(!sealed_old.starts_with(&both.current_prefix()));
        assert_eq!(new_only.open_str(&resealed).unwrap(), "王小明");
        assert_eq!(
            both.fingerprints(b"x"),
            vec![new_only.fingerprint(b"x"), old.fingerprint(b"x")]
        );
        assert!(SecretBox::is_sealed(&legacy) && !SecretBox::is_sealed("{\"buyer\":1}"));
    }

    #[test]
    fn lookup_keys_survive_the_master_key_and_separate_purposes() {
        let (old_key, new_key) = (SecretBox::generate_key(), SecretBox::generate_key());
        let old = SecretBox::from_base64(&old_key).unwrap();
        let sealed = old.new_lookup_key();
        let h = old.open_lookup_key(&sealed).unwrap();
        let both = SecretBox::from_base64(&new_key)
            .unwrap()
            .with_previous(&old_key)
            .unwrap();
        let resealed = both.seal(&both.open(&sealed).unwrap());
        let same = both.open_lookup_key(&resealed).unwrap();
        assert_eq!(h.hash("buyer", "alice"), same.hash("buyer", "alice"));
        assert_ne!(h.hash("buyer", "alice"), h.hash("sticky", "alice"));
        let other = old.open_lookup_key(&old.new_lookup_key()).unwrap();
        assert_ne!(h.hash("buyer", "alice"), other.hash("buyer", "alice"));
        assert_eq!(format!("{h:?}"), "KeyedHash(***)");
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
    }
}
