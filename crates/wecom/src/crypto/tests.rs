use super::*;
use serde::Deserialize;

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../vectors/wecom-callback-crypto.json"
));

#[derive(Deserialize)]
struct VectorFile {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    token: String,
    encoding_aes_key: String,
    receive_id: String,
    timestamp: String,
    nonce: String,
    encrypt: String,
    msg_signature: String,
    plaintext: String,
    random_prefix: Option<String>,
}

fn vectors() -> Vec<Vector> {
    let file: VectorFile = serde_json::from_str(VECTORS).unwrap();
    assert!(file.vectors.len() >= 6, "vector file lost entries");
    file.vectors
}

fn crypto_of(v: &Vector) -> CallbackCrypto {
    CallbackCrypto::new(v.token.clone(), &v.encoding_aes_key, v.receive_id.clone()).unwrap()
}

#[test]
fn every_vector_signature_matches() {
    for v in vectors() {
        let c = crypto_of(&v);
        assert_eq!(
            c.signature(&v.timestamp, &v.nonce, &v.encrypt),
            v.msg_signature,
            "{}",
            v.name
        );
        c.verify(&v.msg_signature, &v.timestamp, &v.nonce, &v.encrypt)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
    }
}

#[test]
fn every_vector_decrypts_to_plaintext_and_receive_id() {
    for v in vectors() {
        let c = crypto_of(&v);
        let plain = c
            .open(&v.msg_signature, &v.timestamp, &v.nonce, &v.encrypt)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(plain, v.plaintext, "{}", v.name);
    }
}

#[test]
fn vectors_with_prefix_encrypt_exactly() {
    let mut checked = 0;
    for v in vectors() {
        let Some(prefix) = &v.random_prefix else {
            continue;
        };
        let prefix: [u8; 16] = prefix.as_bytes().try_into().unwrap();
        assert_eq!(
            crypto_of(&v).encrypt_with_prefix(&v.plaintext, &prefix),
            v.encrypt,
            "{}",
            v.name
        );
        checked += 1;
    }
    assert!(checked >= 1, "no deterministic vector was checked");
}

#[test]
fn keys_with_nonzero_trailing_bits_are_accepted() {
    // A strict decoder rejects these; the vectors file says three of its keys are like this.
    let strict = vectors()
        .iter()
        .filter(|v| STANDARD.decode(format!("{}=", v.encoding_aes_key)).is_err())
        .count();
    assert!(strict >= 1);
    for v in vectors() {
        crypto_of(&v);
    }
}

#[test]
fn random_prefix_round_trips_and_differs() {
    let v = &vectors()[1];
    let c = crypto_of(v);
    let a = c.encrypt("你好，世界");
    let b = c.encrypt("你好，世界");
    assert_ne!(a, b, "prefix must be random");
    assert_eq!(c.decrypt(&a).unwrap(), "你好，世界");
    assert_eq!(c.decrypt(&b).unwrap(), "你好，世界");
    // Lengths landing exactly on a 32-byte boundary get a full block of padding.
    for len in 0..70 {
        let msg = "x".repeat(len);
        assert_eq!(c.decrypt(&c.encrypt(&msg)).unwrap(), msg);
    }
}

#[test]
fn bad_keys_are_rejected_with_40004() {
    for key in [
        "",
        "short",
        &"A".repeat(44),
        "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
    ] {
        let err = CallbackCrypto::new("t", key, "r").unwrap_err();
        assert!(matches!(err, CryptoError::InvalidAesKey), "{key:?}: {err:?}");
        assert_eq!(err.sample_code(), -40004);
    }
}

#[test]
fn wrong_signature_gives_40001() {
    let v = &vectors()[0];
    let c = crypto_of(v);
    let mut sig = v.msg_signature.clone();
    sig.replace_range(0..1, if sig.starts_with('0') { "1" } else { "0" });
    let err = c.open(&sig, &v.timestamp, &v.nonce, &v.encrypt).unwrap_err();
    assert_eq!(err.sample_code(), -40001);
    let err = c.verify(&v.msg_signature, "1", &v.nonce, &v.encrypt).unwrap_err();
    assert!(matches!(err, CryptoError::InvalidSignature), "{err:?}");
    // Upper-case hex is still the same signature.
    c.verify(&v.msg_signature.to_uppercase(), &v.timestamp, &v.nonce, &v.encrypt)
        .unwrap();
}

#[test]
fn wrong_receive_id_gives_40005() {
    let v = &vectors()[1];
    let c = CallbackCrypto::new(v.token.clone(), &v.encoding_aes_key, "ww-someone-else").unwrap();
    let err = c.decrypt(&v.encrypt).unwrap_err();
    assert_eq!(err.sample_code(), -40005);
    let CryptoError::ReceiveIdMismatch { expected, got } = err else {
        panic!("{err:?}")
    };
    assert_eq!((expected.as_str(), got), ("ww-someone-else", v.receive_id.clone()));
}

#[test]
fn wrong_key_gives_a_decrypt_error_not_a_panic() {
    let v = &vectors()[1];
    let other = &vectors()[2];
    let c = CallbackCrypto::new(v.token.clone(), &other.encoding_aes_key, &v.receive_id).unwrap();
    let err = c.decrypt(&v.encrypt).unwrap_err();
    assert!(matches!(err.sample_code(), -40007 | -40008 | -40005), "{err:?}");
}

#[test]
fn tampered_ciphertext_gives_specific_errors() {
    let v = &vectors()[1];
    let c = crypto_of(v);
    let raw = STANDARD.decode(&v.encrypt).unwrap();
    for i in 0..raw.len() {
        let mut t = raw.clone();
        t[i] ^= 0x5a;
        // Flipping a byte garbles its block and one byte of the next; what fails depends on where.
        match c.decrypt(&STANDARD.encode(&t)) {
            Ok(plain) => assert_ne!(plain, v.plaintext, "byte {i}"),
            Err(e) => assert!(matches!(e.sample_code(), -40005 | -40007 | -40008), "byte {i}: {e:?}"),
        }
    }
    assert_eq!(c.decrypt("not base64 ###").unwrap_err().sample_code(), -40010);
    assert_eq!(
        c.decrypt(&STANDARD.encode(&raw[..raw.len() - 1]))
            .unwrap_err()
            .sample_code(),
        -40007
    );
    assert_eq!(c.decrypt("").unwrap_err().sample_code(), -40007);
}

#[test]
fn random_bytes_never_panic() {
    let v = &vectors()[0];
    let c = crypto_of(v);
    let mut rng = rand::thread_rng();
    for round in 0..2000 {
        let len = PAD_BLOCK * (1 + round % 8) + if round % 5 == 0 { round % 31 } else { 0 };
        let mut bytes = vec![0u8; len];
        rng.fill_bytes(&mut bytes);
        let encrypt = STANDARD.encode(&bytes);
        assert!(c.decrypt(&encrypt).is_err());
        assert!(c
            .open("0000000000000000000000000000000000000000", "1", "2", &encrypt)
            .is_err());
    }
}

#[test]
fn errors_speak_both_languages() {
    let err = CryptoError::InvalidSignature;
    assert_eq!(err.code(), "wecom.callback_signature_invalid");
    assert!(err.message_zh().contains("Token"));
    assert!(err.message_en().contains("Token"));
    assert_eq!(CryptoError::InvalidAesKey.status(), 500);
}

#[test]
fn debug_hides_token_and_key() {
    let v = &vectors()[0];
    let shown = format!("{:?}", crypto_of(v));
    assert!(!shown.contains(&v.token));
    assert!(shown.contains(&v.receive_id));
}
