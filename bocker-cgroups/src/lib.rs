//! bocker-cgroups
