//! One module per subcommand.

pub mod apply;
pub mod audit;
pub mod demo;
pub mod serve;
pub mod sim;
