//! Sign-in per auth key, migrations, exported authorizations, wrappers.

use crate::common::*;
use tlgen_runtime::{Object, Serializable};
use tlgen_telegram::{enums, functions as f, LAYER};

fn get_self() -> f::users::GetUsers {
    f::users::GetUsers {
        id: vec![enums::InputUser::InputUserSelf],
    }
}

#[test]
fn phone_code_flow_signs_the_key_in() {
    let (w, p) = world();
    let c = Client::new(&w, &p, 11, 2);
    assert_eq!(c.error(&get_self()), err(401, "AUTH_KEY_UNREGISTERED"));
    let hash = send_code(&c, "+1 555 000 1001").unwrap();
    assert!(!hash.is_empty());
    let wrong = c.call(&f::auth::SignIn {
        phone_number: "15550001001".into(),
        phone_code_hash: hash.clone(),
        phone_code: Some("54321".into()),
        email_verification: None,
    });
    assert_eq!(wrong.unwrap_err(), err(400, "PHONE_CODE_INVALID"));
    let empty = c.call(&f::auth::SignIn {
        phone_number: "15550001001".into(),
        phone_code_hash: hash.clone(),
        phone_code: None,
        email_verification: None,
    });
    assert_eq!(empty.unwrap_err(), err(400, "PHONE_CODE_EMPTY"));
    let other_hash = c.call(&f::auth::SignIn {
        phone_number: "15550001001".into(),
        phone_code_hash: "nonsense".into(),
        phone_code: Some("12345".into()),
        email_verification: None,
    });
    assert_eq!(other_hash.unwrap_err(), err(400, "PHONE_CODE_EXPIRED"));
    let auth = c
        .call(&f::auth::SignIn {
            phone_number: "15550001001".into(),
            phone_code_hash: hash,
            phone_code: Some(w.login_code()),
            email_verification: None,
        })
        .unwrap();
    let enums::auth::Authorization::Authorization(a) = auth else {
        panic!("signed in")
    };
    let me = user_of(&a.user);
    assert!(me.self_);
    assert_eq!(me.id, ALICE);
    assert_eq!(me.phone.as_deref(), Some("15550001001"));
    assert_eq!(w.signed_in_user(11), Some(ALICE));
    let users = c.call(&get_self()).unwrap();
    assert_eq!(user_of(&users[0]).first_name.as_deref(), Some("Alice"));
}

#[test]
fn the_key_not_the_connection_is_signed_in() {
    let (w, p) = world();
    login(&w, &p, 12, ALICE);
    let mut again = Client::new(&w, &p, 12, 2);
    again.connection = 99;
    assert!(again.call(&get_self()).is_ok());
    let other_key = Client::new(&w, &p, 13, 2);
    assert_eq!(
        other_key.error(&get_self()),
        err(401, "AUTH_KEY_UNREGISTERED")
    );
}

#[test]
fn help_and_auth_work_before_sign_in_and_nothing_else_does() {
    let (w, p) = world();
    let c = Client::new(&w, &p, 14, 2);
    assert!(c.call(&f::help::GetConfig).is_ok());
    assert!(c.call(&f::help::GetNearestDc).is_ok());
    assert_eq!(
        c.error(&f::updates::GetState),
        err(401, "AUTH_KEY_UNREGISTERED")
    );
    assert_eq!(
        c.error(&f::contacts::ResolveUsername {
            username: "alice".into(),
            referer: None
        }),
        err(401, "AUTH_KEY_UNREGISTERED")
    );
    // Unimplemented methods too: the key is checked first.
    assert_eq!(
        c.error(&f::messages::GetHistory::default()),
        err(401, "AUTH_KEY_UNREGISTERED")
    );
    assert_eq!(c.error(&f::auth::LogOut), err(401, "AUTH_KEY_UNREGISTERED"));
}

#[test]
fn sign_up_creates_a_user_for_a_new_phone() {
    let (w, p) = world();
    let c = Client::new(&w, &p, 15, 2);
    let hash = send_code(&c, "+44 7700 900123").unwrap();
    let auth = c
        .call(&f::auth::SignIn {
            phone_number: "447700900123".into(),
            phone_code_hash: hash.clone(),
            phone_code: Some("12345".into()),
            email_verification: None,
        })
        .unwrap();
    assert!(matches!(
        auth,
        enums::auth::Authorization::SignUpRequired(_)
    ));
    assert_eq!(w.signed_in_user(15), None);
    let bad_name = c.error(&f::auth::SignUp {
        no_joined_notifications: false,
        phone_number: "447700900123".into(),
        phone_code_hash: hash.clone(),
        first_name: "  ".into(),
        last_name: String::new(),
    });
    assert_eq!(bad_name, err(400, "FIRSTNAME_INVALID"));
    let auth = c
        .call(&f::auth::SignUp {
            no_joined_notifications: false,
            phone_number: "447700900123".into(),
            phone_code_hash: hash,
            first_name: "Frank".into(),
            last_name: "New".into(),
        })
        .unwrap();
    let enums::auth::Authorization::Authorization(a) = auth else {
        panic!("signed up")
    };
    let id = user_of(&a.user).id;
    assert_eq!(w.signed_in_user(15), Some(id));
    let view = w.user(id).unwrap();
    assert_eq!(
        (view.first_name.as_str(), view.last_name.as_str()),
        ("Frank", "New")
    );
    assert_eq!(view.phone.as_deref(), Some("447700900123"));
    assert_eq!(w.user_by_phone("+447700900123"), Some(id));
    // The phone is taken now.
    let hash = send_code(&c, "447700900123").unwrap();
    let again = c.error(&f::auth::SignUp {
        no_joined_notifications: false,
        phone_number: "447700900123".into(),
        phone_code_hash: hash,
        first_name: "Frank".into(),
        last_name: String::new(),
    });
    assert_eq!(again, err(400, "PHONE_NUMBER_OCCUPIED"));
}

#[test]
fn invalid_phones_are_refused() {
    let (w, p) = world();
    let c = Client::new(&w, &p, 16, 2);
    assert_eq!(
        send_code(&c, "call me").unwrap_err(),
        err(400, "PHONE_NUMBER_INVALID")
    );
    assert_eq!(
        send_code(&c, "12").unwrap_err(),
        err(400, "PHONE_NUMBER_INVALID")
    );
}

#[test]
fn bots_sign_in_with_their_token() {
    let (w, p) = world();
    let c = Client::new(&w, &p, 17, 2);
    for bad in [
        "7000000001:wrong",
        "garbage",
        "1001:AAEchoBotSecretForTheLoopbackWorld01",
        "",
    ] {
        let e = c.error(&f::auth::ImportBotAuthorization {
            flags: 0,
            api_id: 1,
            api_hash: "x".into(),
            bot_auth_token: bad.into(),
        });
        assert_eq!(e, err(400, "ACCESS_TOKEN_INVALID"), "{bad}");
    }
    let auth = c
        .call(&f::auth::ImportBotAuthorization {
            flags: 0,
            api_id: 1,
            api_hash: "x".into(),
            bot_auth_token: BOT_TOKEN.into(),
        })
        .unwrap();
    let enums::auth::Authorization::Authorization(a) = auth else {
        panic!("signed in")
    };
    let bot = user_of(&a.user);
    assert_eq!(bot.id, BOT);
    assert_eq!(bot.bot_info_version, Some(1), "the bot flag");
    // The bot is homed on DC 2: DC 1 sends it there.
    let elsewhere = Client::new(&w, &p, 18, 1);
    let e = elsewhere.error(&f::auth::ImportBotAuthorization {
        flags: 0,
        api_id: 1,
        api_hash: "x".into(),
        bot_auth_token: BOT_TOKEN.into(),
    });
    assert_eq!(e, err(303, "USER_MIGRATE_2"));
}

#[test]
fn phones_homed_elsewhere_migrate() {
    let (w, p) = world();
    let on_2 = Client::new(&w, &p, 19, 2);
    assert_eq!(
        send_code(&on_2, &phone_of(DAVE)).unwrap_err(),
        err(303, "PHONE_MIGRATE_1")
    );
    let on_1 = Client::new(&w, &p, 20, 1);
    assert_eq!(
        send_code(&on_1, &phone_of(ALICE)).unwrap_err(),
        err(303, "PHONE_MIGRATE_2")
    );
    // New phones go to the default DC (2).
    assert_eq!(
        send_code(&on_1, "+4915112345678").unwrap_err(),
        err(303, "PHONE_MIGRATE_2")
    );
    sign_in(&on_1, &phone_of(DAVE), "12345").unwrap();
    assert_eq!(w.signed_in_user(20), Some(DAVE));
    // A DC the server does not run never migrates.
    let mut lonely = Client::new(&w, &p, 21, 1);
    lonely.dcs.retain(|d| d.id == 1);
    sign_in(&lonely, &phone_of(ALICE), "12345").unwrap();
    assert_eq!(w.signed_in_user(21), Some(ALICE));
}

#[test]
fn exported_authorization_binds_a_key_on_another_dc() {
    let (w, p) = world();
    let home = login(&w, &p, 22, ALICE);
    assert_eq!(
        home.error(&f::auth::ExportAuthorization { dc_id: 9 }),
        err(400, "DC_ID_INVALID")
    );
    let enums::auth::ExportedAuthorization::ExportedAuthorization(e) = home
        .call(&f::auth::ExportAuthorization { dc_id: 1 })
        .unwrap();
    let other = Client::new(&w, &p, 23, 1);
    let wrong = other.error(&f::auth::ImportAuthorization {
        id: e.id,
        bytes: vec![0; 32],
    });
    assert_eq!(wrong, err(400, "AUTH_BYTES_INVALID"));
    // Only on the DC it was exported for.
    let third = Client::new(&w, &p, 24, 3);
    assert_eq!(
        third.error(&f::auth::ImportAuthorization {
            id: e.id,
            bytes: e.bytes.clone()
        }),
        err(400, "AUTH_BYTES_INVALID")
    );
    let auth = other
        .call(&f::auth::ImportAuthorization {
            id: e.id,
            bytes: e.bytes.clone(),
        })
        .unwrap();
    assert!(matches!(auth, enums::auth::Authorization::Authorization(_)));
    assert_eq!(w.signed_in_user(23), Some(ALICE));
    // Off the home DC: users.getUsers and help work, the rest is sent home.
    assert!(other.call(&get_self()).is_ok());
    assert!(other.call(&f::help::GetConfig).is_ok());
    assert_eq!(
        other.error(&f::updates::GetState),
        err(303, "USER_MIGRATE_2")
    );
}

#[test]
fn log_out_unbinds_the_key() {
    let (w, p) = world();
    let c = login(&w, &p, 25, BOB);
    assert!(c.call(&f::auth::LogOut).is_ok());
    assert_eq!(w.signed_in_user(25), None);
    assert_eq!(c.error(&get_self()), err(401, "AUTH_KEY_UNREGISTERED"));
}

#[test]
fn admin_sign_in_shortcut() {
    let (w, p) = world();
    assert!(!w.sign_in(26, 424242));
    assert!(w.sign_in(26, CAROL));
    let c = Client::new(&w, &p, 26, 2);
    assert_eq!(user_of(&c.call(&get_self()).unwrap()[0]).id, CAROL);
}

#[test]
fn wrappers_are_unwrapped_and_init_connection_is_recorded() {
    let (w, p) = world();
    let c = Client::new(&w, &p, 27, 2);
    let request = f::InvokeWithLayer {
        layer: LAYER,
        query: f::InitConnection {
            api_id: 6,
            device_model: "Test Rig".into(),
            system_version: "Linux".into(),
            app_version: "1.2.3".into(),
            system_lang_code: "en".into(),
            lang_pack: "".into(),
            lang_code: "en".into(),
            proxy: None,
            params: None,
            query: f::help::GetConfig,
        },
    };
    let enums::Config::Config(config) = c.call(&request).unwrap();
    assert_eq!(config.this_dc, 2);
    let info = w.client_info(27).unwrap();
    assert_eq!(info.device_model, "Test Rig");
    assert_eq!(info.app_version, "1.2.3");
    assert_eq!(info.api_id, 6);
    assert_eq!(info.layer, Some(LAYER));
    assert_eq!(w.method_count("invokeWithLayer"), 1);
    assert_eq!(w.method_count("initConnection"), 1);
    assert_eq!(w.method_count("help.getConfig"), 1);

    // The sign-in rule applies to the inner query.
    let inner = f::InvokeAfterMsg {
        msg_id: 5,
        query: f::InvokeWithoutUpdates {
            query: f::updates::GetState,
        },
    };
    assert_eq!(c.error(&inner), err(401, "AUTH_KEY_UNREGISTERED"));
    w.sign_in(27, ALICE);
    assert!(c.call(&inner).is_ok());
    let many = f::InvokeAfterMsgs {
        msg_ids: vec![1, 2, 3],
        query: f::updates::GetState,
    };
    assert!(c.call(&many).is_ok());

    // Nesting is bounded: 8 wrappers are fine, 20 are not.
    let mut body = f::help::GetNearestDc.to_bytes();
    for _ in 0..8 {
        body = f::InvokeWithoutUpdates {
            query: Object(body),
        }
        .to_bytes();
    }
    assert!(matches!(c.raw(&body), tlgen_world::Reply::Result(_)));
    let mut body = f::help::GetNearestDc.to_bytes();
    for _ in 0..20 {
        body = f::InvokeWithoutUpdates {
            query: Object(body),
        }
        .to_bytes();
    }
    assert_eq!(
        c.raw(&body),
        tlgen_world::Reply::error(400, "INPUT_METHOD_INVALID")
    );
}

#[test]
fn config_lists_the_servers_dcs() {
    let (w, p) = world();
    let c = Client::new(&w, &p, 28, 3);
    let enums::Config::Config(config) = c.call(&f::help::GetConfig).unwrap();
    assert_eq!(config.this_dc, 3);
    assert_eq!(config.date, 1_800_000_000);
    assert!(config.expires > config.date);
    let options: Vec<(i32, String, i32)> = config
        .dc_options
        .iter()
        .map(|o| {
            let enums::DcOption::DcOption(o) = o;
            (o.id, o.ip_address.clone(), o.port)
        })
        .collect();
    assert_eq!(
        options,
        vec![
            (1, "127.0.0.1".to_string(), 44401),
            (2, "127.0.0.1".to_string(), 44402),
            (3, "127.0.0.1".to_string(), 44403)
        ]
    );
    assert!(config.message_length_max > 0 && config.chat_size_max > 0);
    let enums::NearestDc::NearestDc(n) = c.call(&f::help::GetNearestDc).unwrap();
    assert_eq!((n.this_dc, n.nearest_dc), (3, 3));
}
