//! The data policy: which of a buyer's personal fields a shop lets out of the marketplace API, and how
//! they are shown. By default none is: an order carries its number, the buyer's nickname, items, pay
//! time, status and amounts. Phone, address, real name and e-mail are kept only after an admin accepted
//! the sensitive-information commitment for that shop, and messages show them masked unless a rule asks
//! for full values for named people.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use shoprelay_clock::UnixMs;
use thiserror::Error;

use crate::error::UserFacing;
use crate::event::Event;
use crate::order::{OrderSnapshot, Recipient, RecipientAddress};

/// The version of the commitment text an admin accepts; a new text means a new version, and a policy
/// accepted under an older one keeps working (what was agreed is recorded with it).
pub const COMMITMENT_VERSION: &str = "2026-11";

/// The sensitive-information commitment an admin accepts before any personal field is kept, in Chinese.
pub const COMMITMENT_ZH: &str = "敏感个人信息处理承诺（版本 2026-11）\n\
1. 本店铺仅为履行订单（发货、售后、联系买家）之目的处理买家的手机号、收货地址、真实姓名和电子邮箱；\n\
2. 仅向确有需要的指定成员或系统展示完整信息，其余场景一律脱敏展示；\n\
3. 不将上述信息用于营销，不向第三方提供，按配置的保存期限到期删除；\n\
4. 买家要求删除其信息时，通过 shoprelay buyers forget 及时删除；\n\
5. 遵守《个人信息保护法》、GDPR 及各市场平台的数据使用规则，并对本店铺成员的使用行为负责。";

/// The same commitment in English.
pub const COMMITMENT_EN: &str = "Sensitive personal information commitment (version 2026-11)\n\
1. This shop processes buyers' phone numbers, shipping addresses, real names and e-mail addresses only to \
fulfil orders (shipping, after-sales, contacting the buyer).\n\
2. Full values are shown only to the named members or systems that need them; everywhere else they are masked.\n\
3. They are never used for marketing, never given to third parties, and deleted when the configured retention \
period ends.\n\
4. When a buyer asks for their data to be deleted, it is deleted promptly with `shoprelay buyers forget`.\n\
5. The shop complies with China's PIPL, the GDPR and each marketplace's data rules, and answers for how its \
members use the data.";

/// A personal field that is off unless the shop's policy turns it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SensitiveField {
    /// The recipient's phone number.
    Phone,
    /// The shipping address.
    Address,
    /// The recipient's real name.
    Name,
    /// The buyer's e-mail address (where the marketplace gives one).
    Email,
}

impl SensitiveField {
    /// Every sensitive field, in display order.
    pub const ALL: [SensitiveField; 4] = [Self::Phone, Self::Address, Self::Name, Self::Email];

    /// The field's name as configuration and the API spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Address => "address",
            Self::Name => "name",
            Self::Email => "email",
        }
    }

    /// Parses a field name (`phone`, `address`, `name`, `email`).
    pub fn parse(raw: &str) -> Result<Self, PolicyError> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == raw.trim())
            .ok_or_else(|| PolicyError::UnknownField(raw.to_owned()))
    }
}

impl fmt::Display for SensitiveField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who accepted the commitment, when, and which text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Acceptance {
    /// The admin who accepted, as they named themselves.
    pub by: String,
    /// When they accepted.
    #[schema(value_type = i64)]
    pub at: UnixMs,
    /// [`COMMITMENT_VERSION`] at the time.
    pub version: String,
}

/// A shop's data policy: the sensitive fields it keeps, and the acceptance that allows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldPolicy {
    /// Sensitive fields kept; empty by default.
    pub fields: BTreeSet<SensitiveField>,
    /// The commitment acceptance; present whenever `fields` is not empty.
    pub accepted: Option<Acceptance>,
}

impl FieldPolicy {
    /// The default: no sensitive field.
    pub fn minimal() -> Self {
        Self::default()
    }

    /// A policy keeping `fields`; refused unless the current commitment was accepted by a named admin.
    pub fn new(fields: BTreeSet<SensitiveField>, accepted: Option<Acceptance>) -> Result<Self, PolicyError> {
        if fields.is_empty() {
            return Ok(Self::minimal());
        }
        match accepted {
            None => Err(PolicyError::CommitmentRequired),
            Some(a) if a.by.trim().is_empty() => Err(PolicyError::AcceptedByMissing),
            Some(a) if a.version != COMMITMENT_VERSION => Err(PolicyError::CommitmentOutdated(a.version)),
            Some(a) => Ok(Self {
                fields,
                accepted: Some(a),
            }),
        }
    }

    /// Whether the policy keeps `field`.
    pub fn allows(&self, field: SensitiveField) -> bool {
        self.fields.contains(&field)
    }

    /// Whether an order lookup should ask the marketplace for the recipient at all.
    pub fn wants_recipient(&self) -> bool {
        !self.fields.is_empty()
    }

    /// Drops from `order` every personal field the policy does not keep.
    pub fn apply(&self, order: &mut OrderSnapshot) {
        let Some(r) = order.recipient.as_mut() else {
            return;
        };
        if !self.allows(SensitiveField::Phone) {
            r.phone = None;
        }
        if !self.allows(SensitiveField::Name) {
            r.name = None;
        }
        if !self.allows(SensitiveField::Email) {
            r.email = None;
        }
        if !self.allows(SensitiveField::Address) {
            r.address = None;
        }
        if r.is_empty() {
            order.recipient = None;
        }
    }
}

/// How a message shows personal fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Display {
    /// Masked: `138****1234`, the address reduced to its district. The default.
    #[default]
    Masked,
    /// Full values, for rules whose every target names people or the seller's own system.
    Full,
}

/// The order as a message under [`Display::Masked`] shows it.
pub fn masked(order: &OrderSnapshot) -> OrderSnapshot {
    let mut out = order.clone();
    if let Some(r) = out.recipient.as_mut() {
        r.phone = r.phone.as_deref().map(mask_phone);
        r.name = r.name.as_deref().map(mask_name);
        r.email = r.email.as_deref().map(mask_email);
        r.address = r.address.as_ref().and_then(district_only);
    }
    out
}

/// The event as a [`Display::Masked`] message shows it; `None` when it holds no personal field, so the
/// event itself can be used as it is.
pub fn masked_event(event: &Event) -> Option<Event> {
    let order = event.order.as_ref().filter(|o| o.recipient.is_some())?;
    Some(Event {
        order: Some(masked(order)),
        ..event.clone()
    })
}

/// `13812341234` → `138****1234`; shorter numbers keep only their last two digits. A number the
/// marketplace already masked (`******64`) stays as it is.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.trim().chars().collect();
    if chars.contains(&'*') {
        return chars.into_iter().collect();
    }
    let n = chars.len();
    if n >= 8 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[n - 4..].iter().collect();
        format!("{head}****{tail}")
    } else if n >= 4 {
        let tail: String = chars[n - 2..].iter().collect();
        format!("****{tail}")
    } else {
        "****".to_owned()
    }
}

/// `张三丰` → `张**`, `Jane Doe` → `J*******`: the first character and as many stars as the rest.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// `jane.doe@example.com` → `j***@example.com`.
pub fn mask_email(email: &str) -> String {
    match email.trim().split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => mask_name(email),
    }
}

/// The address reduced to its district, city, state and region: the street, house number, zip code and
/// full text are dropped. `None` when nothing coarser than the street is known.
pub fn district_only(address: &RecipientAddress) -> Option<RecipientAddress> {
    let coarse = RecipientAddress {
        full_address: None,
        town: None,
        zipcode: None,
        district: address.district.clone(),
        city: address.city.clone(),
        state: address.state.clone(),
        region: address.region.clone(),
    };
    (!coarse.is_empty()).then_some(coarse)
}

impl Recipient {
    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.phone.is_none() && self.email.is_none() && self.address.is_none()
    }
}

/// A data policy request that cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    /// A field name that is not one of the sensitive fields.
    #[error("unknown personal field `{0}`")]
    UnknownField(String),
    /// Sensitive fields without an accepted commitment.
    #[error("the sensitive-information commitment must be accepted first")]
    CommitmentRequired,
    /// An acceptance that names nobody.
    #[error("the commitment acceptance must name the admin who accepts it")]
    AcceptedByMissing,
    /// An acceptance of a commitment text that is not the current one.
    #[error("commitment version {0} is not the current one")]
    CommitmentOutdated(String),
}

impl UserFacing for PolicyError {
    fn code(&self) -> &'static str {
        match self {
            Self::UnknownField(_) => "policy.unknown_field",
            Self::CommitmentRequired => "policy.commitment_required",
            Self::AcceptedByMissing => "policy.accepted_by_missing",
            Self::CommitmentOutdated(_) => "policy.commitment_outdated",
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::CommitmentRequired | Self::CommitmentOutdated(_) => 409,
            Self::UnknownField(_) | Self::AcceptedByMissing => 400,
        }
    }

    fn message_zh(&self) -> String {
        match self {
            Self::UnknownField(f) => {
                format!("未知的个人信息字段「{f}」：可选 phone（手机号）、address（地址）、name（姓名）、email（邮箱）。")
            }
            Self::CommitmentRequired => format!(
                "开启敏感字段前，管理员须先接受《敏感个人信息处理承诺》（版本 {COMMITMENT_VERSION}）：用 shoprelay shops policy --show-commitment 阅读，再加 --accept-commitment {COMMITMENT_VERSION} --by <姓名> 开启。"
            ),
            Self::AcceptedByMissing => "请用 --by（或 API 的 accepted_by）写明接受承诺的管理员姓名。".to_owned(),
            Self::CommitmentOutdated(v) => format!(
                "承诺版本 {v} 不是当前版本 {COMMITMENT_VERSION}：请阅读当前承诺文本后重新接受。"
            ),
        }
    }

    fn message_en(&self) -> String {
        match self {
            Self::UnknownField(f) => format!("Unknown personal field `{f}`: use phone, address, name or email."),
            Self::CommitmentRequired => format!(
                "Before turning on a sensitive field an admin must accept the sensitive-information commitment (version {COMMITMENT_VERSION}): read it with `shoprelay shops policy --show-commitment`, then add `--accept-commitment {COMMITMENT_VERSION} --by <name>`."
            ),
            Self::AcceptedByMissing => {
                "Name the admin who accepts the commitment with --by (accepted_by in the API).".to_owned()
            }
            Self::CommitmentOutdated(v) => format!(
                "Commitment version {v} is not the current version {COMMITMENT_VERSION}: read the current text and accept it again."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::OrderSn;
    use crate::order::OrderStatus;

    fn order_with_recipient() -> OrderSnapshot {
        let mut order = OrderSnapshot::bare(
            OrderSn::parse("2201010ABC").unwrap(),
            OrderStatus::new(crate::order::OrderStage::ToShip, "READY_TO_SHIP"),
        );
        order.recipient = Some(Recipient {
            name: Some("张三丰".into()),
            phone: Some("13812341234".into()),
            email: Some("jane.doe@example.com".into()),
            address: Some(RecipientAddress {
                full_address: Some("上海市浦东新区世纪大道100号 8楼".into()),
                town: Some("陆家嘴街道".into()),
                district: Some("浦东新区".into()),
                city: Some("上海市".into()),
                state: Some("上海".into()),
                region: Some("CN".into()),
                zipcode: Some("200120".into()),
            }),
        });
        order
    }

    fn accepted() -> Option<Acceptance> {
        Some(Acceptance {
            by: "王经理".into(),
            at: UnixMs::from_millis(1),
            version: COMMITMENT_VERSION.into(),
        })
    }

    #[test]
    fn the_default_keeps_no_personal_field() {
        let mut order = order_with_recipient();
        FieldPolicy::minimal().apply(&mut order);
        assert_eq!(order.recipient, None);
    }

    #[test]
    fn a_policy_keeps_only_the_fields_it_names() {
        let mut order = order_with_recipient();
        let policy = FieldPolicy::new([SensitiveField::Phone].into(), accepted()).unwrap();
        policy.apply(&mut order);
        let r = order.recipient.unwrap();
        assert_eq!(r.phone.as_deref(), Some("13812341234"));
        assert_eq!((r.name, r.email, r.address), (None, None, None));
    }

    #[test]
    fn sensitive_fields_need_a_current_named_acceptance() {
        let fields: BTreeSet<_> = [SensitiveField::Address].into();
        assert_eq!(
            FieldPolicy::new(fields.clone(), None),
            Err(PolicyError::CommitmentRequired)
        );
        let nobody = Acceptance {
            by: " ".into(),
            at: UnixMs::from_millis(1),
            version: COMMITMENT_VERSION.into(),
        };
        assert_eq!(
            FieldPolicy::new(fields.clone(), Some(nobody)),
            Err(PolicyError::AcceptedByMissing)
        );
        let old = Acceptance {
            by: "王经理".into(),
            at: UnixMs::from_millis(1),
            version: "2020-01".into(),
        };
        assert_eq!(
            FieldPolicy::new(fields, Some(old)),
            Err(PolicyError::CommitmentOutdated("2020-01".into()))
        );
        assert_eq!(FieldPolicy::new(BTreeSet::new(), None), Ok(FieldPolicy::minimal()));
    }

    #[test]
    fn masking_hides_all_but_what_identifies_the_parcel() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("+6591234567"), "+65****4567");
        assert_eq!(mask_phone("91234"), "****34");
        assert_eq!(mask_phone("12"), "****");
        assert_eq!(mask_phone("******64"), "******64");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("Jane Doe"), "J*******");
        assert_eq!(mask_email("jane.doe@example.com"), "j***@example.com");

        let masked = masked(&order_with_recipient());
        let r = masked.recipient.unwrap();
        assert_eq!(r.phone.as_deref(), Some("138****1234"));
        assert_eq!(r.name.as_deref(), Some("张**"));
        let address = r.address.unwrap();
        assert_eq!(address.full_address, None);
        assert_eq!(address.town, None);
        assert_eq!(address.zipcode, None);
        assert_eq!(address.district.as_deref(), Some("浦东新区"));
        assert_eq!(address.city.as_deref(), Some("上海市"));
    }

    #[test]
    fn field_names_parse_strictly() {
        assert_eq!(SensitiveField::parse("phone"), Ok(SensitiveField::Phone));
        assert_eq!(
            SensitiveField::parse("id_card"),
            Err(PolicyError::UnknownField("id_card".into()))
        );
    }
}
