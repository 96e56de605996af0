//! bocker-net
