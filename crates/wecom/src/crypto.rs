//! WXBizMsgCrypt: the signature and AES scheme WeCom uses for callbacks (doc 91144).
//!
//! Error codes follow the official sample so logs can be compared with WeCom's own tooling.

use aes::Aes256;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::Engine as _;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use rand::RngCore;
use sha1::{Digest, Sha1};
use shoprelay_core::error::UserFacing;
use subtle::ConstantTimeEq;

/// WeCom pads to 32-byte multiples (PKCS#7 with k = 32), not to the AES block size.
const PAD_BLOCK: usize = 32;
/// Length of an EncodingAESKey as shown in the admin console.
const ENCODING_AES_KEY_LEN: usize = 43;
/// Random prefix before the length field of every plaintext.
const PREFIX_LEN: usize = 16;

/// Three public test keys end in a character with non-zero trailing bits, which a strict
/// decoder rejects although WeCom and its SDKs accept them.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

type Aes256CbcEnc = cbc::Encryptor<Aes256>;
type Aes256CbcDec = cbc::Decryptor<Aes256>;

/// Why a callback could not be verified, decrypted or parsed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CryptoError {
    /// The msg_signature does not match (-40001).
    #[error("callback signature mismatch (-40001)")]
    InvalidSignature,
    /// The callback XML could not be parsed (-40002).
    #[error("callback XML is malformed (-40002)")]
    Xml(#[source] quick_xml::DeError),
    /// The callback XML lacks a field or has one of the wrong kind (-40002).
    #[error("callback XML is malformed (-40002): {0}")]
    ParseXml(String),
    /// The EncodingAESKey is not 43 base64 characters decoding to 32 bytes (-40004).
    #[error("EncodingAESKey is invalid (-40004)")]
    InvalidAesKey,
    /// The decrypted message names another receiver than ours (-40005).
    #[error("callback receive id {got:?} does not match the configured {expected:?} (-40005)")]
    ReceiveIdMismatch {
        /// The receive id this service is configured with.
        expected: String,
        /// The receive id found in the message.
        got: String,
    },
    /// AES decryption or padding check failed (-40007).
    #[error("callback decryption failed (-40007)")]
    Decrypt,
    /// The decrypted buffer is inconsistent: bad length field or not UTF-8 (-40008).
    #[error("decrypted callback buffer is malformed (-40008)")]
    IllegalBuffer,
    /// The Encrypt field is not base64 (-40010).
    #[error("callback Encrypt field is not base64 (-40010)")]
    DecodeBase64,
}

impl CryptoError {
    /// The error code the official WXBizMsgCrypt sample uses for this failure.
    pub fn sample_code(&self) -> i32 {
        match self {
            CryptoError::InvalidSignature => -40001,
            CryptoError::Xml(_) | CryptoError::ParseXml(_) => -40002,
            CryptoError::InvalidAesKey => -40004,
            CryptoError::ReceiveIdMismatch { .. } => -40005,
            CryptoError::Decrypt => -40007,
            CryptoError::IllegalBuffer => -40008,
            CryptoError::DecodeBase64 => -40010,
        }
    }
}

impl UserFacing for CryptoError {
    fn code(&self) -> &'static str {
        match self {
            CryptoError::InvalidSignature => "wecom.callback_signature_invalid",
            CryptoError::Xml(_) | CryptoError::ParseXml(_) => "wecom.callback_xml_invalid",
            CryptoError::InvalidAesKey => "wecom.callback_aes_key_invalid",
            CryptoError::ReceiveIdMismatch { .. } => "wecom.callback_receive_id_mismatch",
            CryptoError::Decrypt | CryptoError::IllegalBuffer | CryptoError::DecodeBase64 => {
                "wecom.callback_decrypt_failed"
            }
        }
    }

    fn status(&self) -> u16 {
        match self {
            CryptoError::InvalidSignature => 401,
            // A bad key is our configuration, not the caller's fault.
            CryptoError::InvalidAesKey => 500,
            _ => 400,
        }
    }

    fn message_zh(&self) -> String {
        let code = self.sample_code();
        match self {
            CryptoError::InvalidSignature => {
                format!("企业微信回调签名校验失败：请核对回调配置中的 Token 是否与企业微信管理后台一致（{code}）")
            }
            CryptoError::Xml(detail) => format!("企业微信回调的 XML 无法解析：{detail}（{code}）"),
            CryptoError::ParseXml(detail) => {
                format!("企业微信回调的 XML 无法解析：{detail}（{code}）")
            }
            CryptoError::InvalidAesKey => {
                format!("EncodingAESKey 无效：应为管理后台生成的 43 位字符，请重新复制（{code}）")
            }
            CryptoError::ReceiveIdMismatch { expected, got } => format!(
                "回调消息的接收方 {got} 与配置的企业 ID {expected} 不一致：请核对企业 ID（CorpID）配置（{code}）"
            ),
            CryptoError::Decrypt | CryptoError::IllegalBuffer | CryptoError::DecodeBase64 => {
                format!("企业微信回调解密失败：请核对回调配置中的 EncodingAESKey 是否与管理后台一致（{code}）")
            }
        }
    }

    fn message_en(&self) -> String {
        let code = self.sample_code();
        match self {
            CryptoError::InvalidSignature => format!(
                "WeCom callback signature mismatch: check that the callback Token matches the WeCom admin console ({code})"
            ),
            CryptoError::Xml(detail) => format!("WeCom callback XML cannot be parsed: {detail} ({code})"),
            CryptoError::ParseXml(detail) => {
                format!("WeCom callback XML cannot be parsed: {detail} ({code})")
            }
            CryptoError::InvalidAesKey => format!(
                "invalid EncodingAESKey: it must be the 43 characters generated in the admin console; copy it again ({code})"
            ),
            CryptoError::ReceiveIdMismatch { expected, got } => format!(
                "callback addressed to {got}, but the configured corp id is {expected}: check the CorpID setting ({code})"
            ),
            CryptoError::Decrypt | CryptoError::IllegalBuffer | CryptoError::DecodeBase64 => {
                format!(
                    "WeCom callback decryption failed: check that the EncodingAESKey matches the admin console ({code})"
                )
            }
        }
    }
}

/// Signs, verifies, encrypts and decrypts WeCom callback payloads for one app.
#[derive(Clone)]
pub struct CallbackCrypto {
    token: String,
    key: [u8; 32],
    receive_id: String,
}

impl std::fmt::Debug for CallbackCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Token and key are secrets; only the receive id is safe to log.
        f.debug_struct("CallbackCrypto")
            .field("receive_id", &self.receive_id)
            .finish_non_exhaustive()
    }
}

impl CallbackCrypto {
    /// Builds the crypto from the callback Token, the 43-character EncodingAESKey and the receive id
    /// (corp id for self-built apps, suite id for third-party apps, "" for the AI bot).
    pub fn new(
        token: impl Into<String>,
        encoding_aes_key: &str,
        receive_id: impl Into<String>,
    ) -> Result<Self, CryptoError> {
        if encoding_aes_key.len() != ENCODING_AES_KEY_LEN {
            return Err(CryptoError::InvalidAesKey);
        }
        let decoded = LENIENT_BASE64
            .decode(format!("{encoding_aes_key}="))
            .map_err(|_| CryptoError::InvalidAesKey)?;
        let key: [u8; 32] = decoded.try_into().map_err(|_| CryptoError::InvalidAesKey)?;
        Ok(Self {
            token: token.into(),
            key,
            receive_id: receive_id.into(),
        })
    }

    /// `sha1_hex(concat(sort([token, timestamp, nonce, encrypt])))`.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypt: &str) -> String {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypt];
        parts.sort_unstable();
        let mut hasher = Sha1::new();
        for part in parts {
            hasher.update(part.as_bytes());
        }
        hex::encode(hasher.finalize())
    }

    /// Checks `msg_signature` in constant time.
    pub fn verify(&self, msg_signature: &str, timestamp: &str, nonce: &str, encrypt: &str) -> Result<(), CryptoError> {
        let expected = self.signature(timestamp, nonce, encrypt);
        // Hex case is not significant; normalising keeps the comparison constant-time over equal lengths.
        let given = msg_signature.to_ascii_lowercase();
        if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            Ok(())
        } else {
            Err(CryptoError::InvalidSignature)
        }
    }

    /// Verifies then decrypts: what both URL verification (echostr) and message callbacks need.
    pub fn open(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<String, CryptoError> {
        self.verify(msg_signature, timestamp, nonce, encrypt)?;
        self.decrypt(encrypt)
    }

    /// Decrypts an `Encrypt` value and checks that it was meant for our receive id.
    pub fn decrypt(&self, encrypt: &str) -> Result<String, CryptoError> {
        let ciphertext = STANDARD.decode(encrypt.trim()).map_err(|_| CryptoError::DecodeBase64)?;
        if ciphertext.is_empty() || ciphertext.len() % PAD_BLOCK != 0 {
            return Err(CryptoError::Decrypt);
        }
        let plain = Aes256CbcDec::new(&self.key.into(), &self.iv().into())
            .decrypt_padded_vec_mut::<NoPadding>(&ciphertext)
            .map_err(|_| CryptoError::Decrypt)?;
        let unpadded = strip_padding(&plain)?;
        let (msg, receive_id) = split_plaintext(unpadded)?;
        if receive_id != self.receive_id {
            return Err(CryptoError::ReceiveIdMismatch {
                expected: self.receive_id.clone(),
                got: receive_id.to_owned(),
            });
        }
        Ok(msg.to_owned())
    }

    /// Encrypts `msg` with a fresh random 16-byte prefix.
    pub fn encrypt(&self, msg: &str) -> String {
        let mut prefix = [0u8; PREFIX_LEN];
        rand::thread_rng().fill_bytes(&mut prefix);
        self.encrypt_with_prefix(msg, &prefix)
    }

    /// Encrypts `msg` with a given prefix; deterministic, for conformance tests.
    pub fn encrypt_with_prefix(&self, msg: &str, prefix: &[u8; PREFIX_LEN]) -> String {
        let msg_len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
        let mut plain = Vec::with_capacity(PREFIX_LEN + 4 + msg.len() + self.receive_id.len() + PAD_BLOCK);
        plain.extend_from_slice(prefix);
        plain.extend_from_slice(&msg_len.to_be_bytes());
        plain.extend_from_slice(msg.as_bytes());
        plain.extend_from_slice(self.receive_id.as_bytes());
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        // `pad` is 1..=32, so it fits a byte.
        plain.resize(plain.len() + pad, pad as u8);
        // The buffer is now a multiple of 32 bytes, which is what NoPadding requires.
        let ciphertext =
            Aes256CbcEnc::new(&self.key.into(), &self.iv().into()).encrypt_padded_vec_mut::<NoPadding>(&plain);
        STANDARD.encode(ciphertext)
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.key[..16]);
        iv
    }
}

/// Removes WeCom's PKCS#7 padding (1..=32 bytes, all equal to the pad length).
fn strip_padding(plain: &[u8]) -> Result<&[u8], CryptoError> {
    let pad = usize::from(*plain.last().ok_or(CryptoError::Decrypt)?);
    if !(1..=PAD_BLOCK).contains(&pad) || pad > plain.len() {
        return Err(CryptoError::Decrypt);
    }
    let (body, padding) = plain.split_at(plain.len() - pad);
    if padding.iter().any(|&b| usize::from(b) != pad) {
        return Err(CryptoError::Decrypt);
    }
    Ok(body)
}

/// Splits `prefix ‖ len ‖ msg ‖ receive_id` into `(msg, receive_id)`.
fn split_plaintext(unpadded: &[u8]) -> Result<(&str, &str), CryptoError> {
    let rest = unpadded.get(PREFIX_LEN..).ok_or(CryptoError::IllegalBuffer)?;
    let (len_bytes, rest) = rest.split_at_checked(4).ok_or(CryptoError::IllegalBuffer)?;
    let mut len = [0u8; 4];
    len.copy_from_slice(len_bytes);
    let msg_len = usize::try_from(u32::from_be_bytes(len)).map_err(|_| CryptoError::IllegalBuffer)?;
    let (msg, receive_id) = rest.split_at_checked(msg_len).ok_or(CryptoError::IllegalBuffer)?;
    let msg = std::str::from_utf8(msg).map_err(|_| CryptoError::IllegalBuffer)?;
    let receive_id = std::str::from_utf8(receive_id).map_err(|_| CryptoError::IllegalBuffer)?;
    Ok((msg, receive_id))
}

#[cfg(test)]
mod tests;
