//! The conversation archive as CSV or JSON lines: one row per message with its sender, time, channel and
//! delivery result — the same columns from the CLI and the API. Buyer text is data: JSON escapes it, and a
//! CSV cell that a spreadsheet would run as a formula is neutralised.

use serde::Serialize;
use shoprelay_clock::UnixMs;
use shoprelay_core::error::UserFacing;
use shoprelay_store::{ArchivedMessage, Author};

use crate::audit_export::cell;

/// The format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl ExportFormat {
    /// Reads `csv` or `jsonl`.
    pub fn parse(raw: &str) -> Result<Self, UnknownFormat> {
        match raw {
            "csv" => Ok(Self::Csv),
            "jsonl" => Ok(Self::Jsonl),
            // Echoed back in the answer: only so much of it.
            other => Err(UnknownFormat(other.chars().take(16).collect())),
        }
    }

    /// The media type of the body.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Jsonl => "application/x-ndjson",
        }
    }
}

/// An export format shoprelay does not write.
#[derive(Debug, thiserror::Error)]
#[error("unknown export format `{0}`")]
pub struct UnknownFormat(String);

impl UserFacing for UnknownFormat {
    fn code(&self) -> &'static str {
        "conversation.export_format"
    }
    fn status(&self) -> u16 {
        400
    }
    fn message_zh(&self) -> String {
        format!("未知的导出格式「{}」：format 可为 csv 或 jsonl", self.0)
    }
    fn message_en(&self) -> String {
        format!("Unknown export format `{}`: format is csv or jsonl", self.0)
    }
}

/// The header row.
const HEADER: [&str; 15] = [
    "message_id",
    "conversation_id",
    "at_utc",
    "app_id",
    "shop_id",
    "buyer_id",
    "buyer_name",
    "sender_kind",
    "sender",
    "channel",
    "outcome",
    "note",
    "rule",
    "platform_message_id",
    "text",
];

/// One exported message.
#[derive(Debug, Serialize)]
struct Row<'a> {
    message_id: i64,
    conversation_id: i64,
    at_utc: String,
    at: UnixMs,
    app_id: &'a str,
    shop_id: i64,
    buyer_id: &'a str,
    buyer_name: &'a str,
    sender_kind: &'static str,
    sender: Option<&'a str>,
    channel: &'static str,
    outcome: &'static str,
    note: Option<&'a str>,
    rule: Option<&'a str>,
    platform_message_id: Option<&'a str>,
    text: &'a str,
}

impl<'a> Row<'a> {
    fn of(m: &'a ArchivedMessage) -> Self {
        let msg = &m.message;
        // Where the message was written: the buyer in the marketplace's chat, a member in WeCom, or an
        // automatic-answer rule; every reply reaches the buyer through the marketplace's chat API.
        let (sender_kind, channel) = match msg.author {
            Author::Buyer => ("buyer", "marketplace"),
            Author::Staff => ("member", "wecom"),
            Author::Auto => ("auto", "auto_reply"),
        };
        Row {
            message_id: msg.id,
            conversation_id: msg.conversation_id,
            at_utc: chrono::DateTime::<chrono::Utc>::from_timestamp_millis(msg.at.as_millis())
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default(),
            at: msg.at,
            app_id: &m.app_id,
            shop_id: m.shop_id,
            buyer_id: &m.buyer_id,
            buyer_name: &m.buyer_name,
            sender_kind,
            sender: msg.sender.as_deref(),
            channel,
            outcome: msg.outcome.as_str(),
            note: msg.note.as_deref(),
            rule: msg.rule.as_deref(),
            platform_message_id: msg.platform_message_id.as_deref(),
            text: &msg.text,
        }
    }
}

/// Writes messages in `format` to `out`; `first` for the first page of an export (the CSV header).
pub fn write(
    format: ExportFormat,
    messages: &[ArchivedMessage],
    first: bool,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    match format {
        ExportFormat::Csv => write_csv(messages, first, out),
        ExportFormat::Jsonl => {
            for m in messages {
                serde_json::to_writer(&mut *out, &Row::of(m))?;
                out.push(b'\n');
            }
            Ok(())
        }
    }
}

fn write_csv(messages: &[ArchivedMessage], first: bool, out: &mut Vec<u8>) -> std::io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    if first {
        writer.write_record(HEADER)?;
    }
    for m in messages {
        let r = Row::of(m);
        let opt = |v: Option<&str>| cell(v.unwrap_or_default());
        writer.write_record([
            r.message_id.to_string(),
            r.conversation_id.to_string(),
            r.at_utc,
            cell(r.app_id),
            r.shop_id.to_string(),
            cell(r.buyer_id),
            cell(r.buyer_name),
            r.sender_kind.to_owned(),
            opt(r.sender),
            r.channel.to_owned(),
            r.outcome.to_owned(),
            opt(r.note),
            opt(r.rule),
            opt(r.platform_message_id),
            cell(r.text),
        ])?;
    }
    writer.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoprelay_store::{ConversationMessage, MessageOutcome};

    fn message(author: Author, text: &str) -> ArchivedMessage {
        ArchivedMessage {
            message: ConversationMessage {
                id: 7,
                conversation_id: 3,
                author,
                sender: (author == Author::Staff).then(|| "zhangsan".to_owned()),
                text: text.into(),
                at: UnixMs::from_millis(1_660_123_127_000),
                outcome: if author == Author::Buyer {
                    MessageOutcome::Received
                } else {
                    MessageOutcome::Failed
                },
                note: (author != Author::Buyer).then(|| "not whitelisted".to_owned()),
                rule: (author == Author::Auto).then(|| "where-is-my-order".to_owned()),
                platform_message_id: None,
            },
            app_id: "shop-app".into(),
            shop_id: 727720655,
            buyer_id: "5501".into(),
            buyer_name: "@amy".into(),
            holder: None,
        }
    }

    #[test]
    fn csv_rows_carry_sender_channel_and_result_and_formulas_are_neutralised() {
        let rows = [
            message(Author::Buyer, "=HYPERLINK(\"https://evil.example\")"),
            message(Author::Staff, "+1 已发货, \"亲\""),
            message(Author::Auto, "-2"),
        ];
        let mut out = Vec::new();
        write(ExportFormat::Csv, &rows, true, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines[0], HEADER.join(","));
        assert_eq!(
            lines[1],
            "7,3,2022-08-10T09:18:47.000Z,shop-app,727720655,5501,'@amy,buyer,,marketplace,received,,,,\
             \"'=HYPERLINK(\"\"https://evil.example\"\")\""
        );
        assert!(
            lines[2].contains(",member,zhangsan,wecom,failed,not whitelisted,,,"),
            "{}",
            lines[2]
        );
        assert!(lines[2].ends_with(",\"'+1 已发货, \"\"亲\"\"\""), "{}", lines[2]);
        assert!(
            lines[3].contains(",auto,,auto_reply,failed,not whitelisted,where-is-my-order,,'-2"),
            "{}",
            lines[3]
        );
        let mut next = Vec::new();
        write(ExportFormat::Csv, &rows[..1], false, &mut next).unwrap();
        assert!(
            !String::from_utf8(next).unwrap().starts_with("message_id"),
            "one header per export"
        );
    }

    #[test]
    fn jsonl_is_one_escaped_object_per_line() {
        let rows = [message(Author::Buyer, "<b>hi</b>\n\"x\""), message(Author::Staff, "ok")];
        let mut out = Vec::new();
        write(ExportFormat::Jsonl, &rows, true, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2, "a line break in the text stays inside its string");
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["text"], "<b>hi</b>\n\"x\"");
        assert_eq!(first["sender_kind"], "buyer");
        assert_eq!(first["channel"], "marketplace");
        assert_eq!(first["outcome"], "received");
        let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(
            (second["sender_kind"].as_str(), second["sender"].as_str()),
            (Some("member"), Some("zhangsan"))
        );
        assert_eq!(second["note"], "not whitelisted");
    }

    #[test]
    fn only_csv_and_jsonl_are_formats() {
        assert_eq!(ExportFormat::parse("csv").ok(), Some(ExportFormat::Csv));
        assert_eq!(ExportFormat::parse("jsonl").ok(), Some(ExportFormat::Jsonl));
        let err = ExportFormat::parse("xlsx").err().unwrap();
        assert_eq!(err.code(), "conversation.export_format");
        assert!(err.message_zh().contains("jsonl") && err.message_en().contains("csv"));
    }
}
