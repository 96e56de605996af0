//! bocker-store
