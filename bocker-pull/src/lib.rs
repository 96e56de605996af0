//! bocker-pull: an OCI Distribution client and a safe, Docker-exact layer extractor.
//!
//! The pieces, each in its own module: [`reference`] parsing, [`registry`] HTTP with
//! [`auth`] over a [`transport`], [`manifest`] documents, [`digest`] verification, [`decompress`]ion,
//! [`extract`]ion into a directory, and [`pull`], which drives them into the store.

#[cfg(feature = "registry")]
pub mod auth;
pub mod decompress;
pub mod digest;
pub mod extract;
#[cfg(feature = "registry")]
pub mod layer;
pub mod manifest;
pub mod platform;
#[cfg(feature = "registry")]
pub mod progress;
#[cfg(feature = "registry")]
pub mod pull;
pub mod reference;
#[cfg(feature = "registry")]
pub mod registry;
pub mod transport;
