//! Exit statuses, as Docker's CLI gives them (recorded from docker CLI 28.2.2 over engine
//! 20.10 on 2026-11-29; the table is in docs/CLI.md).

/// The verb did what was asked.
pub const SUCCESS: u8 = 0;
/// The verb failed (a missing container, a refused removal), or its positional
/// arguments were wrong in number: Docker's `"docker rm" requires at least 1 argument`
/// exits 1.
pub const FAILURE: u8 = 1;
/// A flag was unknown, unsupported, or given a bad or missing value (Docker's
/// `unknown flag: --bogus` exits 125 for every verb); for `run`, `create` and `exec`
/// also any failure of the engine itself (Docker: "the error is with Docker itself").
pub const USAGE: u8 = 125;
/// `run`: the container's command was found but cannot be invoked.
pub const CANNOT_INVOKE: u8 = 126;
/// `run`: the container's command was not found.
pub const NOT_FOUND: u8 = 127;
