//! The world file: what a world holds before any client acts on it (JSON).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// Largest world file read, in bytes.
pub const MAX_FILE_LEN: u64 = 4 << 20;

/// A world as written in a file (or built in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldSpec {
    /// Mixed into every access hash: two worlds with different secrets give different hashes.
    #[serde(default = "default_secret")]
    pub secret: String,
    /// The code `auth.signIn` accepts for every phone.
    #[serde(default = "default_login_code")]
    pub login_code: String,
    /// The DC new users (`auth.signUp`) are homed on.
    #[serde(default = "default_dc")]
    pub default_dc: i32,
    /// The users.
    #[serde(default)]
    pub users: Vec<UserSpec>,
    /// Basic groups.
    #[serde(default)]
    pub chats: Vec<ChatSpec>,
    /// Channels and supergroups.
    #[serde(default)]
    pub channels: Vec<ChannelSpec>,
}

fn default_secret() -> String {
    "tlgen-world".to_string()
}
fn default_login_code() -> String {
    "12345".to_string()
}
fn default_dc() -> i32 {
    2
}

/// One user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// The user id (positive).
    pub id: i64,
    /// First name (non-empty).
    pub first_name: String,
    /// Last name.
    #[serde(default)]
    pub last_name: String,
    /// Usernames, the first one is the main one (without `@`).
    #[serde(default)]
    pub usernames: Vec<String>,
    /// Phone number, digits only (international form without `+`).
    #[serde(default)]
    pub phone: Option<String>,
    /// Bio.
    #[serde(default)]
    pub about: String,
    /// A bot: it signs in with `auth.importBotAuthorization` and `<id>:<bot_token>`.
    #[serde(default)]
    pub bot: bool,
    /// The secret half of a bot's token.
    #[serde(default)]
    pub bot_token: Option<String>,
    /// The DC the user is homed on.
    #[serde(default = "default_dc")]
    pub dc: i32,
    /// User ids in this user's contact list.
    #[serde(default)]
    pub contacts: Vec<i64>,
    /// Privacy rules: key (`phone_number`, `status_timestamp`, ...) to rules.
    #[serde(default)]
    pub privacy: Vec<PrivacySpec>,
}

/// Privacy rules for one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacySpec {
    /// The key, as in `inputPrivacyKey<Key>` in snake case: `status_timestamp`, `phone_number`,
    /// `about`, `chat_invite`, `phone_call`, `profile_photo`, `forwards`, `added_by_phone` ...
    pub key: String,
    /// The rules, in order: `allow_all`, `allow_contacts`, `disallow_all`, `disallow_contacts`,
    /// `allow_users:1,2`, `disallow_users:3`.
    pub rules: Vec<String>,
}

/// A basic group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSpec {
    /// The chat id (positive; `-id` as a Bot-API marked id).
    pub id: i64,
    /// Title (non-empty).
    pub title: String,
    /// Who created it (a member).
    pub creator: i64,
    /// Admins besides the creator.
    #[serde(default)]
    pub admins: Vec<i64>,
    /// Members besides the creator and admins.
    #[serde(default)]
    pub members: Vec<i64>,
}

/// A channel (broadcast) or supergroup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    /// The channel id (positive; `-100<id>` as a Bot-API marked id).
    pub id: i64,
    /// Title (non-empty).
    pub title: String,
    /// Public username, if any.
    #[serde(default)]
    pub username: Option<String>,
    /// A supergroup rather than a broadcast channel.
    #[serde(default)]
    pub megagroup: bool,
    /// About text.
    #[serde(default)]
    pub about: String,
    /// Who created it.
    pub creator: i64,
    /// Admins besides the creator (they may invite users).
    #[serde(default)]
    pub admins: Vec<i64>,
    /// Members besides the creator and admins.
    #[serde(default)]
    pub members: Vec<i64>,
}

/// Why a world could not be loaded.
#[derive(Debug)]
pub struct WorldError {
    /// The file, when there is one.
    pub path: Option<PathBuf>,
    /// What is wrong.
    pub kind: WorldErrorKind,
}

/// What is wrong with a world.
#[derive(Debug)]
pub enum WorldErrorKind {
    /// The file could not be read.
    Io(std::io::Error),
    /// The file is larger than [`MAX_FILE_LEN`].
    TooLarge(u64),
    /// Not valid JSON for a world, at `line`:`column`.
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// Valid JSON, but the world is inconsistent (duplicate id, unknown member ...).
    Invalid(String),
}

impl WorldError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self {
            path: None,
            kind: WorldErrorKind::Invalid(message.into()),
        }
    }

    pub(crate) fn at(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }
}

impl fmt::Display for WorldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = match &self.path {
            Some(p) => format!("world file {}", p.display()),
            None => "world".to_string(),
        };
        match &self.kind {
            WorldErrorKind::Io(e) => write!(f, "{place}: cannot read: {e}"),
            WorldErrorKind::TooLarge(n) => {
                write!(
                    f,
                    "{place}: {n} bytes, more than the {MAX_FILE_LEN} allowed"
                )
            }
            WorldErrorKind::Syntax {
                line,
                column,
                message,
            } => write!(f, "{place}:{line}:{column}: {message}"),
            WorldErrorKind::Invalid(m) => write!(f, "{place}: {m}"),
        }
    }
}

impl std::error::Error for WorldError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            WorldErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl WorldSpec {
    /// Parses a world from JSON text.
    pub fn from_json(text: &str) -> Result<Self, WorldError> {
        serde_json::from_str(text).map_err(|e| WorldError {
            path: None,
            kind: WorldErrorKind::Syntax {
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            },
        })
    }

    /// Reads a world file (JSON).
    pub fn from_file(path: &Path) -> Result<Self, WorldError> {
        use std::io::Read;
        let io = |e| WorldError {
            path: Some(path.to_path_buf()),
            kind: WorldErrorKind::Io(e),
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len > MAX_FILE_LEN {
            return Err(WorldError {
                path: Some(path.to_path_buf()),
                kind: WorldErrorKind::TooLarge(len),
            });
        }
        let mut text = String::new();
        file.take(MAX_FILE_LEN + 1)
            .read_to_string(&mut text)
            .map_err(io)?;
        Self::from_json(&text).map_err(|e| e.at(path))
    }
}
