//! bocker-run
