//! End-to-end tests: the real server, in-process, against the Shopee and WeCom simulators; and the real
//! binary for the CLI and crash tests. (Three replicas on PostgreSQL run in tests/replicas.rs, a binary of
//! their own, so no other test competes with their real-time budget windows.)

// A test fails by panicking: unwrap and expect are how it says what went wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_tokens;
mod archive;
mod audit_chain;
mod auth;
mod autoreply;
mod browser;
mod chat;
mod chat_cards;
mod cli;
mod configure;
mod console;
mod console_lang;
mod crash;
mod data_policy;
mod delivery;
mod escaping;
mod handling;
mod helpers;
mod lazada;
mod longconn;
mod pacing;
mod personal_data;
#[path = "../support/process.rs"]
mod process;
mod pushes;
mod reconcile;
mod retention;
mod rules;
mod security;
mod tiktok;
mod webhook_ssrf;
mod webhooks;
mod wecom_callback;
mod wecom_limits;
mod wecom_login;
