//! One module per subcommand.

pub mod apply;
pub mod audit;
pub mod bench;
pub mod buyers;
pub mod demo;
pub mod keys;
pub mod replay;
pub mod rules;
pub mod serve;
pub mod shops;
pub mod sim;
