//! bocker-pull: an OCI Distribution client and a safe, Docker-exact layer extractor.
//!
//! The pieces, each in its own module: [`reference`] parsing, [`registry`] HTTP with
//! [`auth`] over a [`transport`], [`manifest`] documents, [`digest`] verification, [`decompress`]ion,
//! [`extract`]ion into a directory, and [`pull`], which drives them into the store;
//! [`push`] uploads blobs and manifests, [`login`] keeps credentials in the docker config.

#[cfg(feature = "registry")]
pub mod auth;
pub mod decompress;
pub mod digest;
pub mod extract;
#[cfg(feature = "registry")]
pub mod layer;
#[cfg(feature = "registry")]
pub mod login;
pub mod manifest;
pub mod platform;
#[cfg(feature = "registry")]
pub mod progress;
#[cfg(feature = "registry")]
pub mod pull;
#[cfg(feature = "registry")]
pub mod push;
pub mod reference;
#[cfg(feature = "registry")]
pub mod registry;
pub mod transport;
