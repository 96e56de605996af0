//! bocker-store
pub mod log;
