//! The simulator's own WXBizMsgCrypt (doc 91144), written from `shared/protocols/wecom.md` and checked
//! against `vectors/wecom-callback-crypto.json` — never the client's code, so one mistake cannot pass
//! on both sides.
//!
//! - AES key = base64(EncodingAESKey + "="), 32 bytes; trailing bits in the last character are allowed,
//!   as three of the public test keys have them.
//! - AES-256-CBC, IV = the key's first 16 bytes, PKCS#7 padding to a multiple of 32 bytes (not 16).
//! - plaintext = 16 random bytes ‖ msg length (4 bytes, big-endian) ‖ msg ‖ receiveid.
//! - msg_signature = sha1_hex(concat(sort([token, timestamp, nonce, encrypt]))).

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockEncryptMut, KeyIvInit};
use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use sha1::{Digest, Sha1};

/// Characters of an EncodingAESKey.
const ENCODING_AES_KEY_CHARS: usize = 43;
/// WXBizMsgCrypt pads to this, twice AES's block size.
const PAD_TO: usize = 32;

/// Standard base64 that takes the key without its "=" and ignores the last character's spare bits.
const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
/// Standard base64 with padding, for the ciphertext.
const CIPHERTEXT_BASE64: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// An app's AES key, decoded from its EncodingAESKey.
#[derive(Clone)]
pub(crate) struct AesKey([u8; 32]);

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A secret: never printed.
        f.write_str("AesKey(..)")
    }
}

impl AesKey {
    /// Decodes a 43-character EncodingAESKey; `None` when it is not one.
    pub(crate) fn parse(encoding_aes_key: &str) -> Option<Self> {
        if encoding_aes_key.len() != ENCODING_AES_KEY_CHARS {
            return None;
        }
        let bytes = KEY_BASE64.decode(encoding_aes_key).ok()?;
        bytes.try_into().ok().map(Self)
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0; 16];
        iv.copy_from_slice(&self.0[..16]);
        iv
    }
}

/// Encrypts `msg` for `receive_id` behind the 16 `random` bytes; returns the base64 `Encrypt`.
pub(crate) fn encrypt(key: &AesKey, random: &[u8; 16], msg: &[u8], receive_id: &str) -> String {
    let mut plain = Vec::with_capacity(20 + msg.len() + receive_id.len() + PAD_TO);
    plain.extend_from_slice(random);
    // A callback body is a few KiB; a message beyond 4 GiB cannot reach here.
    plain.extend_from_slice(&u32::try_from(msg.len()).unwrap_or(u32::MAX).to_be_bytes());
    plain.extend_from_slice(msg);
    plain.extend_from_slice(receive_id.as_bytes());
    // PKCS#7 to 32 bytes: always 1..=32 bytes of the pad length, so a whole block when already aligned.
    let pad = PAD_TO - plain.len() % PAD_TO;
    plain.resize(plain.len() + pad, pad as u8);
    let iv = key.iv();
    // The plaintext is a multiple of 32 bytes, so no padding is left for the cipher to add.
    let cipher =
        cbc::Encryptor::<aes::Aes256>::new(&key.0.into(), &iv.into()).encrypt_padded_vec_mut::<NoPadding>(&plain);
    CIPHERTEXT_BASE64.encode(cipher)
}

/// `msg_signature` of a callback.
pub(crate) fn signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    let mut parts = [token, timestamp, nonce, encrypt];
    parts.sort_unstable();
    hex::encode(Sha1::digest(parts.concat().as_bytes()))
}

#[cfg(test)]
mod tests {
    use aes::cipher::BlockDecryptMut;
    use serde_json::Value;

    use super::*;

    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/wecom-callback-crypto.json"
    ));

    fn vectors() -> Vec<Value> {
        let doc: Value = serde_json::from_str(VECTORS).unwrap();
        let list = doc["vectors"].as_array().unwrap().clone();
        assert!(list.len() >= 6, "the vector file lost entries");
        list
    }

    fn s<'a>(v: &'a Value, field: &str) -> &'a str {
        v[field].as_str().unwrap_or_else(|| panic!("vector field {field}"))
    }

    /// The inverse of [`encrypt`], only to read the vectors: (random prefix, msg, receive id).
    fn decrypt(key: &AesKey, encrypt: &str) -> ([u8; 16], Vec<u8>, String) {
        let cipher = CIPHERTEXT_BASE64.decode(encrypt).unwrap();
        let iv = key.iv();
        let mut plain = cbc::Decryptor::<aes::Aes256>::new(&key.0.into(), &iv.into())
            .decrypt_padded_vec_mut::<NoPadding>(&cipher)
            .unwrap();
        let pad = usize::from(*plain.last().unwrap());
        assert!((1..=PAD_TO).contains(&pad), "pad {pad}");
        plain.truncate(plain.len() - pad);
        let len = u32::from_be_bytes(plain[16..20].try_into().unwrap()) as usize;
        let msg = plain[20..20 + len].to_vec();
        let receive_id = String::from_utf8(plain[20 + len..].to_vec()).unwrap();
        (plain[..16].try_into().unwrap(), msg, receive_id)
    }

    #[test]
    fn signatures_match_the_vectors() {
        for v in vectors() {
            let sig = signature(s(&v, "token"), s(&v, "timestamp"), s(&v, "nonce"), s(&v, "encrypt"));
            assert_eq!(sig, s(&v, "msg_signature"), "{}", s(&v, "name"));
            assert_ne!(
                signature("other", s(&v, "timestamp"), s(&v, "nonce"), s(&v, "encrypt")),
                sig
            );
        }
    }

    #[test]
    fn the_vector_ciphertexts_decrypt_with_the_simulators_key_and_layout() {
        for v in vectors() {
            let key = AesKey::parse(s(&v, "encoding_aes_key")).unwrap();
            let (_, msg, receive_id) = decrypt(&key, s(&v, "encrypt"));
            assert_eq!(String::from_utf8(msg).unwrap(), s(&v, "plaintext"), "{}", s(&v, "name"));
            assert_eq!(receive_id, s(&v, "receive_id"));
        }
    }

    #[test]
    fn encrypting_the_vectors_reproduces_their_ciphertexts() {
        let mut deterministic = 0;
        for v in vectors() {
            let key = AesKey::parse(s(&v, "encoding_aes_key")).unwrap();
            // Where the vector gives no prefix, the one its ciphertext was made with is recovered first.
            let prefix: [u8; 16] = match v["random_prefix"].as_str() {
                Some(p) => {
                    deterministic += 1;
                    p.as_bytes().try_into().unwrap()
                }
                None => decrypt(&key, s(&v, "encrypt")).0,
            };
            let encrypted = encrypt(&key, &prefix, s(&v, "plaintext").as_bytes(), s(&v, "receive_id"));
            assert_eq!(encrypted, s(&v, "encrypt"), "{}", s(&v, "name"));
        }
        assert_eq!(deterministic, 1, "the deterministic vector is checked");
    }

    #[test]
    fn keys_with_trailing_bits_are_accepted_and_malformed_ones_refused() {
        // Every key of the vectors decodes, some of them only with trailing bits allowed.
        let strict = base64::engine::general_purpose::STANDARD;
        let mut lenient_only = std::collections::BTreeSet::new();
        for v in vectors() {
            let key = s(&v, "encoding_aes_key");
            assert!(AesKey::parse(key).is_some());
            if strict.decode(format!("{key}=")).is_err() {
                lenient_only.insert(key.to_owned());
            }
        }
        assert!(!lenient_only.is_empty(), "no vector key has trailing bits");
        assert!(AesKey::parse("too-short").is_none());
        assert!(AesKey::parse(&"*".repeat(43)).is_none());
    }

    #[test]
    fn padding_fills_to_32_bytes_even_when_aligned() {
        let key = AesKey::parse("kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR").unwrap();
        // 16 + 4 + 12 = 32: aligned, so a whole 32-byte block of padding follows.
        let cipher = CIPHERTEXT_BASE64
            .decode(encrypt(&key, &[7; 16], b"twelve bytes", ""))
            .unwrap();
        assert_eq!(cipher.len(), 64);
        let (prefix, msg, receive_id) = decrypt(&key, &CIPHERTEXT_BASE64.encode(&cipher));
        assert_eq!(
            (prefix, msg.as_slice(), receive_id.as_str()),
            ([7; 16], &b"twelve bytes"[..], "")
        );
    }
}
