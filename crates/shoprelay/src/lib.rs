//! The `shoprelay` binary's library half: settings, server start-up and the CLI subcommands, so tests
//! drive exactly what the binary runs.
//!
//! # Layout
//! - [`settings`]: the `[server]` settings (file, then `SHOPRELAY_*` environment) and the master key.
//! - [`server`]: [`server::start`] wires store, engine and HTTP onto a bound listener.
//! - [`cli`]: one module per subcommand (`serve`, `apply`, `audit`, …; `demo`, `sim` and `bench` with the
//!   `demo` feature).

pub mod cli;
pub mod server;
pub mod settings;
