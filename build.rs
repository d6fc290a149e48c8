//! Tells the tests whether the reference data in `../shared` (schemas and vectors beside the
//! checkout, or `TLGEN_SHARED_DIR`) is there.
//!
//! Without it, and outside CI, the tests that need it are compiled with
//! `#[ignore = "needs ../shared: reference schemas"]` (cfg `tlgen_shared_missing`), so that
//! `cargo test` lists them as ignored. With `CI=true` they are never ignored: they fail and say
//! what is missing. The directory is passed on as `TLGEN_SHARED_DIR` (compile-time environment).

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tlgen_shared_missing)");
    println!("cargo::rerun-if-env-changed=TLGEN_SHARED_DIR");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-changed=build.rs");
    let dir = std::env::var_os("TLGEN_SHARED_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
        PathBuf::from,
    );
    println!("cargo::rustc-env=TLGEN_SHARED_DIR={}", dir.display());
    if dir.is_dir() {
        // New or changed reference files re-run the tests' build.
        println!("cargo::rerun-if-changed={}", dir.display());
    } else if std::env::var("CI").as_deref() != Ok("true") {
        // Not watched while missing (a missing path would re-run this script on every build):
        // after adding ../shared, `touch build.rs` or set TLGEN_SHARED_DIR.
        println!("cargo::rustc-cfg=tlgen_shared_missing");
    }
}
