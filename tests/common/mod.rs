//! Helpers shared by the integration tests: where the reference schemas are.
#![allow(dead_code)]

use std::path::PathBuf;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/<rel>` beside the checkout. Missing: fails under CI (`CI=true`), else `None` with a
/// note that the test skips.
pub fn shared(rel: &str) -> Option<PathBuf> {
    // ../shared, or TLGEN_SHARED_DIR (see build.rs).
    let path = PathBuf::from(env!("TLGEN_SHARED_DIR")).join(rel);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "reference data {} is missing: CI needs ../shared beside the checkout",
            path.display()
        );
    }
    eprintln!(
        "skipping: {} is missing (../shared is not beside this checkout)",
        path.display()
    );
    None
}

/// Every `.tl` file under `../shared/schemas`, sorted.
pub fn shared_schemas() -> Vec<PathBuf> {
    let Some(dir) = shared("schemas") else {
        return Vec::new();
    };
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)
            .expect("schemas dir is readable")
            .flatten()
        {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "tl") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// The `.tl` files directly in `dir` (relative to the workspace root), sorted.
pub fn fixtures(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .expect("fixtures dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "tl"))
        .collect();
    files.sort();
    files
}
