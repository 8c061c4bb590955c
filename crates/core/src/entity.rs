//! The entity consistency check (主体一致性): the company on the shop's business licence must be the
//! company WeCom verified, or WeCom's customer-contact features and the marketplace's KYC do not line up.
//!
//! What is not a real difference is folded away first ([`normalize`]): full-width and half-width forms,
//! every kind of space, `（）` vs `()`, ASCII letter case. What is left is a real difference and is named
//! ([`MismatchKind`]): another company form (「有限公司」 vs 「有限责任公司」), a branch suffix (「…广州分公司」),
//! one character missing or extra, or simply another name — with a character-level diff and the fix (which
//! side to change, to what). Pure: the facts come from the caller.

use serde::Serialize;

use crate::error::UserFacing;

/// Longest name compared; longer input is cut there (a licence name is far shorter), bounding the diff's
/// quadratic work.
pub const MAX_NAME_CHARS: usize = 200;

/// Company forms, longest first, so 「股份有限公司」 is not read as 「有限公司」 with 「股份」 in the name.
const COMPANY_FORMS: [&str; 3] = ["股份有限公司", "有限责任公司", "有限公司"];

/// Words that end the name of a branch (a branch is a different 主体 from its head office).
const BRANCH_MARKS: [&str; 5] = ["分公司", "分店", "办事处", "营业部", "分部"];

/// Folds what is not a real difference: full-width ASCII forms (letters, digits, `（）`) to half-width,
/// every space (the ideographic one too) and invisible character removed, ASCII letters upper-cased.
pub fn normalize(name: &str) -> String {
    name.chars()
        .take(MAX_NAME_CHARS)
        .filter_map(|c| {
            let c = match c {
                // The full-width block mirrors ASCII 0x21–0x7E at a fixed offset.
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0)?,
                c => c,
            };
            let invisible = matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}');
            (!c.is_whitespace() && !invisible).then(|| c.to_ascii_uppercase())
        })
        .collect()
}

/// Which side a piece of the diff belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffOp {
    /// In both names.
    Same,
    /// Only in the shop's name.
    OnlyShop,
    /// Only in the WeCom company's name.
    OnlyWeCom,
}

/// A run of characters of one [`DiffOp`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffPart {
    /// Where the run is.
    pub op: DiffOp,
    /// The characters.
    pub text: String,
}

/// A character-level diff of two (normalized) names: the longest common subsequence kept as `Same`,
/// the rest attributed to the side it came from.
pub fn diff(shop: &str, wecom: &str) -> Vec<DiffPart> {
    let a: Vec<char> = shop.chars().take(MAX_NAME_CHARS).collect();
    let b: Vec<char> = wecom.chars().take(MAX_NAME_CHARS).collect();
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut parts: Vec<DiffPart> = Vec::new();
    let mut push = |op: DiffOp, c: char| match parts.last_mut() {
        Some(last) if last.op == op => last.text.push(c),
        _ => parts.push(DiffPart {
            op,
            text: c.to_string(),
        }),
    };
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            push(DiffOp::Same, a[i]);
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            push(DiffOp::OnlyWeCom, b[j]);
            j += 1;
        } else {
            push(DiffOp::OnlyShop, a[i]);
            i += 1;
        }
    }
    parts
}

/// One of the two sides compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The shop: its business licence as the marketplace knows it, recorded as `legal_entity`.
    Shop,
    /// The WeCom company, as WeCom verified it.
    WeCom,
}

/// What kind of real difference two names have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MismatchKind {
    /// The same name with another company form (「有限公司」 vs 「有限责任公司」).
    CompanyForm {
        /// The shop's form.
        shop: String,
        /// The WeCom company's form.
        wecom: String,
    },
    /// One side is a branch of the other (「…广州分公司」).
    BranchSuffix {
        /// The side that names the branch.
        branch: Side,
        /// What that side adds.
        suffix: String,
    },
    /// One character more on one side.
    ExtraCharacter {
        /// The side with the character.
        side: Side,
        /// The character.
        character: char,
    },
    /// Otherwise different names.
    Different,
    /// Two amounts of registered capital that are not the same sum (「100万元」 and 「1,000,000」 are).
    Amount,
}

/// Which field of the licence differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The company name (主体名称).
    CompanyName,
    /// The legal representative (法定代表人).
    LegalRepresentative,
    /// The registered capital (注册资本).
    RegisteredCapital,
}

/// The change that makes the two sides agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// The side to change.
    pub change: Side,
    /// What it must read afterwards.
    pub to: String,
}

/// Two names that differ for real.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// Which field.
    pub field: Field,
    /// What kind of difference.
    pub kind: MismatchKind,
    /// The shop's value, as entered.
    pub shop: String,
    /// The WeCom company's value, as entered.
    pub wecom: String,
    /// Character-level diff of the normalized values.
    pub diff: Vec<DiffPart>,
    /// How to make them agree.
    pub fix: Fix,
}

/// The company form a normalized name ends with, and the name before it.
fn split_form(name: &str) -> Option<(&str, &'static str)> {
    COMPANY_FORMS
        .iter()
        .find_map(|form| name.strip_suffix(form).map(|base| (base, *form)))
}

/// The branch part `longer` adds to `shorter`, when it is one.
fn branch_suffix<'a>(shorter: &str, longer: &'a str) -> Option<&'a str> {
    let rest = longer.strip_prefix(shorter)?;
    BRANCH_MARKS.iter().any(|m| rest.ends_with(m)).then_some(rest)
}

fn classify(a: &str, b: &str, diff: &[DiffPart]) -> MismatchKind {
    if let (Some((base_a, form_a)), Some((base_b, form_b))) = (split_form(a), split_form(b)) {
        if base_a == base_b && form_a != form_b {
            return MismatchKind::CompanyForm {
                shop: form_a.into(),
                wecom: form_b.into(),
            };
        }
    }
    if let Some(suffix) = branch_suffix(b, a) {
        return MismatchKind::BranchSuffix {
            branch: Side::Shop,
            suffix: suffix.into(),
        };
    }
    if let Some(suffix) = branch_suffix(a, b) {
        return MismatchKind::BranchSuffix {
            branch: Side::WeCom,
            suffix: suffix.into(),
        };
    }
    let only: Vec<&DiffPart> = diff.iter().filter(|p| p.op != DiffOp::Same).collect();
    if let [one] = only.as_slice() {
        let mut chars = one.text.chars();
        if let (Some(character), None) = (chars.next(), chars.next()) {
            let side = if one.op == DiffOp::OnlyShop {
                Side::Shop
            } else {
                Side::WeCom
            };
            return MismatchKind::ExtraCharacter { side, character };
        }
    }
    MismatchKind::Different
}

/// Compares one field of both sides; `None` when they agree once normalized. `wecom_verified` decides
/// the fix: a verified WeCom name was read off a licence by WeCom, so the shop's record is the one to
/// correct — except where WeCom's side is a branch, whose company must be verified with the head office's
/// licence; an unverified WeCom company is to be verified with the shop's licence.
pub fn compare(field: Field, shop: &str, wecom: &str, wecom_verified: bool) -> Option<Mismatch> {
    let (a, b) = (normalize(shop), normalize(wecom));
    if a == b {
        return None;
    }
    let parts = diff(&a, &b);
    let kind = classify(&a, &b, &parts);
    let change = match &kind {
        _ if !wecom_verified => Side::WeCom,
        MismatchKind::BranchSuffix { branch, .. } => *branch,
        _ => Side::Shop,
    };
    let to = match change {
        Side::Shop => wecom.trim().to_owned(),
        Side::WeCom => shop.trim().to_owned(),
    };
    Some(Mismatch {
        field,
        kind,
        shop: shop.to_owned(),
        wecom: wecom.to_owned(),
        diff: parts,
        fix: Fix { change, to },
    })
}

/// A registered capital in fen (0.01 yuan): digits with an optional decimal part, then an optional
/// 万 or 亿, wrapped in what says the currency (「人民币」, 「元」, `RMB`, `CNY`) and thousands separators.
/// `None` when it is not such an amount.
pub fn capital_fen(text: &str) -> Option<u128> {
    let mut s = normalize(text);
    for noise in ["人民币", "RMB", "CNY", "¥", "￥", ","] {
        s = s.replace(noise, "");
    }
    let s = s.strip_suffix('元').unwrap_or(&s);
    let (number, unit) = match s.strip_suffix('万') {
        Some(n) => (n, 10_000u128),
        None => match s.strip_suffix('亿') {
            Some(n) => (n, 100_000_000u128),
            None => (s, 1u128),
        },
    };
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = |d: &str| !d.is_empty() && d.len() <= 20 && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(frac.is_empty() || digits(frac)) || frac.len() > 10 {
        return None;
    }
    // Fen of the unit, times the number written with its decimals: exact, with no float.
    let scale = 10u128.pow(u32::try_from(frac.len()).ok()?);
    let mantissa: u128 = format!("{whole}{frac}").parse().ok()?;
    let fen = mantissa.checked_mul(unit)?.checked_mul(100)?;
    (fen % scale == 0).then_some(fen / scale)
}

/// Compares the registered capital of both sides: the same sum however written is no difference; two
/// sums, or text that is not a sum, are compared as written.
pub fn compare_capital(shop: &str, wecom: &str, wecom_verified: bool) -> Option<Mismatch> {
    match (capital_fen(shop), capital_fen(wecom)) {
        (Some(a), Some(b)) if a == b => None,
        (Some(_), Some(_)) => {
            let mut m = compare(Field::RegisteredCapital, shop, wecom, wecom_verified)?;
            m.kind = MismatchKind::Amount;
            Some(m)
        }
        _ => compare(Field::RegisteredCapital, shop, wecom, wecom_verified),
    }
}

/// Where the shop stands with its marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ShopState {
    /// Authorized and trading.
    Active,
    /// Not authorized (never, or the authorization lapsed or was revoked).
    Inactive,
    /// Frozen by the marketplace.
    Frozen,
}

/// What the check compares.
#[derive(Debug, Clone, Default)]
pub struct EntityFacts {
    /// The company on the shop's business licence (`legal_entity`).
    pub shop_name: Option<String>,
    /// The WeCom company's verified name (主体名称 in WeCom's admin console, 我的企业 › 企业信息).
    pub wecom_name: Option<String>,
    /// Whether WeCom verified the company (企业认证).
    pub wecom_verified: bool,
    /// The shop's legal representative, when entered.
    pub shop_representative: Option<String>,
    /// The WeCom company's legal representative, when entered.
    pub wecom_representative: Option<String>,
    /// The registered capital on the shop's licence, when entered.
    pub shop_capital: Option<String>,
    /// The WeCom company's registered capital, when entered.
    pub wecom_capital: Option<String>,
    /// Where the shop stands.
    pub shop_state: Option<ShopState>,
}

/// A reason the shop and the WeCom company do not line up, with what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "problem")]
pub enum EntityProblem {
    /// No licence name is recorded for the shop.
    ShopEntityMissing,
    /// No verified name is recorded for the WeCom company.
    WeComEntityMissing,
    /// The two sides name different companies (or representatives).
    Mismatch(Box<Mismatch>),
    /// The WeCom company is not verified.
    WeComUnverified,
    /// The shop is not authorized.
    ShopInactive,
    /// The marketplace froze the shop.
    ShopFrozen,
}

/// Every problem the facts show, the blocking ones (the shop's state, verification) first. Empty: consistent.
pub fn check(facts: &EntityFacts) -> Vec<EntityProblem> {
    let mut problems = Vec::new();
    match facts.shop_state {
        Some(ShopState::Inactive) => problems.push(EntityProblem::ShopInactive),
        Some(ShopState::Frozen) => problems.push(EntityProblem::ShopFrozen),
        _ => {}
    }
    if !facts.wecom_verified {
        problems.push(EntityProblem::WeComUnverified);
    }
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let (shop, wecom) = (given(&facts.shop_name), given(&facts.wecom_name));
    if shop.is_none() {
        problems.push(EntityProblem::ShopEntityMissing);
    }
    if wecom.is_none() {
        problems.push(EntityProblem::WeComEntityMissing);
    }
    if let (Some(shop), Some(wecom)) = (shop, wecom) {
        if let Some(m) = compare(Field::CompanyName, &shop, &wecom, facts.wecom_verified) {
            problems.push(EntityProblem::Mismatch(Box::new(m)));
        }
    }
    // The representative is compared only where both sides entered one (the seed asks for it "where entered").
    if let (Some(shop), Some(wecom)) = (given(&facts.shop_representative), given(&facts.wecom_representative)) {
        if let Some(m) = compare(Field::LegalRepresentative, &shop, &wecom, facts.wecom_verified) {
            problems.push(EntityProblem::Mismatch(Box::new(m)));
        }
    }
    if let (Some(shop), Some(wecom)) = (given(&facts.shop_capital), given(&facts.wecom_capital)) {
        if let Some(m) = compare_capital(&shop, &wecom, facts.wecom_verified) {
            problems.push(EntityProblem::Mismatch(Box::new(m)));
        }
    }
    problems
}

fn side_zh(side: Side) -> &'static str {
    match side {
        Side::Shop => "店铺一侧",
        Side::WeCom => "企业微信一侧",
    }
}

fn side_en(side: Side) -> &'static str {
    match side {
        Side::Shop => "the shop's side",
        Side::WeCom => "the WeCom side",
    }
}

fn field_zh(field: Field) -> &'static str {
    match field {
        Field::CompanyName => "主体名称",
        Field::LegalRepresentative => "法定代表人",
        Field::RegisteredCapital => "注册资本",
    }
}

fn field_en(field: Field) -> &'static str {
    match field {
        Field::CompanyName => "company name",
        Field::LegalRepresentative => "legal representative",
        Field::RegisteredCapital => "registered capital",
    }
}

impl UserFacing for EntityProblem {
    fn code(&self) -> &'static str {
        match self {
            Self::ShopEntityMissing => "ERR_ENTITY_MISSING",
            Self::WeComEntityMissing => "ERR_WECOM_ENTITY_MISSING",
            Self::Mismatch(_) => "ERR_AUTH_MISMATCH",
            Self::WeComUnverified => "ERR_WECOM_UNVERIFIED",
            Self::ShopInactive => "ERR_SHOP_INACTIVE",
            Self::ShopFrozen => "ERR_SHOP_FROZEN",
        }
    }

    fn status(&self) -> u16 {
        422
    }

    fn message_zh(&self) -> String {
        match self {
            Self::ShopEntityMissing => {
                "未填写店铺营业执照上的主体名称：请在下方填写（与店铺在平台卖家中心登记的营业执照一致）".into()
            }
            Self::WeComEntityMissing => {
                "未填写企业微信的认证主体名称：请在企业微信管理后台「我的企业 › 企业信息」查看后填写".into()
            }
            Self::Mismatch(m) => {
                let what = match &m.kind {
                    MismatchKind::CompanyForm { shop, wecom } => {
                        format!("公司类型不同（店铺为「{shop}」，企业微信为「{wecom}」）")
                    }
                    MismatchKind::BranchSuffix { branch, suffix } => {
                        format!("{}多出分支机构「{suffix}」，分公司与总公司是不同主体", side_zh(*branch))
                    }
                    MismatchKind::ExtraCharacter { side, character } => {
                        format!("{}多一个字「{character}」", side_zh(*side))
                    }
                    MismatchKind::Different => "两者不是同一名称".into(),
                    MismatchKind::Amount => "金额不同".into(),
                };
                let fix = match m.fix.change {
                    Side::Shop => format!(
                        "请核对店铺营业执照：若执照上是「{}」，请将店铺主体改为该名称；否则须以同一主体重新认证企业微信",
                        m.fix.to
                    ),
                    Side::WeCom => format!("请以「{}」的营业执照认证（或重新认证）企业微信", m.fix.to),
                };
                format!(
                    "{}不一致：店铺「{}」与企业微信「{}」——{what}。修改{}：{fix}",
                    field_zh(m.field),
                    m.shop,
                    m.wecom,
                    side_zh(m.fix.change)
                )
            }
            Self::WeComUnverified => {
                "企业微信尚未完成企业认证：请在管理后台「我的企业 › 企业信息」用店铺营业执照完成认证，\
                 否则客户联系等功能受限、主体无法核对"
                    .into()
            }
            Self::ShopInactive => "店铺未授权或授权已失效：请在接入向导中重新授权店铺".into(),
            Self::ShopFrozen => "店铺已被平台冻结：请先在该平台的卖家中心处理冻结原因".into(),
        }
    }

    fn message_en(&self) -> String {
        match self {
            Self::ShopEntityMissing => "The company on the shop's business licence is not recorded: enter it below \
                                        (as registered in the marketplace's seller centre)"
                .into(),
            Self::WeComEntityMissing => "The WeCom company's verified name is not recorded: find it in WeCom's \
                                         admin console (My company › Company info) and enter it"
                .into(),
            Self::Mismatch(m) => {
                let what = match &m.kind {
                    MismatchKind::CompanyForm { shop, wecom } => {
                        format!("another company form (shop `{shop}`, WeCom `{wecom}`)")
                    }
                    MismatchKind::BranchSuffix { branch, suffix } => format!(
                        "{} names a branch (`{suffix}`), a different entity from its head office",
                        side_en(*branch)
                    ),
                    MismatchKind::ExtraCharacter { side, character } => {
                        format!("{} has one more character, `{character}`", side_en(*side))
                    }
                    MismatchKind::Different => "they are different names".into(),
                    MismatchKind::Amount => "they are different sums".into(),
                };
                let fix = match m.fix.change {
                    Side::Shop => format!(
                        "check the shop's licence: if it reads `{}`, correct the shop's entity to it; otherwise \
                         verify WeCom again with the same entity",
                        m.fix.to
                    ),
                    Side::WeCom => format!(
                        "verify (or re-verify) the WeCom company with the licence of `{}`",
                        m.fix.to
                    ),
                };
                format!(
                    "The {} differs: shop `{}`, WeCom `{}` — {what}. Change {}: {fix}",
                    field_en(m.field),
                    m.shop,
                    m.wecom,
                    side_en(m.fix.change)
                )
            }
            Self::WeComUnverified => "The WeCom company is not verified: verify it with the shop's business licence \
                                      (admin console › My company › Company info); until then customer contact is \
                                      limited and the entity cannot be checked"
                .into(),
            Self::ShopInactive => "The shop is not authorized, or its authorization lapsed: authorize it again in \
                                   the onboarding wizard"
                .into(),
            Self::ShopFrozen => "The marketplace froze the shop: resolve the freeze in its seller centre first".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NAME: &str = "深圳市某某科技有限公司";

    fn kind(shop: &str, wecom: &str) -> Option<MismatchKind> {
        compare(Field::CompanyName, shop, wecom, true).map(|m| m.kind)
    }

    #[test]
    fn registered_capital_is_compared_as_a_sum() {
        assert_eq!(capital_fen("100万元"), Some(100_000_000));
        assert_eq!(capital_fen("人民币 1,000,000 元"), Some(100_000_000));
        assert_eq!(capital_fen("１００万"), Some(100_000_000), "full-width digits");
        assert_eq!(capital_fen("0.5亿"), Some(5_000_000_000));
        assert_eq!(capital_fen("12.345"), None, "a fraction of a fen is no sum");
        assert_eq!(capital_fen("一百万"), None);
        assert_eq!(compare_capital("100万元", "RMB 1000000", true), None);
        let m = compare_capital("100万元", "200万元", true).unwrap();
        assert_eq!(
            (m.field, m.kind.clone(), m.fix.change),
            (Field::RegisteredCapital, MismatchKind::Amount, Side::Shop)
        );
        let facts = EntityFacts {
            shop_name: Some(NAME.into()),
            wecom_name: Some(NAME.into()),
            wecom_verified: true,
            shop_capital: Some("100万元".into()),
            wecom_capital: Some("50万元".into()),
            shop_state: Some(ShopState::Active),
            ..EntityFacts::default()
        };
        let problems = check(&facts);
        assert!(
            matches!(problems.as_slice(), [EntityProblem::Mismatch(m)] if m.field == Field::RegisteredCapital),
            "{problems:?}"
        );
        assert!(
            problems[0].message_zh().contains("注册资本"),
            "{}",
            problems[0].message_zh()
        );
        let one_side = EntityFacts {
            wecom_capital: None,
            ..facts
        };
        assert!(check(&one_side).is_empty(), "compared only where both are entered");
    }

    #[test]
    fn what_is_not_a_real_difference_is_folded() {
        assert_eq!(
            normalize(" 深圳市 某某（ＡＢＣ）科技有限公司\u{3000}"),
            "深圳市某某(ABC)科技有限公司"
        );
        assert_eq!(normalize("abc Co.,Ltd"), normalize("ＡＢＣ ｃｏ．，ｌｔｄ"));
        assert_eq!(normalize("某\u{200B}某"), "某某", "invisible characters");
        assert_eq!(
            kind("深圳市某某（香港）科技有限公司", "深圳市某某(香港)科技有限公司"),
            None
        );
        assert_eq!(kind(NAME, &format!(" {NAME} ")), None);
    }

    #[test]
    fn company_forms_are_named() {
        assert_eq!(
            kind(NAME, "深圳市某某科技有限责任公司"),
            Some(MismatchKind::CompanyForm {
                shop: "有限公司".into(),
                wecom: "有限责任公司".into()
            })
        );
        assert_eq!(
            kind("深圳市某某科技股份有限公司", NAME),
            Some(MismatchKind::CompanyForm {
                shop: "股份有限公司".into(),
                wecom: "有限公司".into()
            }),
            "股份有限公司 is a form of its own, not 「股份」 in the name"
        );
    }

    #[test]
    fn branches_missing_and_extra_characters_are_named() {
        assert_eq!(
            kind("深圳市某某科技有限公司广州分公司", NAME),
            Some(MismatchKind::BranchSuffix {
                branch: Side::Shop,
                suffix: "广州分公司".into()
            })
        );
        let m = compare(Field::CompanyName, NAME, "深圳市某某科技有限公司南山分公司", true).unwrap();
        assert_eq!(
            m.kind,
            MismatchKind::BranchSuffix {
                branch: Side::WeCom,
                suffix: "南山分公司".into()
            }
        );
        assert_eq!(
            m.fix,
            Fix {
                change: Side::WeCom,
                to: NAME.into()
            },
            "the branch side changes"
        );
        assert_eq!(
            kind("深圳市某科技有限公司", NAME),
            Some(MismatchKind::ExtraCharacter {
                side: Side::WeCom,
                character: '某'
            })
        );
        assert_eq!(
            kind("深圳市某某某科技有限公司", NAME),
            Some(MismatchKind::ExtraCharacter {
                side: Side::Shop,
                character: '某'
            })
        );
        assert_eq!(kind(NAME, "广州市另一家贸易有限公司"), Some(MismatchKind::Different));
    }

    #[test]
    fn the_diff_shows_each_sides_characters() {
        let m = compare(Field::CompanyName, NAME, "深圳市某某科技有限责任公司", true).unwrap();
        assert_eq!(
            m.diff,
            vec![
                DiffPart {
                    op: DiffOp::Same,
                    text: "深圳市某某科技有限".into()
                },
                DiffPart {
                    op: DiffOp::OnlyWeCom,
                    text: "责任".into()
                },
                DiffPart {
                    op: DiffOp::Same,
                    text: "公司".into()
                },
            ]
        );
        assert_eq!(
            m.fix,
            Fix {
                change: Side::Shop,
                to: "深圳市某某科技有限责任公司".into()
            },
            "a verified WeCom name was read off a licence: the shop's record is corrected"
        );
        let unverified = compare(Field::CompanyName, NAME, "深圳市某某科技有限责任公司", false).unwrap();
        assert_eq!(
            unverified.fix,
            Fix {
                change: Side::WeCom,
                to: NAME.into()
            }
        );
    }

    #[test]
    fn the_check_lists_every_problem_with_its_code() {
        let consistent = EntityFacts {
            shop_name: Some(NAME.into()),
            wecom_name: Some("深圳市某某科技有限公司 ".into()),
            wecom_verified: true,
            shop_state: Some(ShopState::Active),
            ..Default::default()
        };
        assert!(check(&consistent).is_empty());
        let codes = |f: &EntityFacts| check(f).iter().map(|p| p.code()).collect::<Vec<_>>();
        assert_eq!(
            codes(&EntityFacts::default()),
            ["ERR_WECOM_UNVERIFIED", "ERR_ENTITY_MISSING", "ERR_WECOM_ENTITY_MISSING"]
        );
        let frozen = EntityFacts {
            shop_state: Some(ShopState::Frozen),
            wecom_name: Some("深圳市某某科技有限责任公司".into()),
            shop_representative: Some("张三".into()),
            wecom_representative: Some("张 三".into()),
            ..consistent.clone()
        };
        assert_eq!(
            codes(&frozen),
            ["ERR_SHOP_FROZEN", "ERR_AUTH_MISMATCH"],
            "representatives agree"
        );
        let inactive = EntityFacts {
            shop_state: Some(ShopState::Inactive),
            wecom_representative: Some("李四".into()),
            shop_representative: Some("张三".into()),
            ..consistent
        };
        assert_eq!(codes(&inactive), ["ERR_SHOP_INACTIVE", "ERR_AUTH_MISMATCH"]);
        let problems = check(&inactive);
        let EntityProblem::Mismatch(m) = &problems[1] else {
            panic!()
        };
        assert_eq!(m.field, Field::LegalRepresentative);
        assert!(problems[1].message_zh().contains("法定代表人"));
        assert!(problems[1].message_en().contains("legal representative"));
    }

    #[test]
    fn messages_name_the_side_to_change() {
        let m = compare(Field::CompanyName, "深圳市某科技有限公司", NAME, true).unwrap();
        let p = EntityProblem::Mismatch(Box::new(m));
        assert!(
            p.message_zh().contains("修改店铺一侧") && p.message_zh().contains(NAME),
            "{}",
            p.message_zh()
        );
        assert!(p.message_en().contains("Change the shop's side"), "{}", p.message_en());
    }

    /// Names made of CJK characters, letters, digits and parentheses, like licence names.
    fn name() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                (0x4E00u32..0x4F00).prop_map(|c| char::from_u32(c).unwrap()),
                proptest::char::range('A', 'Z'),
                proptest::char::range('0', '9'),
                Just('('),
                Just(')'),
            ],
            1..30,
        )
        .prop_map(|cs| cs.into_iter().collect())
    }

    /// The full-width form of every ASCII character in `s`.
    fn full_width(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
                c => c,
            })
            .collect()
    }

    proptest! {
        #[test]
        fn normalizing_is_idempotent(s in "\\PC{0,40}") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once), once);
        }

        #[test]
        fn spaces_width_and_case_never_make_a_mismatch(n in name(), at in 0usize..30, space in prop_oneof![Just(" "), Just("\u{3000}"), Just("\t")]) {
            let cut = n.char_indices().nth(at).map_or(n.len(), |(i, _)| i);
            let spaced = format!("{}{space}{}", &n[..cut], &n[cut..]);
            prop_assert_eq!(compare(Field::CompanyName, &n, &spaced, true), None);
            prop_assert_eq!(compare(Field::CompanyName, &full_width(&n), &n.to_lowercase(), true), None);
        }

        #[test]
        fn a_missing_character_is_always_caught(n in name(), at in 0usize..30) {
            let chars: Vec<char> = n.chars().collect();
            let at = at % chars.len();
            let shorter: String = chars.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, c)| c).collect();
            let m = compare(Field::CompanyName, &n, &shorter, true);
            prop_assert!(m.is_some(), "{} vs {}", n, shorter);
            if let Some(MismatchKind::ExtraCharacter { side, character }) = m.map(|m| m.kind) {
                prop_assert_eq!(side, Side::Shop);
                prop_assert_eq!(character.to_ascii_uppercase(), chars[at].to_ascii_uppercase());
            }
        }

        #[test]
        fn the_diff_rebuilds_both_sides(a in name(), b in name()) {
            let parts = diff(&a, &b);
            let side = |keep: DiffOp| parts.iter().filter(|p| p.op == DiffOp::Same || p.op == keep).map(|p| p.text.as_str()).collect::<String>();
            prop_assert_eq!(side(DiffOp::OnlyShop), a);
            prop_assert_eq!(side(DiffOp::OnlyWeCom), b);
        }
    }
}
