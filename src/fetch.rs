//! Schema download: fetches an official schema, checks that it parses, and writes it with a provenance header.
//!
//! `tlgen fetch --out api.tl` downloads Telegram Desktop's `api.tl` (the default source, whose
//! last line is `// LAYER N`); `--source tdlib` downloads TDLib's `telegram_api.tl` and reads
//! the layer from the `MTPROTO_LAYER = N` constant of its `td/telegram/Version.h`; any other
//! `--source` is taken as the URL of a schema. The schema must pass [`crate::check`]; the file
//! written starts with a header naming the source URL, the layer and the SHA-256 of the bytes
//! as downloaded (and ends with a `// LAYER N` line when the schema has none), and is written to a
//! temporary file and renamed, so that no file is written (or half written) on any failure.
//!
//! Downloads use a blocking HTTP client (ureq, rustls), are bounded to [`MAX_DOWNLOAD`] bytes
//! and time out. `--base-url` (or the `TLGEN_FETCH_BASE_URL` environment variable) replaces
//! `https://raw.githubusercontent.com` for the two named sources, for mirrors and tests.
//!
//! `tlgen fetch` exits with 0 when the schema was written, and 2 on a usage, network, schema or
//! file error (nothing was written).

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::diag::{Diagnostic, Severity};

/// The most bytes one download may have.
pub const MAX_DOWNLOAD: u64 = 16 * 1024 * 1024;

/// Where the two named sources are served from, unless `--base-url` says otherwise.
pub const DEFAULT_BASE_URL: &str = "https://raw.githubusercontent.com";

/// The environment variable that replaces [`DEFAULT_BASE_URL`] when `--base-url` is not given.
pub const BASE_URL_ENV: &str = "TLGEN_FETCH_BASE_URL";

/// What [`execute`] fetches, and where it writes it.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Where to write the schema.
    pub out: PathBuf,
    /// `tdesktop` (Telegram Desktop's api.tl), `tdlib` (TDLib's telegram_api.tl and the layer
    /// from its Version.h), or the http(s) URL of a schema.
    pub source: String,
    /// The git branch, tag or commit to fetch (default: `dev` for tdesktop, `master` for tdlib).
    pub git_ref: Option<String>,
    /// Also read this schema and say whether the fetched one has a newer layer.
    pub compare: Option<PathBuf>,
    /// Replaces [`DEFAULT_BASE_URL`] for the named sources; `None` reads [`BASE_URL_ENV`].
    pub base_url: Option<String>,
    /// The layer, when the schema does not say it (or to override it).
    pub layer: Option<i32>,
    /// Time allowed for each download, connection included.
    pub timeout: Duration,
}

impl FetchOptions {
    /// Telegram Desktop's schema at its default branch, written to `out`, with a 60 s timeout.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        Self {
            out: out.into(),
            source: "tdesktop".to_string(),
            git_ref: None,
            compare: None,
            base_url: None,
            layer: None,
            timeout: Duration::from_secs(60),
        }
    }
}

/// What [`execute`] did.
#[derive(Debug, Clone)]
pub struct FetchReport {
    /// The schema URL.
    pub url: String,
    /// The layer of the written schema, if known.
    pub layer: Option<i32>,
    /// SHA-256 of the schema bytes as downloaded, lower-case hex.
    pub sha256: String,
    /// The file written.
    pub out: PathBuf,
    /// With [`FetchOptions::compare`]: how the fetched layer compares with the old schema's.
    pub comparison: Option<String>,
}

impl FetchReport {
    /// The lines `tlgen fetch` prints.
    pub fn lines(&self) -> Vec<String> {
        let layer = self
            .layer
            .map_or_else(|| "unknown".to_string(), |l| l.to_string());
        let mut lines = vec![
            format!(
                "fetched {} (layer {layer}, sha-256 {})",
                self.url, self.sha256
            ),
            format!("wrote {}", self.out.display()),
        ];
        lines.extend(self.comparison.clone());
        lines
    }
}

/// Where a schema comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Telegram Desktop's `api.tl` at a git ref.
    Tdesktop {
        /// Branch, tag or commit.
        git_ref: String,
    },
    /// TDLib's `telegram_api.tl` and `Version.h` at a git ref.
    Tdlib {
        /// Branch, tag or commit.
        git_ref: String,
    },
    /// A schema URL.
    Url(String),
}

impl Source {
    /// Reads `--source` and `--ref`.
    pub fn parse(source: &str, git_ref: Option<&str>) -> Result<Self, FetchError> {
        match source {
            "tdesktop" => Ok(Self::Tdesktop {
                git_ref: git_ref.unwrap_or("dev").to_string(),
            }),
            "tdlib" => Ok(Self::Tdlib {
                git_ref: git_ref.unwrap_or("master").to_string(),
            }),
            url if is_http_url(url) => {
                if git_ref.is_some() {
                    return Err(FetchError::Usage(
                        "--ref applies to the tdesktop and tdlib sources, not to a URL".into(),
                    ));
                }
                Ok(Self::Url(url.to_string()))
            }
            other => Err(FetchError::Usage(format!(
                "unknown source `{other}`: expected `tdesktop`, `tdlib` or an http(s) URL"
            ))),
        }
    }

    /// The schema URL, and for TDLib the URL of `Version.h`.
    pub fn urls(&self, base: &str) -> (String, Option<String>) {
        let base = base.trim_end_matches('/');
        match self {
            Self::Tdesktop { git_ref } => (
                format!("{base}/telegramdesktop/tdesktop/{git_ref}/Telegram/SourceFiles/mtproto/scheme/api.tl"),
                None,
            ),
            Self::Tdlib { git_ref } => (
                format!("{base}/tdlib/td/{git_ref}/td/generate/scheme/telegram_api.tl"),
                Some(format!("{base}/tdlib/td/{git_ref}/td/telegram/Version.h")),
            ),
            Self::Url(url) => (url.clone(), None),
        }
    }
}

fn is_http_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// Why a fetch failed. Nothing was written.
#[derive(Debug)]
#[non_exhaustive]
pub enum FetchError {
    /// Bad arguments.
    Usage(String),
    /// The server answered with an error status.
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// No answer: connection refused, DNS, TLS, timeout...
    Transport {
        /// The URL.
        url: String,
        /// A short cause: `connection refused`, `timed out`...
        message: String,
    },
    /// The body ended before the length the server announced, or the connection closed early.
    Truncated {
        /// The URL.
        url: String,
        /// `Content-Length`, when the server sent one.
        expected: Option<u64>,
        /// Bytes received.
        received: u64,
    },
    /// The body is larger than [`MAX_DOWNLOAD`].
    TooLarge {
        /// The URL.
        url: String,
        /// The bound.
        limit: u64,
    },
    /// The body is not UTF-8 text.
    NotText {
        /// The URL.
        url: String,
    },
    /// TDLib's `Version.h` has no `MTPROTO_LAYER = N`.
    NoLayer {
        /// The URL of `Version.h`.
        url: String,
    },
    /// The downloaded schema has errors.
    Schema {
        /// The URL.
        url: String,
        /// Every diagnostic (errors and warnings).
        diagnostics: Vec<Diagnostic>,
    },
    /// The `--compare` schema could not be read or checked.
    Compare(crate::diff::DiffError),
    /// The output could not be written.
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(m) => write!(f, "{m}"),
            Self::Status { url, status } => write!(f, "http status {status} from {url}: expected 200"),
            Self::Transport { url, message } => write!(f, "cannot download {url}: {message}"),
            Self::Truncated {
                url,
                expected: Some(expected),
                received,
            } => write!(
                f,
                "truncated download from {url}: expected {expected} bytes (content-length), received {received}"
            ),
            Self::Truncated {
                url,
                expected: None,
                received,
            } => write!(
                f,
                "truncated download from {url}: the connection closed early, after {received} bytes"
            ),
            Self::TooLarge { url, limit } => write!(f, "download from {url} is larger than the limit of {limit} bytes"),
            Self::NotText { url } => write!(f, "download from {url} is not utf-8 text"),
            Self::NoLayer { url } => write!(f, "no `MTPROTO_LAYER = N` constant in {url}"),
            Self::Schema { url, diagnostics } => {
                let errors: Vec<&Diagnostic> = diagnostics.iter().filter(|d| d.severity == Severity::Error).collect();
                for d in errors.iter().take(20) {
                    writeln!(f, "{d}\n")?;
                }
                if errors.len() > 20 {
                    writeln!(f, "... and {} more\n", errors.len() - 20)?;
                }
                write!(
                    f,
                    "the schema from {url} does not parse: {} error{}",
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                )
            }
            Self::Compare(e) => write!(f, "--compare: {e}"),
            Self::Write { path, source } => write!(f, "cannot write {}: {source}", path.display()),
        }
    }
}

impl std::error::Error for FetchError {}

/// A downloaded, checked schema, ready to write.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The schema URL.
    pub url: String,
    /// The layer (from the schema, TDLib's `Version.h`, or given).
    pub layer: Option<i32>,
    /// SHA-256 of the schema bytes as downloaded, lower-case hex.
    pub sha256: String,
    /// The file to write: header, then the schema as downloaded.
    pub text: String,
}

/// A blocking HTTP GET with timeouts and a size bound.
pub struct Client {
    agent: ureq::Agent,
}

impl Client {
    /// A client whose every request (connection and body included) takes at most `timeout`.
    pub fn new(timeout: Duration) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(timeout.min(Duration::from_secs(15)))
            .timeout(timeout)
            .redirects(5)
            .user_agent(concat!("tlgen/", env!("CARGO_PKG_VERSION")))
            .build();
        Self { agent }
    }

    /// The body of `url`: at most [`MAX_DOWNLOAD`] bytes, and exactly `Content-Length` when the
    /// server sent one.
    pub fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let response = match self.agent.get(url).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(status, _)) => {
                return Err(FetchError::Status {
                    url: url.to_string(),
                    status,
                })
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(FetchError::Transport {
                    url: url.to_string(),
                    message: transport_cause(&t),
                })
            }
        };
        // With a content encoding (gzip), Content-Length counts the encoded bytes.
        let encoded = response
            .header("content-encoding")
            .is_some_and(|e| !e.eq_ignore_ascii_case("identity"));
        let expected: Option<u64> = if encoded {
            None
        } else {
            response
                .header("content-length")
                .and_then(|v| v.trim().parse().ok())
        };
        if expected.is_some_and(|n| n > MAX_DOWNLOAD) {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit: MAX_DOWNLOAD,
            });
        }
        let mut body = Vec::new();
        let read = response
            .into_reader()
            .take(MAX_DOWNLOAD + 1)
            .read_to_end(&mut body);
        let received = u64::try_from(body.len()).unwrap_or(u64::MAX);
        if let Err(e) = read {
            return Err(match expected {
                Some(n) if received < n => FetchError::Truncated {
                    url: url.to_string(),
                    expected,
                    received,
                },
                _ if e.kind() == std::io::ErrorKind::UnexpectedEof => FetchError::Truncated {
                    url: url.to_string(),
                    expected,
                    received,
                },
                _ => FetchError::Transport {
                    url: url.to_string(),
                    message: io_cause(&e),
                },
            });
        }
        if received > MAX_DOWNLOAD {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit: MAX_DOWNLOAD,
            });
        }
        if expected.is_some_and(|n| n != received) {
            return Err(FetchError::Truncated {
                url: url.to_string(),
                expected,
                received,
            });
        }
        Ok(body)
    }
}

/// The `N` of `MTPROTO_LAYER = N` in TDLib's `Version.h`.
pub fn mtproto_layer(version_h: &str) -> Option<i32> {
    version_h.lines().find_map(|line| {
        let line = line.split("//").next().unwrap_or_default();
        let rest = &line[line.find("MTPROTO_LAYER")? + "MTPROTO_LAYER".len()..];
        let value = rest.trim_start().strip_prefix('=')?.trim_start();
        let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    })
}

/// Downloads and checks the schema of `source`; `base` replaces [`DEFAULT_BASE_URL`];
/// `layer` overrides the detected layer.
pub fn fetch(
    client: &Client,
    source: &Source,
    base: &str,
    layer: Option<i32>,
) -> Result<Fetched, FetchError> {
    let (url, version_url) = source.urls(base);
    let bytes = client.get(&url)?;
    let layer_from_version = match &version_url {
        Some(vurl) => {
            let v = client.get(vurl)?;
            let text =
                String::from_utf8(v).map_err(|_| FetchError::NotText { url: vurl.clone() })?;
            Some(mtproto_layer(&text).ok_or_else(|| FetchError::NoLayer { url: vurl.clone() })?)
        }
        None => None,
    };
    let sha256 = hex(&Sha256::digest(&bytes));
    let body = String::from_utf8(bytes).map_err(|_| FetchError::NotText { url: url.clone() })?;
    let (schema, diagnostics) = crate::check(&url, &body);
    let Some(schema) = schema else {
        return Err(FetchError::Schema { url, diagnostics });
    };
    let layer = layer.or(layer_from_version).or(schema.layer);
    let mut text = format!("// Fetched by tlgen fetch from {url}\n");
    match layer {
        Some(l) => text.push_str(&format!("// Layer: {l}\n")),
        None => text.push_str("// Layer: unknown\n"),
    }
    text.push_str(&format!("// SHA-256 of the downloaded file: {sha256}\n"));
    text.push('\n');
    text.push_str(&body);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    // The last `// LAYER N` line counts: add one when the schema has none or another.
    if let Some(l) = layer.filter(|&l| schema.layer != Some(l)) {
        text.push_str(&format!("\n// LAYER {l}\n"));
    }
    // The header and footer must not change what the schema says.
    let (checked, diagnostics) = crate::check(&url, &text);
    match checked {
        Some(s) if s.layer == layer => {}
        _ => return Err(FetchError::Schema { url, diagnostics }),
    }
    Ok(Fetched {
        url,
        layer,
        sha256,
        text,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `contents` to a temporary file beside `path`, then renames it over `path`: `path`
/// is either untouched or complete.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), FetchError> {
    let err = |source| FetchError::Write {
        path: path.to_path_buf(),
        source,
    };
    let name = path.file_name().ok_or_else(|| {
        err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a file name",
        ))
    })?;
    let tmp = path.with_file_name(format!(
        ".{}.tlgen-{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    if let Err(e) = std::fs::write(&tmp, contents).and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    Ok(())
}

/// Downloads and checks the schema of `options.source`, then writes it to `options.out`.
pub fn execute(options: &FetchOptions) -> Result<FetchReport, FetchError> {
    let source = Source::parse(&options.source, options.git_ref.as_deref())?;
    if options.timeout.is_zero() {
        return Err(FetchError::Usage(
            "--timeout must be at least 1 second".into(),
        ));
    }
    let base = match &options.base_url {
        Some(b) => b.clone(),
        None => std::env::var(BASE_URL_ENV).unwrap_or_else(|_| DEFAULT_BASE_URL.to_string()),
    };
    if !is_http_url(&base) {
        return Err(FetchError::Usage(format!(
            "base url `{base}` is not an http(s) URL"
        )));
    }
    // Read the comparison first, so that a bad --compare writes nothing.
    let old = match &options.compare {
        Some(p) => Some(crate::diff::load(p, None).map_err(FetchError::Compare)?),
        None => None,
    };
    let client = Client::new(options.timeout);
    let fetched = fetch(&client, &source, &base, options.layer)?;
    write_atomically(&options.out, fetched.text.as_bytes())?;
    let comparison = match (old, &options.compare) {
        (Some(old), Some(path)) => Some(match (fetched.layer, old.layer) {
            (Some(n), Some(o)) if n > o => {
                format!("layer {n} is newer than {} (layer {o})", path.display())
            }
            (Some(n), Some(o)) if n == o => format!("layer {n} is the same as {}", path.display()),
            (Some(n), Some(o)) => format!("layer {n} is older than {} (layer {o})", path.display()),
            _ => format!(
                "cannot compare layers: {} has no layer",
                if fetched.layer.is_none() {
                    "the fetched schema"
                } else {
                    "the old schema"
                }
            ),
        }),
        _ => None,
    };
    Ok(FetchReport {
        url: fetched.url,
        layer: fetched.layer,
        sha256: fetched.sha256,
        out: options.out.clone(),
        comparison,
    })
}

/// A short cause of a failed connection, without the URL (the message names it once).
fn transport_cause(t: &ureq::Transport) -> String {
    use std::error::Error as _;
    let fixed = match t.kind() {
        // The resolver's own text varies by platform and says no more than this.
        ureq::ErrorKind::Dns => "the host name does not resolve",
        ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => "not a valid URL",
        ureq::ErrorKind::TooManyRedirects => "too many redirects",
        ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader => "not a valid HTTP response",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.to_string();
    }
    // Connection and I/O failures: the I/O error's kind says it shortest.
    let mut source = t.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return io_cause(io);
        }
        source = e.source();
    }
    match t.kind() {
        ureq::ErrorKind::ConnectionFailed => "connection failed",
        _ => "connection error",
    }
    .to_string()
}

/// `connection refused`, `timed out`...: the kind of an I/O error, without the OS's text.
fn io_cause(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => "timed out".to_string(),
        // TLS failures come as invalid data with the TLS library's message.
        std::io::ErrorKind::InvalidData => format!("invalid data ({e})"),
        kind => kind.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_layer_from_version_h() {
        let h = "#pragma once\nnamespace td {\nconstexpr int32 MTPROTO_LAYER = 228;\n}\n";
        assert_eq!(mtproto_layer(h), Some(228));
        assert_eq!(mtproto_layer("// MTPROTO_LAYER = 3\nint x;\n"), None);
        assert_eq!(mtproto_layer("MTPROTO_LAYER = ;"), None);
        assert_eq!(mtproto_layer("MTPROTO_LAYER = 99999999999999;"), None);
    }

    #[test]
    fn builds_the_source_urls() {
        let s = Source::parse("tdlib", Some("v1.8.0")).unwrap();
        let (a, b) = s.urls("http://127.0.0.1:9/");
        assert_eq!(
            a,
            "http://127.0.0.1:9/tdlib/td/v1.8.0/td/generate/scheme/telegram_api.tl"
        );
        assert_eq!(
            b.as_deref(),
            Some("http://127.0.0.1:9/tdlib/td/v1.8.0/td/telegram/Version.h")
        );
        assert!(Source::parse("ftp://x", None).is_err());
        assert!(Source::parse("http://x/a.tl", Some("dev")).is_err());
    }
}
