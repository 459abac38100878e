//! The `liqwave` binary: placeholder.
fn main() {}
