//! The three raw-API examples end to end against the in-process loopback server, and the
//! peer cache and `resolve_peer` around them: every input form, hits and misses, typed
//! not-found errors, one request for concurrent resolves, and a cache that survives a restart.

use std::sync::Arc;
use std::time::Duration;

use tlgen_advanced_usage::{client_config, examples, sign_in, world, Demo};
use tlgen_loopback::Server;
use tlgen_session::{MemoryStore, PeerKind, SessionStore, SqliteStore};
use tlgen_telegram::{enums, functions, App, Client, PeerQuery, ResolveError};
use tlgen_world::World;

const LIMIT: Duration = Duration::from_secs(60);

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .expect("finished within 60 s")
}

/// The next `Updates` of the stream (a fresh session may first say so: that is skipped).
async fn next_updates(updates: &mut tlgen_telegram::UpdateStream) -> enums::Updates {
    loop {
        match updates.recv().await.expect("an update") {
            tlgen_telegram::UpdateEvent::Updates(u) => return u,
            tlgen_telegram::UpdateEvent::NewSession => continue,
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_examples_change_the_server() {
    bounded(async {
        let demo = Demo::start().await.unwrap();
        let me = demo.client.self_id().unwrap();
        examples::update_profile(&demo.client).await.unwrap();
        examples::set_privacy(&demo.client).await.unwrap();
        let before = demo.world.method_counts();
        examples::invite_to_channel(&demo.client).await.unwrap();
        let after = demo.world.method_counts();
        let ran =
            |m: &str| after.get(m).copied().unwrap_or(0) - before.get(m).copied().unwrap_or(0);

        let u = demo.world.user(me).unwrap();
        assert_eq!(
            (u.first_name.as_str(), u.last_name.as_str()),
            ("Dan", "Tès")
        );
        assert_eq!(u.about, "Bio written from tlgen");
        assert_eq!(
            demo.world.privacy(me, "status_timestamp"),
            Some(vec!["allow_contacts".to_string()])
        );
        let members = demo.world.channel_members(1234567890).unwrap();
        for user in [1003, 1004, 1005] {
            assert!(members.contains(&user), "{user} not in {members:?}");
        }
        // Each user by a different route: Carol from the cache (no request), Dave by
        // username, Erin by phone; the channel from the cache (the dialogs).
        assert_eq!(ran("contacts.resolveUsername"), 1, "{after:?}");
        assert_eq!(ran("contacts.resolvePhone"), 1, "{after:?}");
        assert_eq!(ran("users.getUsers"), 0, "{after:?}");
        assert_eq!(ran("channels.getChannels"), 0, "{after:?}");
        assert_eq!(ran("channels.inviteToChannel"), 1, "{after:?}");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_input_form_resolves() {
    bounded(async {
        let demo = Demo::start().await.unwrap();
        let c = &demo.client;
        let me = c.resolve_peer("me").await.unwrap();
        assert!(me.is_self);
        assert!(matches!(
            enums::InputPeer::from(&me),
            enums::InputPeer::InputPeerSelf
        ));
        for q in [
            "carol",
            "@carol",
            "t.me/carol",
            "https://t.me/carol",
            "CAROL",
        ] {
            let p = c
                .resolve_peer(q)
                .await
                .unwrap_or_else(|e| panic!("{q}: {e}"));
            assert_eq!((p.kind, p.id), (PeerKind::User, 1003), "{q}");
            assert!(p.access_hash.is_some());
        }
        for q in ["+15550001004", "15550001004", "+1 555-000-1004"] {
            let p = c
                .resolve_peer(q)
                .await
                .unwrap_or_else(|e| panic!("{q}: {e}"));
            assert_eq!((p.kind, p.id), (PeerKind::User, 1004), "{q}");
        }
        let news = c.resolve_peer("tlgen_news").await.unwrap();
        assert_eq!((news.kind, news.id), (PeerKind::Channel, 1234567890));
        assert_eq!(news.marked_id(), -1001234567890);
        let chat = c.resolve_peer(-4242_i64).await.unwrap();
        assert_eq!(chat.kind, PeerKind::Chat);
        assert!(enums::InputChannel::try_from(chat).is_err());
        // An integer is an id, a string of digits a phone.
        let by_id = c.resolve_peer(1002_i64).await.unwrap();
        assert_eq!(by_id.id, 1002);
        assert!(c.resolve_peer("1002").await.is_err());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misses_are_typed_not_found_errors() {
    bounded(async {
        let demo = Demo::start().await.unwrap();
        let c = &demo.client;
        for (q, query) in [
            ("nobody_here", PeerQuery::Username("nobody_here".into())),
            ("+15559999999", PeerQuery::Phone("15559999999".into())),
        ] {
            match c.resolve_peer(q).await {
                Err(ResolveError::NotFound { query: got, error }) => {
                    assert_eq!(got, query);
                    assert!(error.is_some(), "{q}");
                }
                other => panic!("{q}: {other:?}"),
            }
        }
        match c.resolve_peer(999_999_i64).await {
            Err(e @ ResolveError::NotFound { .. }) => {
                assert!(e.to_string().contains("999999"), "{e}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c.resolve_peer(-1_000_000_000_000_i64).await,
            Err(ResolveError::BadId(_))
        ));
        assert!(matches!(
            c.resolve_peer("a b").await,
            Err(ResolveError::BadQuery(_))
        ));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_resolves_of_one_name_ask_once() {
    bounded(async {
        let demo = Demo::start().await.unwrap();
        let before = demo.world.method_count("contacts.resolveUsername");
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let c = demo.client.clone();
                tokio::spawn(async move { c.resolve_peer("dave_jones").await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().id, 1004);
        }
        assert_eq!(
            demo.world.method_count("contacts.resolveUsername") - before,
            1
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_client_keeps_its_key_its_sign_in_and_its_peers() {
    bounded(async {
        let world = Arc::new(World::builtin());
        let server = Server::builder()
            .service(world.clone())
            .start()
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alice.session");
        let config = |store| client_config(&server, server.dcs()[0].id, store);
        {
            let store: Arc<dyn SessionStore> = Arc::new(SqliteStore::open(&path).unwrap());
            let client = Client::connect(config(store), App::new(1, "h"))
                .await
                .unwrap();
            sign_in(&client, &world, world::PHONE).await.unwrap();
            client.resolve_peer("dave_jones").await.unwrap();
            client.sync_update_state().await.unwrap();
            assert_eq!(client.connection().stats().key_exchanges, 1);
        }
        // The first client is gone (its store closed with it); the second opens the file.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let store: Arc<dyn SessionStore> = Arc::new(SqliteStore::open(&path).unwrap());
        let client = Client::connect(config(store), App::new(1, "h"))
            .await
            .unwrap();
        assert_eq!(
            client.connection().stats().key_exchanges,
            0,
            "the stored key served"
        );
        assert_eq!(client.self_id(), Some(1001));
        let resolves = world.method_count("contacts.resolveUsername");
        let dave = client.resolve_peer("@dave_jones").await.unwrap();
        assert_eq!(dave.id, 1004);
        assert_eq!(
            world.method_count("contacts.resolveUsername"),
            resolves,
            "from the stored cache"
        );
        // Still signed in: a call that needs a user works.
        client
            .send(&functions::users::GetUsers {
                id: vec![enums::InputUser::InputUserSelf],
            })
            .await
            .unwrap();
        server.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_homed_on_another_dc_moves_the_client() {
    bounded(async {
        let world = Arc::new(World::builtin());
        let server = Server::builder()
            .service(world.clone())
            .dcs(2)
            .start()
            .await
            .unwrap();
        let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
        // Dave is homed on DC 1; the client starts on DC 2.
        let config = client_config(&server, 2, store.clone());
        let client = Client::connect(config, App::new(1, "h")).await.unwrap();
        let user = sign_in(&client, &world, "15550001004").await.unwrap();
        assert_eq!(user.id, 1004);
        assert_eq!(client.connection().dc_id(), 1);
        assert_eq!(store.home_dc().unwrap(), Some(1));
        server.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_update_stream_follows_the_account_to_its_home_dc() {
    bounded(async {
        let world = Arc::new(World::builtin());
        let server = Server::builder()
            .service(world.clone())
            .dcs(2)
            .start()
            .await
            .unwrap();
        // Dave is homed on DC 1; his client starts on DC 2 and takes its updates first.
        let dave_config = client_config(&server, 2, Arc::new(MemoryStore::new()));
        let dave = Client::connect(dave_config, App::new(1, "h"))
            .await
            .unwrap();
        let mut updates = dave.updates().expect("the stream");
        sign_in(&dave, &world, "15550001004").await.unwrap();
        assert_eq!(dave.connection().dc_id(), 1);
        let alice_config = client_config(&server, 1, Arc::new(MemoryStore::new()));
        let alice = Client::connect(alice_config, App::new(1, "h"))
            .await
            .unwrap();
        sign_in(&alice, &world, world::PHONE).await.unwrap();
        let to_dave = alice.resolve_peer("+15550001004").await.unwrap();
        alice
            .send(&functions::messages::SendMessage {
                peer: to_dave.into(),
                message: "hello on your home DC".into(),
                random_id: 7,
                ..Default::default()
            })
            .await
            .unwrap();
        let u = next_updates(&mut updates).await;
        assert!(format!("{u:?}").contains("hello on your home DC"));
        server.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_arrive_typed_and_fill_the_peer_cache() {
    bounded(async {
        let world = Arc::new(World::builtin());
        let server = Server::builder()
            .service(world.clone())
            .start()
            .await
            .unwrap();
        let connect = |phone: &'static str| {
            let config = client_config(&server, server.dcs()[0].id, Arc::new(MemoryStore::new()));
            let world = world.clone();
            async move {
                let client = Client::connect(config, App::new(1, "h")).await.unwrap();
                sign_in(&client, &world, phone).await.unwrap();
                client
            }
        };
        let alice = connect(world::PHONE).await;
        let bob = connect("15550001002").await;
        let mut updates = bob.updates().expect("the stream is taken once");
        assert!(bob.updates().is_none());
        alice
            .send(&functions::messages::SendMessage {
                peer: enums::InputPeer::Chat(tlgen_telegram::types::InputPeerChat {
                    chat_id: 4242,
                }),
                message: "hello, Tea Party".into(),
                random_id: 42,
                ..Default::default()
            })
            .await
            .unwrap();
        let u = next_updates(&mut updates).await;
        assert!(format!("{u:?}").contains("hello, Tea Party"));
        // Alice came with the update: Bob resolves her id without asking the server.
        let asked = world.method_count("users.getUsers");
        let found = bob.resolve_peer(1001_i64).await.unwrap();
        assert_eq!((found.kind, found.id), (PeerKind::User, 1001));
        assert_eq!(world.method_count("users.getUsers"), asked);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_migrate_goes_to_the_other_dc_with_an_imported_authorization() {
    use tlgen_telegram::runtime::Identifiable;
    bounded(async {
        let world = Arc::new(World::builtin());
        let server = Server::builder()
            .service(world.clone())
            .dcs(2)
            .start()
            .await
            .unwrap();
        let config = client_config(&server, 2, Arc::new(MemoryStore::new()));
        let client = Client::connect(config, App::new(1, "h")).await.unwrap();
        sign_in(&client, &world, world::PHONE).await.unwrap();
        // Alice lives on DC 2; her DC 2 connection says the "file" is on DC 1.
        let get_users = <functions::users::GetUsers as Identifiable>::CONSTRUCTOR_ID;
        let home = server.connections();
        assert_eq!(home.len(), 1);
        let faults = tlgen_loopback::Faults {
            intercept: Some(Arc::new(move |id, _| {
                (id == get_users).then(|| tlgen_world::Reply::error(303, "FILE_MIGRATE_1"))
            })),
            ..Default::default()
        };
        assert!(server.set_connection_faults(home[0].id, Some(faults)));
        let users = client
            .send(&functions::users::GetUsers {
                id: vec![enums::InputUser::InputUserSelf],
            })
            .await
            .unwrap();
        assert!(matches!(&users[..], [enums::User::User(u)] if u.id == 1001));
        assert_eq!(world.method_count("auth.exportAuthorization"), 1);
        assert_eq!(world.method_count("auth.importAuthorization"), 1);
        // The home DC did not move, and the second connection is kept for the next one.
        assert_eq!(client.connection().dc_id(), 2);
        client
            .send(&functions::users::GetUsers {
                id: vec![enums::InputUser::InputUserSelf],
            })
            .await
            .unwrap();
        assert_eq!(world.method_count("auth.importAuthorization"), 1);
        server.shutdown().await;
    })
    .await;
}
