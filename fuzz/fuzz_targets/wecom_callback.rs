//! A WeCom callback: the XML envelope, the signature check, AES-CBC decryption with WeCom's 32-byte
//! padding, and the inner XML must reject anything malformed without panicking. The input is used both
//! as a whole body and as a correctly signed ciphertext, so decryption and inner parsing are reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shoprelay_wecom::callback::{open_callback, CallbackEnvelope, CallbackMessage};
use shoprelay_wecom::crypto::CallbackCrypto;

const AES_KEY: &str = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = CallbackEnvelope::parse(text);
    let _ = CallbackMessage::parse(text);
    let Ok(crypto) = CallbackCrypto::new("hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", AES_KEY, "wx5823bf96d3bd56c7") else {
        return;
    };
    let _ = crypto.decrypt(text);
    let signature = crypto.signature("1409659813", "1372623149", text);
    let body = format!(
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[{text}]]></Encrypt></xml>"
    );
    let _ = open_callback(&crypto, &signature, "1409659813", "1372623149", &body);
    // And a real ciphertext of the input as the inner message.
    let sealed = crypto.encrypt(text);
    let signature = crypto.signature("1409659813", "1372623149", &sealed);
    let body = format!("<xml><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>");
    let _ = open_callback(&crypto, &signature, "1409659813", "1372623149", &body);
});
