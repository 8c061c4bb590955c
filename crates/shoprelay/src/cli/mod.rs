//! One module per subcommand. `demo`, `sim` and `bench` run on the built-in simulators and exist only
//! with the `demo` feature (on by default).

pub mod apply;
pub mod audit;
#[cfg(feature = "demo")]
pub mod bench;
pub mod buyers;
pub mod console;
pub mod conversations;
#[cfg(feature = "demo")]
pub mod demo;
pub mod keys;
pub mod replay;
pub mod rules;
pub mod serve;
pub mod shops;
#[cfg(feature = "demo")]
pub mod sim;
pub mod tokens;
