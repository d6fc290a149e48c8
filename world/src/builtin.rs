//! The built-in default world.

use crate::spec::{ChannelSpec, ChatSpec, PrivacySpec, UserSpec, WorldSpec};

fn user(id: i64, first: &str, last: &str, usernames: &[&str], phone: &str, dc: i32) -> UserSpec {
    UserSpec {
        id,
        first_name: first.to_string(),
        last_name: last.to_string(),
        usernames: usernames.iter().map(|u| u.to_string()).collect(),
        phone: (!phone.is_empty()).then(|| phone.to_string()),
        about: String::new(),
        bot: false,
        bot_token: None,
        dc,
        contacts: Vec::new(),
        privacy: Vec::new(),
    }
}

/// The built-in world's description.
pub fn spec() -> WorldSpec {
    let mut alice = user(
        1001,
        "Alice",
        "Liddell",
        &["alice", "alice_l"],
        "15550001001",
        2,
    );
    alice.about = "Curiouser and curiouser.".to_string();
    alice.contacts = vec![1002, 1003];
    let mut bob = user(1002, "Bob", "Builder", &["bobbuilder"], "15550001002", 2);
    bob.contacts = vec![1001];
    let carol = user(1003, "Carol", "Danvers", &["carol"], "15550001003", 2);
    let dave = user(1004, "Dave", "Jones", &["dave_jones"], "15550001004", 1);
    let mut erin = user(1005, "Erin", "", &[], "15550001005", 2);
    erin.privacy = vec![PrivacySpec {
        key: "phone_number".to_string(),
        rules: vec!["allow_contacts".to_string()],
    }];
    let mut bot = user(7000000001, "Echo", "Bot", &["echo_bot"], "", 2);
    bot.bot = true;
    bot.bot_token = Some("AAEchoBotSecretForTheLoopbackWorld01".to_string());
    WorldSpec {
        secret: "tlgen-builtin-world".to_string(),
        login_code: "12345".to_string(),
        default_dc: 2,
        users: vec![alice, bob, carol, dave, erin, bot],
        chats: vec![ChatSpec {
            id: 4242,
            title: "Tea Party".to_string(),
            creator: 1001,
            admins: vec![],
            members: vec![1002, 1003],
        }],
        channels: vec![
            ChannelSpec {
                id: 1234567890,
                title: "tlgen News".to_string(),
                username: Some("tlgen_news".to_string()),
                megagroup: false,
                about: "Announcements of the loopback world.".to_string(),
                creator: 1001,
                admins: vec![],
                members: vec![1002],
            },
            ChannelSpec {
                id: 1234567891,
                title: "tlgen Chat".to_string(),
                username: Some("tlgen_chat".to_string()),
                megagroup: true,
                about: String::new(),
                creator: 1002,
                admins: vec![1001],
                members: vec![1003],
            },
        ],
    }
}
