//! End-to-end tests: the real server, in-process, against the Shopee and WeCom simulators; and the real
//! binary for the CLI and crash tests.

mod audit_chain;
mod auth;
mod cli;
mod crash;
mod delivery;
mod escaping;
mod handling;
mod helpers;
mod pacing;
mod personal_data;
mod pushes;
mod reconcile;
mod replicas;
mod retention;
mod rules;
mod security;
mod webhook_ssrf;
mod webhooks;
mod wecom_limits;
