//! Pyrogram's "Advanced Usage" raw-API examples in typed Rust: update the profile, set a
//! privacy rule, and invite users resolved by id, username and phone into a channel, run
//! against tlgen's loopback server with its built-in world (no account, no network).
//!
//! [`examples`] is the part a user writes against any Telegram server; [`Demo`] starts the
//! loopback server in-process and signs in, for the binary and the tests.

use std::error::Error;
use std::sync::Arc;

use tlgen_loopback::{Server, ServerHandle};
use tlgen_session::{MemoryStore, SessionStore};
use tlgen_telegram::{enums, functions, App, Client};
use tlgen_world::World;

/// Boxed error of the examples.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// Who the examples sign in as, and the peers they resolve (all in the built-in world).
pub mod world {
    /// Alice's phone: she signs in, and created the channel.
    pub const PHONE: &str = "15550001001";
    /// The channel "tlgen News" as a Bot-API marked id.
    pub const CHANNEL: i64 = -1001234567890;
    /// Carol, invited by id (her id is in the cache after `contacts.getContacts`).
    pub const USER_ID: i64 = 1003;
    /// Dave, invited by username.
    pub const USERNAME: &str = "@dave_jones";
    /// Erin, invited by phone.
    pub const USER_PHONE: &str = "+15550001005";
}

/// The three examples, as a user writes them. Each returns a line saying what it did.
pub mod examples {
    use super::*;

    /// `account.updateProfile`: first name, last name and bio.
    pub async fn update_profile(client: &Client) -> Result<String, BoxError> {
        let user = client
            .send(&functions::account::UpdateProfile {
                first_name: Some("Dan".into()),
                last_name: Some("Tès".into()),
                about: Some("Bio written from tlgen".into()),
            })
            .await?;
        let enums::User::User(user) = user else {
            return Err("account.updateProfile returned an empty user".into());
        };
        Ok(format!(
            "account.updateProfile: now {} {}",
            user.first_name.as_deref().unwrap_or(""),
            user.last_name.as_deref().unwrap_or("")
        ))
    }

    /// `account.setPrivacy`: only contacts see the last-seen time.
    pub async fn set_privacy(client: &Client) -> Result<String, BoxError> {
        let enums::account::PrivacyRules::PrivacyRules(rules) = client
            .send(&functions::account::SetPrivacy {
                key: enums::InputPrivacyKey::StatusTimestamp,
                rules: vec![enums::InputPrivacyRule::ValueAllowContacts],
            })
            .await?;
        Ok(format!(
            "account.setPrivacy: last seen visible to contacts ({} rule(s) stored)",
            rules.rules.len()
        ))
    }

    /// `channels.inviteToChannel` with the channel and three users resolved by id, username
    /// and phone.
    pub async fn invite_to_channel(client: &Client) -> Result<String, BoxError> {
        let invited = client
            .send(&functions::channels::InviteToChannel {
                channel: client.resolve_peer(world::CHANNEL).await?.try_into()?,
                users: vec![
                    client.resolve_peer(world::USER_ID).await?.try_into()?,
                    client.resolve_peer(world::USERNAME).await?.try_into()?,
                    client.resolve_peer(world::USER_PHONE).await?.try_into()?,
                ],
            })
            .await?;
        let enums::messages::InvitedUsers::InvitedUsers(invited) = invited;
        Ok(format!(
            "channels.inviteToChannel: channel {} and users {}, {:?}, {:?} (resolved by id, \
             username and phone); {} could not be invited",
            world::CHANNEL,
            world::USER_ID,
            world::USERNAME,
            world::USER_PHONE,
            invited.missing_invitees.len()
        ))
    }
}

/// A client configuration for DC `dc` of `server`: its address, its key, and every DC of the
/// server for migrations.
pub fn client_config(
    server: &ServerHandle,
    dc: i32,
    store: Arc<dyn SessionStore>,
) -> tlgen_client::Config {
    let mut config = tlgen_client::Config::new(
        dc,
        server.addr(dc).to_string(),
        vec![server.rsa_public_key()],
        store,
    );
    config.dcs = server
        .dcs()
        .iter()
        .map(|d| (d.id, d.addr.to_string()))
        .collect();
    config
}

/// Signs `client` in as the world's user with `phone` (the phone-code flow, with the world's
/// login code).
///
/// # Errors
///
/// The server's error or a connection error.
pub async fn sign_in(
    client: &Client,
    world: &World,
    phone: &str,
) -> Result<tlgen_telegram::types::User, tlgen_telegram::InvocationError> {
    let hash = client.request_login_code(phone).await?;
    client.sign_in(phone, &hash, &world.login_code()).await
}

/// The loopback server with the built-in world, and a client signed in as Alice.
pub struct Demo {
    /// The server (stops when dropped).
    pub server: ServerHandle,
    /// Its world, to read what the client changed.
    pub world: Arc<World>,
    /// The signed-in client.
    pub client: Client,
}

impl Demo {
    /// Starts the server on 127.0.0.1 (a port chosen by the OS), connects, and signs in with
    /// the phone-code flow.
    ///
    /// # Errors
    ///
    /// Any failure to start, connect or sign in.
    pub async fn start() -> Result<Self, BoxError> {
        let world = Arc::new(World::builtin());
        let server = Server::builder().service(world.clone()).start().await?;
        let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
        let config = client_config(&server, server.dcs()[0].id, store);
        let client = Client::connect(config, App::new(12345, "0123456789abcdef")).await?;
        sign_in(&client, &world, world::PHONE).await?;
        // As a client does after signing in: the dialogs and the contact list fill the peer
        // cache.
        client
            .send(&functions::messages::GetDialogs {
                limit: 100,
                offset_peer: enums::InputPeer::Empty,
                ..Default::default()
            })
            .await?;
        client
            .send(&functions::contacts::GetContacts { hash: 0 })
            .await?;
        Ok(Self {
            server,
            world,
            client,
        })
    }
}
