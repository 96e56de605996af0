//! bocker-pull
