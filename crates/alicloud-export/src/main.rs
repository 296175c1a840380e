//! Export CLI (to be written).

fn main() {}
