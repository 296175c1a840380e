//! The table declarations, one module each.

pub(crate) mod action_trail;
