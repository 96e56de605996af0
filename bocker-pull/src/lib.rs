//! bocker-pull: an OCI Distribution client and a safe, Docker-exact layer extractor.
//!
//! The pieces, each in its own module: [`reference`] parsing, [`registry`] HTTP with
//! [`auth`] over a [`transport`], [`manifest`] documents, [`digest`] verification, [`decompress`]ion,
//! [`extract`]ion into a directory, and [`pull`], which drives them into the store.

pub mod auth;
pub mod decompress;
pub mod digest;
pub mod extract;
pub mod layer;
pub mod manifest;
pub mod platform;
pub mod progress;
pub mod pull;
pub mod reference;
pub mod registry;
pub mod transport;
