//! Whether a Python interpreter imports a module, asked by the build scripts that decide which
//! Python tests run (`build.rs`, `examples/advanced-usage/build.rs`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one `python -c "import ..."` may take before the module counts as missing (a
/// first import of mypy compiles its cache: a few seconds on a slow machine).
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether `python` runs `import <module>` successfully within [`PROBE_TIMEOUT`]. A hung
/// interpreter is killed and counts as missing, with a cargo warning saying so.
pub fn imports(python: &Path, module: &str) -> bool {
    let child = Command::new(python)
        .args(["-c", &format!("import {module}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return false;
    };
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if start.elapsed() < PROBE_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                println!(
                    "cargo::warning={} did not finish `import {module}` within {} s: the tests that need it are ignored",
                    python.display(),
                    PROBE_TIMEOUT.as_secs()
                );
                return false;
            }
        }
    }
}
