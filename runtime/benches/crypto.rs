//! Criterion benchmarks for the MTProto crypto primitives (placeholder).
fn main() {}
