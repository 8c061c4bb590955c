//! Automatic answers (「自动回复+人工转接」): a buyer message nobody holds is answered automatically only
//! when a rule answers it confidently — a fixed text the seller wrote, or the buyer's latest order and its
//! tracking as the marketplace reports them. Everything else, an explicit request for a person, and any
//! message after an automatic answer go to a person under the rules (the usual card). An automatic answer
//! never resolves a conversation and never counts as a person's reply.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use shoprelay_core::audit_text;
use shoprelay_core::event::{Event, EventBody, TrailStep};
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};
use shoprelay_core::order::OrderStage;
use shoprelay_core::time::{format_local, region_timezone};
use shoprelay_store::{AuditEntry, AuditKind, AuditOutcome, Author, Conversation, MessageOutcome, NewReply};

use super::matcher::{Action, BuyerLang, OUT_OF_HOURS_RULE};
use super::{Chat, SendError};
use crate::config::Registry;
use crate::error::EngineError;

/// Messages of the conversation looked at to decide (the last automatic answers and replies).
const HISTORY: i64 = 50;

/// A conversation marked as being decided, unmarked when dropped.
struct Deciding<'a> {
    set: &'a Mutex<HashSet<i64>>,
    id: i64,
}

impl<'a> Deciding<'a> {
    /// Marks `id`; `None` when it is marked already.
    fn start(set: &'a Mutex<HashSet<i64>>, id: i64) -> Option<Self> {
        // A panic elsewhere cannot leave the set wrong for long: entries are removed on drop.
        let inserted = set.lock().unwrap_or_else(|e| e.into_inner()).insert(id);
        inserted.then_some(Self { set, id })
    }
}

impl Drop for Deciding<'_> {
    fn drop(&mut self) {
        self.set.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
    }
}

/// What was decided for one buyer message.
enum Decision {
    /// Answer with this text, produced by this rule.
    Answer { rule: String, text: String },
    /// A person takes it; the reason is logged.
    HandOff(String),
}

/// Where the message was written: the shop and its settings as the decision needs them.
struct Place<'a> {
    app: &'a ConfigId,
    shop: ShopId,
    region: Option<String>,
}

impl Chat {
    /// Answers a buyer message nobody holds when the shop's rules answer it confidently. `true`: answered,
    /// no card goes out; `false`: a person must take it (the message is routed as usual).
    pub(crate) async fn auto_reply(&self, registry: &Registry, event: &Event) -> Result<bool, EngineError> {
        let (
            Some(shop),
            EventBody::BuyerMessage {
                text,
                message_id,
                conversation: Some(conversation_id),
                ..
            },
        ) = (event.shop_id, &event.body)
        else {
            return Ok(false);
        };
        let Some(chat) = registry.chat_of(shop) else {
            return Ok(false);
        };
        let auto = &chat.config.autoreply;
        let (true, Some(matcher)) = (auto.enabled, chat.matcher.as_ref()) else {
            return Ok(false);
        };
        let Some(conversation) = self.conversations.conversation(*conversation_id).await? else {
            return Ok(false);
        };
        // Chat pushes carry no order, so one pass may hold two messages of one conversation: while one
        // is being decided, the other is a person's (never two automatic answers in a row).
        let Some(_deciding) = Deciding::start(&self.auto_deciding, conversation.id) else {
            let place = Place {
                app: &event.app,
                shop,
                region: None,
            };
            let detail = audit_text::handed_off(conversation.id, "another message is being answered");
            self.audit_auto(&place, AuditOutcome::HandedOff, detail).await?;
            return Ok(false);
        };
        let key = format!("auto:{}:{message_id}", conversation.id);
        // Decided before (a crash before the inbox item closed): that decision stands, nothing is sent twice.
        if let Some(filed) = self.conversations.reply_by_key(&key).await? {
            return Ok(filed.outcome == MessageOutcome::Sent && filed.rule.as_deref() != Some(OUT_OF_HOURS_RULE));
        }
        let place = Place {
            app: &event.app,
            shop,
            region: registry.shop(&event.app, shop).and_then(|s| s.region.clone()),
        };
        let now = self.clock.now();
        let messages = self
            .conversations
            .conversation_messages(conversation.id, HISTORY)
            .await?;
        // The last word the buyer got before this message was an automatic one: it did not help them.
        // (An answer the marketplace refused never reached the buyer and counts for nothing.)
        let reached = |m: &&shoprelay_store::ConversationMessage| m.outcome != MessageOutcome::Failed;
        let after_auto = messages
            .iter()
            .rev()
            .filter(reached)
            .find(|m| m.author != Author::Buyer)
            .is_some_and(|m| m.author == Author::Auto);
        let since = now - Duration::from_secs(u64::from(auto.per_minutes) * 60);
        let recent = messages
            .iter()
            .filter(reached)
            .filter(|m| m.author == Author::Auto && m.at >= since)
            .count();
        let limited = recent >= auto.max_per_buyer as usize;
        let tz = region_timezone(place.region.as_deref());
        let in_hours = chat.hours.is_none_or(|w| w.contains(now, tz));

        let decision = if after_auto {
            Decision::HandOff("a message after an automatic answer".into())
        } else if limited {
            Decision::HandOff(format!(
                "rate limit: {recent} automatic answer(s) within {} min",
                auto.per_minutes
            ))
        } else {
            match matcher.decide(text) {
                None => Decision::HandOff("no rule answers it".into()),
                Some(m) => match m.action {
                    Action::Handoff => Decision::HandOff(format!("rule {}", m.rule)),
                    Action::Text(text) => Decision::Answer { rule: m.rule, text },
                    Action::OrderStatus => {
                        let lang = m.lang.unwrap_or(BuyerLang::of_region(place.region.as_deref()));
                        match self.order_status_answer(registry, &place, &conversation, lang).await? {
                            Some(text) => Decision::Answer { rule: m.rule, text },
                            None => {
                                Decision::HandOff(format!("rule {}: no order with tracking to answer from", m.rule))
                            }
                        }
                    }
                },
            }
        };
        let reason = match decision {
            Decision::Answer { rule, text } => match self.send_auto(&conversation, &key, &rule, &text).await? {
                Ok(()) => {
                    let detail = audit_text::auto_answered(conversation.id, &rule);
                    self.audit_auto(&place, AuditOutcome::AutoAnswered, detail).await?;
                    metrics::counter!("shoprelay_chat_auto_answers_total").increment(1);
                    return Ok(true);
                }
                Err(why) => format!("rule {rule}: the answer could not be sent: {why}"),
            },
            Decision::HandOff(reason) => {
                // Outside business hours the buyer hears when a person will be back — once, never in a loop.
                if let (false, false, false, Some(answer)) = (in_hours, after_auto, limited, &auto.out_of_hours) {
                    if self
                        .send_auto(&conversation, &key, OUT_OF_HOURS_RULE, answer)
                        .await?
                        .is_ok()
                    {
                        let detail = audit_text::auto_answered(conversation.id, OUT_OF_HOURS_RULE);
                        self.audit_auto(&place, AuditOutcome::AutoAnswered, detail).await?;
                    }
                }
                reason
            }
        };
        let detail = audit_text::handed_off(conversation.id, &reason);
        self.audit_auto(&place, AuditOutcome::HandedOff, detail).await?;
        Ok(false)
    }

    /// Files an automatic answer, sends it once, and records what became of it; the error is why it
    /// was not sent.
    async fn send_auto(
        &self,
        conversation: &Conversation,
        key: &str,
        rule: &str,
        text: &str,
    ) -> Result<Result<(), SendError>, EngineError> {
        let reply = NewReply {
            conversation_id: conversation.id,
            author: Author::Auto,
            sender: None,
            dedupe_key: key.to_owned(),
            text: text.to_owned(),
            rule: Some(rule.to_owned()),
            at: self.clock.now(),
        };
        let Some(id) = self.conversations.add_reply(&reply).await? else {
            return Ok(Err(SendError::AlreadyFiled));
        };
        Ok(match self.send_to_buyer(conversation, text).await {
            Ok(message_id) => {
                self.conversations
                    .finish_reply(id, MessageOutcome::Sent, None, message_id.as_deref(), self.clock.now())
                    .await?;
                Ok(())
            }
            Err(why) => {
                self.conversations
                    .finish_reply(
                        id,
                        MessageOutcome::Failed,
                        Some(&why.to_string()),
                        None,
                        self.clock.now(),
                    )
                    .await?;
                Err(why)
            }
        })
    }

    /// The answer to "where is my order" from the buyer's latest order and its trail as the marketplace
    /// reports it now; `None` when there is no such order, no trail, or the marketplace cannot be asked —
    /// a person answers then, nothing is guessed.
    async fn order_status_answer(
        &self,
        registry: &Registry,
        place: &Place<'_>,
        conversation: &Conversation,
        lang: BuyerLang,
    ) -> Result<Option<String>, EngineError> {
        let Some((order_sn, status)) = self
            .conversations
            .buyer_latest_order(place.app.as_str(), place.shop, &conversation.buyer_name)
            .await?
        else {
            return Ok(None);
        };
        let (Some(app), Ok(sn)) = (registry.marketplaces.get(place.app), OrderSn::parse(&order_sn)) else {
            return Ok(None);
        };
        let token = match self.tokens.access_token(place.app, place.shop).await {
            Ok(token) => token,
            Err(error) => {
                tracing::warn!(shop = %place.shop, %error, "no token to look up the buyer's order");
                return Ok(None);
            }
        };
        let trail = match app.trail(place.shop, place.region.as_deref(), &token, &sn).await {
            Ok(Some(trail)) => trail,
            Ok(None) => return Ok(None),
            Err(error) => {
                tracing::warn!(order = %sn, %error, "cannot read the parcel's trail for an automatic answer");
                return Ok(None);
            }
        };
        let Some(latest) = trail.latest() else {
            return Ok(None);
        };
        let stage = app.status(&status).stage;
        let tz = region_timezone(place.region.as_deref());
        Ok(Some(order_status_text(
            lang,
            &order_sn,
            stage,
            latest,
            &format_local(latest.at, tz),
        )))
    }

    async fn audit_auto(&self, place: &Place<'_>, outcome: AuditOutcome, detail: String) -> Result<(), EngineError> {
        let mut audit = AuditEntry::new(AuditKind::Chat, outcome, self.clock.now(), detail);
        audit.app_id = Some(place.app.to_string());
        audit.shop_id = i64::try_from(place.shop.get()).ok();
        self.audit_log.append_audit(audit).await?;
        Ok(())
    }
}

/// The answer in the buyer's language: the order number, its stage (left out when the platform's status
/// has no neutral word) and the carrier's latest step, as reported.
fn order_status_text(lang: BuyerLang, order_sn: &str, stage: OrderStage, latest: &TrailStep, at: &str) -> String {
    let status = stage_word(lang, stage);
    let desc = latest.description.trim();
    let desc = if desc.is_empty() { latest.status.as_str() } else { desc };
    use BuyerLang::*;
    let (hello, label, update) = match lang {
        Zh => ("您好！您的订单", "当前状态", "最新物流"),
        En => ("Hi! Your order", "status", "Latest tracking update"),
        Id => ("Halo! Pesanan Anda", "status", "Update pengiriman terakhir"),
        Vi => (
            "Xin chào! Đơn hàng của bạn",
            "trạng thái",
            "Cập nhật vận chuyển mới nhất",
        ),
        Th => ("สวัสดีค่ะ คำสั่งซื้อของคุณ", "สถานะ", "อัปเดตการจัดส่งล่าสุด"),
        Ms => ("Hai! Pesanan anda", "status", "Kemas kini penghantaran terkini"),
        Tl => ("Hi! Ang order mo", "status", "Pinakabagong update ng delivery"),
    };
    let stage = status.map(|s| format!(" — {label}: {s}")).unwrap_or_default();
    if lang == Zh {
        format!("{hello} {order_sn}{stage}。{update} {at}：{desc}")
    } else {
        format!("{hello} {order_sn}{stage}. {update} {at}: {desc}")
    }
}

/// An order stage as buyers of each market read it; `None` for a status with no neutral word.
fn stage_word(lang: BuyerLang, stage: OrderStage) -> Option<&'static str> {
    use BuyerLang::*;
    use OrderStage as S;
    let index = match stage {
        S::Unpaid => 0,
        S::ToShip => 1,
        S::Arranged => 2,
        S::Shipped => 3,
        S::Delivered => 4,
        S::Completed => 5,
        S::CancelRequested => 6,
        S::Cancelled => 7,
        S::ReturnRequested => 8,
        S::Other => return None,
    };
    let words: [&str; 9] = match lang {
        Zh => [
            "待付款",
            "备货中",
            "已打包，待快递揽收",
            "已发货",
            "已送达",
            "已完成",
            "买家申请取消中",
            "已取消",
            "退货/退款处理中",
        ],
        En => [
            "awaiting payment",
            "being prepared",
            "packed, waiting for the courier",
            "shipped",
            "delivered",
            "completed",
            "cancellation requested",
            "cancelled",
            "return/refund in progress",
        ],
        Id => [
            "menunggu pembayaran",
            "sedang dikemas",
            "dikemas, menunggu kurir",
            "dikirim",
            "terkirim",
            "selesai",
            "pembatalan diajukan",
            "dibatalkan",
            "pengembalian/refund diproses",
        ],
        Vi => [
            "chờ thanh toán",
            "đang chuẩn bị hàng",
            "đã đóng gói, chờ lấy hàng",
            "đang giao",
            "đã giao",
            "hoàn thành",
            "đang yêu cầu hủy",
            "đã hủy",
            "đang trả hàng/hoàn tiền",
        ],
        Th => [
            "รอชำระเงิน",
            "กำลังเตรียมสินค้า",
            "แพ็กแล้ว รอขนส่งเข้ารับ",
            "จัดส่งแล้ว",
            "ส่งถึงแล้ว",
            "สำเร็จ",
            "มีคำขอยกเลิก",
            "ยกเลิกแล้ว",
            "กำลังคืนสินค้า/คืนเงิน",
        ],
        Ms => [
            "menunggu bayaran",
            "sedang disediakan",
            "dibungkus, menunggu kurier",
            "telah dihantar",
            "telah diterima",
            "selesai",
            "permohonan batal",
            "dibatalkan",
            "pemulangan/bayaran balik diproses",
        ],
        Tl => [
            "hinihintay ang bayad",
            "inihahanda",
            "naka-pack, hinihintay ang courier",
            "naipadala na",
            "naihatid na",
            "kumpleto",
            "may hiling na kanselasyon",
            "kanselado",
            "may return/refund na pinoproseso",
        ],
    };
    Some(words[index])
}

#[cfg(test)]
mod tests {
    use shoprelay_clock::UnixMs;

    use super::*;

    fn step() -> TrailStep {
        TrailStep {
            at: UnixMs::from_secs(1_660_120_727),
            description: "Parcel arrived at the sorting centre".into(),
            status: "IN_TRANSIT".into(),
        }
    }

    #[test]
    fn the_order_answer_states_only_what_was_reported() {
        let text = order_status_text(
            BuyerLang::En,
            "2412ABC",
            OrderStage::Shipped,
            &step(),
            "2022-08-10 16:38",
        );
        assert_eq!(
            text,
            "Hi! Your order 2412ABC — status: shipped. Latest tracking update 2022-08-10 16:38: Parcel arrived at the sorting centre"
        );
        // A platform status with no neutral word is left out rather than guessed.
        let text = order_status_text(BuyerLang::Zh, "2412ABC", OrderStage::Other, &step(), "t");
        assert_eq!(
            text,
            "您好！您的订单 2412ABC。最新物流 t：Parcel arrived at the sorting centre"
        );
    }

    #[test]
    fn one_message_of_a_conversation_is_decided_at_a_time() {
        let set = Mutex::default();
        let first = Deciding::start(&set, 12);
        assert!(first.is_some());
        assert!(Deciding::start(&set, 12).is_none(), "the second waits for a person");
        assert!(
            Deciding::start(&set, 13).is_some(),
            "other conversations are not held up"
        );
        drop(first);
        assert!(Deciding::start(&set, 12).is_some());
    }

    #[test]
    fn a_step_without_words_shows_the_carriers_status() {
        let mut s = step();
        s.description = " ".into();
        let text = order_status_text(BuyerLang::Vi, "X1", OrderStage::Shipped, &s, "t");
        assert!(text.ends_with(": IN_TRANSIT"), "{text}");
        assert!(text.contains("đang giao"), "{text}");
    }
}
