//! `bocker-commit`: container filesystem -> image.
//!
//! A placeholder in the workspace shape of SPEC §1: the snapshot machinery it
//! needs lives in `bocker-store` (`SnapshotDriver::commit_container`); the verb
//! itself arrives with its own issue, so no binary is shipped yet.
