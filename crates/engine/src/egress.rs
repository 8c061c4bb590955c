//! Where signed webhooks may connect. A webhook URL is written by the seller, but the request leaves from
//! inside the network shoprelay runs in: a URL, a DNS answer or a redirect pointing at loopback, the LAN
//! or a cloud metadata service would turn the webhook into a request forgery carrying our signature.
//!
//! Addresses are classified by [`AddressKind`]. Public ones are always allowed; loopback, private and
//! link-local ones only for a webhook with `allow_private_network = true`; unspecified, multicast,
//! reserved and cloud metadata addresses never. Names are checked in [`GuardedResolver`], which the
//! webhook client resolves through: the addresses it checks are the only ones the connection can use,
//! so a name that answers differently the second time (DNS rebinding) cannot slip past.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use shoprelay_core::error::UserFacing;

/// What kind of destination an IP address is, as far as webhooks are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// Reachable on the internet.
    Public,
    /// This machine (127.0.0.0/8, ::1).
    Loopback,
    /// A private network: RFC 1918, shared address space 100.64.0.0/10, fc00::/7, fec0::/10.
    Private,
    /// Link-local (169.254.0.0/16, fe80::/10).
    LinkLocal,
    /// A cloud provider's instance metadata service (169.254.169.254, fd00:ec2::254, 100.100.100.200).
    Metadata,
    /// 0.0.0.0/8 or `::`: connecting to it reaches this machine.
    Unspecified,
    /// Multicast, broadcast or reserved: never a webhook receiver.
    NotUnicast,
}

impl AddressKind {
    /// Classifies an address (IPv4-mapped and NAT64 IPv6 addresses as the IPv4 address they carry).
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::of_v4(v4),
            IpAddr::V6(v6) => Self::of_v6(v6),
        }
    }

    fn of_v4(ip: Ipv4Addr) -> Self {
        let [a, b, ..] = ip.octets();
        if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
            Self::Metadata
        } else if a == 0 {
            Self::Unspecified
        } else if ip.is_loopback() {
            Self::Loopback
        } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
            Self::Private
        } else if ip.is_link_local() {
            Self::LinkLocal
        } else if ip.is_multicast() || ip.is_broadcast() || a >= 240 {
            Self::NotUnicast
        } else {
            Self::Public
        }
    }

    fn of_v6(ip: Ipv6Addr) -> Self {
        if let Some(v4) = ip.to_ipv4_mapped() {
            return Self::of_v4(v4);
        }
        let seg = ip.segments();
        // NAT64 (64:ff9b::/96) reaches the IPv4 address in its last 32 bits.
        if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
            let [.., hi, lo] = seg;
            return Self::of_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
        }
        if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
            Self::Metadata
        } else if ip.is_unspecified() {
            Self::Unspecified
        } else if ip.is_loopback() {
            Self::Loopback
        } else if seg[0] & 0xfe00 == 0xfc00 || seg[0] & 0xffc0 == 0xfec0 {
            Self::Private
        } else if seg[0] & 0xffc0 == 0xfe80 {
            Self::LinkLocal
        } else if ip.is_multicast() {
            Self::NotUnicast
        } else {
            Self::Public
        }
    }

    /// Whether a webhook may connect to an address of this kind.
    pub fn allowed(self, allow_private_network: bool) -> bool {
        match self {
            Self::Public => true,
            Self::Loopback | Self::Private | Self::LinkLocal => allow_private_network,
            Self::Metadata | Self::Unspecified | Self::NotUnicast => false,
        }
    }

    fn en(self) -> &'static str {
        match self {
            Self::Public => "a public address",
            Self::Loopback => "a loopback address (this machine)",
            Self::Private => "a private network address",
            Self::LinkLocal => "a link-local address",
            Self::Metadata => "a cloud metadata service address",
            Self::Unspecified => "an unspecified address (this machine)",
            Self::NotUnicast => "a multicast, broadcast or reserved address",
        }
    }

    fn zh(self) -> &'static str {
        match self {
            Self::Public => "公网地址",
            Self::Loopback => "本机回环地址",
            Self::Private => "内网地址",
            Self::LinkLocal => "链路本地地址",
            Self::Metadata => "云服务器元数据服务地址",
            Self::Unspecified => "未指定地址（即本机）",
            Self::NotUnicast => "组播、广播或保留地址",
        }
    }
}

/// A webhook host that is, or resolves to, an address webhooks may not reach.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("webhook.address_refused: {host} is {ip}, {}", .kind.en())]
pub struct AddressRefused {
    /// The host as written in the URL.
    pub host: String,
    /// The address refused.
    pub ip: IpAddr,
    /// Why.
    pub kind: AddressKind,
}

impl AddressRefused {
    /// Whether `allow_private_network = true` would let this address through.
    fn allowable(&self) -> bool {
        self.kind.allowed(true)
    }

    /// "HOST" for an address written in the URL, "HOST (IP)" for a name.
    fn target(&self) -> String {
        if self.host.trim_matches(['[', ']']) == self.ip.to_string() {
            self.host.clone()
        } else {
            format!("{} ({})", self.host, self.ip)
        }
    }
}

impl UserFacing for AddressRefused {
    fn code(&self) -> &'static str {
        "webhook.address_refused"
    }

    fn status(&self) -> u16 {
        400
    }

    fn message_zh(&self) -> String {
        let fix = if self.allowable() {
            "如确需发往内网系统，请在该 [[webhooks]] 中设置 allow_private_network = true"
        } else {
            "Webhook 永远不会发往此类地址，请改用接收系统的公网地址"
        };
        format!(
            "Webhook 地址 {} 是{}，为防止请求伪造已拒绝；{fix}",
            self.target(),
            self.kind.zh()
        )
    }

    fn message_en(&self) -> String {
        let fix = if self.allowable() {
            "if the receiver really is on your private network, set allow_private_network = true on this [[webhooks]] entry"
        } else {
            "webhooks never go to such addresses; use the receiver's public address"
        };
        format!(
            "The webhook address {} is {}: refused to prevent request forgery; {fix}",
            self.target(),
            self.kind.en()
        )
    }
}

/// Checks every address a host resolved to; one refused address refuses the host, since a name that
/// answers with an internal address is either misconfigured or an attack.
pub fn admit(host: &str, addrs: &[IpAddr], allow_private_network: bool) -> Result<(), AddressRefused> {
    match addrs
        .iter()
        .find(|ip| !AddressKind::of(**ip).allowed(allow_private_network))
    {
        Some(ip) => Err(AddressRefused {
            host: host.to_owned(),
            ip: *ip,
            kind: AddressKind::of(*ip),
        }),
        None => Ok(()),
    }
}

/// The IP address a URL's host is written as, when it is one (the client connects to it without
/// resolving, so it is checked before sending).
pub fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// The address-refusal inside a client error, when that is what failed.
pub fn refusal_of<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a AddressRefused> {
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(refused) = e.downcast_ref::<AddressRefused>() {
            return Some(refused);
        }
        cause = e.source();
    }
    None
}

/// Resolves a host name to addresses.
pub type Lookup =
    Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> + Send + Sync>;

/// The system resolver (getaddrinfo, off the async threads).
pub fn system_lookup() -> Lookup {
    Arc::new(|host: String| {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    })
}

/// The webhook client's resolver: resolves, then hands the connection only addresses that passed.
pub struct GuardedResolver {
    lookup: Lookup,
    allow_private_network: bool,
}

impl GuardedResolver {
    /// A resolver over `lookup` admitting private addresses only when allowed.
    pub fn new(lookup: Lookup, allow_private_network: bool) -> Self {
        Self {
            lookup,
            allow_private_network,
        }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = self.lookup.clone();
        let allow = self.allow_private_network;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let ips = lookup(host.clone()).await?;
            admit(&host, &ips, allow)?;
            let addrs: Addrs = Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn kind(s: &str) -> AddressKind {
        AddressKind::of(s.parse().unwrap())
    }

    #[test]
    fn classifies_the_ranges_a_forged_webhook_would_aim_at() {
        for (ip, expected) in [
            ("93.184.216.34", AddressKind::Public),
            ("2606:2800:220:1:248:1893:25c8:1946", AddressKind::Public),
            ("127.0.0.1", AddressKind::Loopback),
            ("127.8.9.10", AddressKind::Loopback),
            ("::1", AddressKind::Loopback),
            ("::ffff:127.0.0.1", AddressKind::Loopback),
            ("64:ff9b::7f00:1", AddressKind::Loopback),
            ("10.0.0.1", AddressKind::Private),
            ("172.16.5.4", AddressKind::Private),
            ("192.168.1.1", AddressKind::Private),
            ("100.64.0.1", AddressKind::Private),
            ("fd12:3456::1", AddressKind::Private),
            ("169.254.1.1", AddressKind::LinkLocal),
            ("fe80::1", AddressKind::LinkLocal),
            ("169.254.169.254", AddressKind::Metadata),
            ("::ffff:169.254.169.254", AddressKind::Metadata),
            ("fd00:ec2::254", AddressKind::Metadata),
            ("100.100.100.200", AddressKind::Metadata),
            ("0.0.0.0", AddressKind::Unspecified),
            ("::", AddressKind::Unspecified),
            ("224.0.0.1", AddressKind::NotUnicast),
            ("255.255.255.255", AddressKind::NotUnicast),
            ("ff02::1", AddressKind::NotUnicast),
        ] {
            assert_eq!(kind(ip), expected, "{ip}");
        }
        assert!(
            !AddressKind::Metadata.allowed(true),
            "metadata stays refused when allowed"
        );
        assert!(AddressKind::Loopback.allowed(true) && !AddressKind::Loopback.allowed(false));
    }

    #[tokio::test]
    async fn a_rebinding_name_is_refused_when_it_turns_internal() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        // Public the first time, loopback the second: what a rebinding attacker's DNS answers.
        let lookup: Lookup = Arc::new(move |_host| {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                let ip = if n == 0 { "93.184.216.34" } else { "127.0.0.1" };
                Ok(vec![ip.parse().unwrap()])
            })
        });
        let resolver = GuardedResolver::new(lookup, false);
        let first: Vec<SocketAddr> = resolver
            .resolve("wms.example".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(first, vec!["93.184.216.34:0".parse().unwrap()]);
        let second = resolver.resolve("wms.example".parse().unwrap()).await.err().unwrap();
        let refused = refusal_of(second.as_ref()).unwrap();
        assert_eq!(refused.kind, AddressKind::Loopback);
        assert_eq!(refused.host, "wms.example");
    }

    #[tokio::test]
    async fn one_internal_answer_among_public_ones_refuses_the_name() {
        let lookup: Lookup = Arc::new(|_host| {
            Box::pin(async { Ok(vec!["93.184.216.34".parse().unwrap(), "10.1.2.3".parse().unwrap()]) })
        });
        let err = GuardedResolver::new(lookup, false)
            .resolve("wms.example".parse().unwrap())
            .await
            .err()
            .unwrap();
        assert_eq!(refusal_of(err.as_ref()).unwrap().kind, AddressKind::Private);
    }
}
