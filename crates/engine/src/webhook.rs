//! Signed outbound webhooks (Standard Webhooks): `webhook-id`, `webhook-timestamp` and
//! `webhook-signature: v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`, the key being the base64 after the
//! secret's `whsec_` prefix. Receivers deduplicate on `webhook-id`, which stays the same across retries.
//!
//! Webhooks are sent by their own clients ([`WebhookClients`]): redirects are never followed (a redirect
//! would re-send the signed event to a host nobody configured), no proxy is used (the address checked
//! must be the address connected to), and names resolve through [`GuardedResolver`].

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use shoprelay_core::error::UserFacing;
use shoprelay_core::secret::Secret;

use crate::egress::{system_lookup, GuardedResolver, Lookup};

/// The HTTP clients webhooks go out through: one refusing private networks, one for webhooks that allow them.
pub struct WebhookClients {
    public_only: reqwest::Client,
    private_allowed: reqwest::Client,
}

impl WebhookClients {
    /// Clients resolving names with the system resolver.
    pub fn new(timeout: Duration) -> Result<Self, reqwest::Error> {
        Self::with_lookup(timeout, system_lookup())
    }

    /// Clients resolving names with `lookup`.
    pub fn with_lookup(timeout: Duration, lookup: Lookup) -> Result<Self, reqwest::Error> {
        let build = |allow_private_network: bool| {
            reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(5)))
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .dns_resolver(Arc::new(GuardedResolver::new(lookup.clone(), allow_private_network)))
                .build()
        };
        Ok(Self {
            public_only: build(false)?,
            private_allowed: build(true)?,
        })
    }

    /// The client for a webhook with or without `allow_private_network`.
    pub fn client(&self, allow_private_network: bool) -> &reqwest::Client {
        if allow_private_network {
            &self.private_allowed
        } else {
            &self.public_only
        }
    }
}

/// A webhook answered with a redirect, which is never followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("webhook.redirect_refused: HTTP {status} to {}", .to.as_deref().unwrap_or("?"))]
pub struct RedirectRefused {
    /// The 3xx status.
    pub status: u16,
    /// The origin the redirect pointed at, when it named one.
    pub to: Option<String>,
}

impl UserFacing for RedirectRefused {
    fn code(&self) -> &'static str {
        "webhook.redirect_refused"
    }

    fn status(&self) -> u16 {
        502
    }

    fn message_zh(&self) -> String {
        format!(
            "Webhook 返回 HTTP {} 重定向到 {}；为防止签名内容被转发到未配置的主机，shoprelay 不跟随重定向：请把 Webhook 地址改为最终地址",
            self.status,
            self.to.as_deref().unwrap_or("（未给出地址）")
        )
    }

    fn message_en(&self) -> String {
        format!(
            "The webhook answered HTTP {} redirecting to {}; redirects are not followed, so the signed event never goes to a host nobody configured: set the webhook URL to the final address",
            self.status,
            self.to.as_deref().unwrap_or("(no location)")
        )
    }
}

/// The HMAC key of a `whsec_…` secret, or `None` when it is not one.
pub fn secret_key(secret: &Secret) -> Option<Vec<u8>> {
    let encoded = secret.expose().strip_prefix("whsec_")?;
    B64.decode(encoded).ok().filter(|k| !k.is_empty())
}

/// The `webhook-signature` header value for a request.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length.
        Err(_) => return String::new(),
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_id_timestamp_and_body() {
        let key = secret_key(&Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).unwrap();
        let sig = signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        // The worked example of the Standard Webhooks specification.
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(secret_key(&Secret::new("no-prefix")).is_none());
        assert!(secret_key(&Secret::new("whsec_***")).is_none());
    }

    /// A receiver on loopback that counts requests.
    async fn receiver() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // The request has no body: its headers end it.
                let mut request = Vec::new();
                let mut chunk = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = socket
                    .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                    .await;
            }
        });
        (port, hits)
    }

    #[tokio::test]
    async fn the_connection_uses_the_checked_resolution() {
        let (port, hits) = receiver().await;
        let lookup: Lookup = Arc::new(|_host| Box::pin(async { Ok(vec!["127.0.0.1".parse().unwrap()]) }));
        let clients = WebhookClients::with_lookup(Duration::from_secs(2), lookup).unwrap();
        let url = format!("http://wms.example:{port}/hook");
        let err = clients.client(false).post(&url).send().await.unwrap_err();
        let refused = crate::egress::refusal_of(&err).expect("the refusal survives the client's error chain");
        assert_eq!(refused.kind, crate::egress::AddressKind::Loopback);
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
        // Allowed, the same name connects to exactly the address the resolver returned.
        let ok = clients.client(true).post(&url).send().await.unwrap();
        assert_eq!(ok.status().as_u16(), 204);
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
