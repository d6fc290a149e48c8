//! The handlers: one request body in, one [`Reply`] out.

use crate::state::{
    normalize_phone, valid_username, ClientInfo, Export, LogEntry, PeerRef, PendingCode, Rule,
    State, StoredMessage, MAX_LOG, PRIVACY_KEYS,
};
use crate::world::name_of;
use crate::{CallContext, Reply};
use std::collections::{BTreeMap, BTreeSet};
use tlgen_runtime::{Deserializable, Identifiable, Object, RemoteCall, Serializable};
use tlgen_telegram::{enums, functions as f, types};
use tracing::{debug, info};

type R<T> = Result<T, Reply>;

/// Deepest nesting of wrappers (`invokeWithLayer(initConnection(...))` is 2).
const MAX_WRAPPERS: u32 = 8;
/// Longest message text.
const MAX_MESSAGE: usize = 4096;
/// Most users one `channels.inviteToChannel` may name.
const MAX_INVITE: usize = 200;
/// Most members a channel may have.
const MAX_MEMBERS: usize = 200_000;
/// Most ids one `users.getUsers`, `messages.getChats` or `channels.getChannels` answers for
/// (the rest are left out), so that an answer stays a small multiple of its request.
const MAX_IDS: usize = 200;
/// Most messages kept in the world's log of sent messages.
const MAX_STORED: usize = 100_000;

const INVOKE_WITH_LAYER: u32 = <f::InvokeWithLayer<Object> as Identifiable>::CONSTRUCTOR_ID;
const INIT_CONNECTION: u32 = <f::InitConnection<Object> as Identifiable>::CONSTRUCTOR_ID;
const INVOKE_AFTER_MSG: u32 = <f::InvokeAfterMsg<Object> as Identifiable>::CONSTRUCTOR_ID;
const INVOKE_AFTER_MSGS: u32 = <f::InvokeAfterMsgs<Object> as Identifiable>::CONSTRUCTOR_ID;
const INVOKE_WITHOUT_UPDATES: u32 =
    <f::InvokeWithoutUpdates<Object> as Identifiable>::CONSTRUCTOR_ID;

fn bad(message: &str) -> Reply {
    Reply::error(400, message)
}

fn decode<F: Deserializable>(body: &[u8]) -> R<F> {
    let refuse = |e: tlgen_runtime::DecodeError| {
        debug!(error = %e, "request body does not decode");
        bad("INPUT_METHOD_INVALID")
    };
    let first = match F::from_bytes(body) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    // Telegram takes an `InputPeer` where an `InputUser` or `InputChannel` is asked for, when
    // the constructors hold the same fields (Pyrogram's documented examples rely on it: its
    // `resolve_peer` gives `InputPeer`s). Each such id is swapped for its twin and the body
    // read again, at most once per value in it.
    let mut patched: Option<Vec<u8>> = None;
    let mut error = first;
    for _ in 0..MAX_TWINS {
        let tlgen_runtime::DecodeErrorKind::UnknownConstructor { ty, id } = *error.kind() else {
            break;
        };
        let Some(twin) = twin(ty, id) else { break };
        let bytes = patched.get_or_insert_with(|| body.to_vec());
        let at = error.offset();
        match bytes.get(at..at + 4) {
            Some(found) if found == id.to_le_bytes() => {
                bytes[at..at + 4].copy_from_slice(&twin.to_le_bytes());
            }
            _ => break,
        }
        match F::from_bytes(bytes) {
            Ok(v) => return Ok(v),
            Err(e) => error = e,
        }
    }
    Err(refuse(error))
}

/// Most `InputPeer`s swapped for their twins in one request.
const MAX_TWINS: usize = 256;

/// The `InputUser` or `InputChannel` constructor with the same fields as the `InputPeer`
/// constructor `id`, where the boxed type `ty` was being read.
fn twin(ty: &str, id: u32) -> Option<u32> {
    fn cid<T: Identifiable>() -> u32 {
        T::CONSTRUCTOR_ID
    }
    let user = [
        (cid::<types::InputPeerUser>(), cid::<types::InputUser>()),
        (cid::<types::InputPeerSelf>(), cid::<types::InputUserSelf>()),
        (
            cid::<types::InputPeerEmpty>(),
            cid::<types::InputUserEmpty>(),
        ),
        (
            cid::<types::InputPeerUserFromMessage>(),
            cid::<types::InputUserFromMessage>(),
        ),
    ];
    let channel = [
        (
            cid::<types::InputPeerChannel>(),
            cid::<types::InputChannel>(),
        ),
        (
            cid::<types::InputPeerEmpty>(),
            cid::<types::InputChannelEmpty>(),
        ),
        (
            cid::<types::InputPeerChannelFromMessage>(),
            cid::<types::InputChannelFromMessage>(),
        ),
    ];
    let table: &[(u32, u32)] = match ty {
        "InputUser" => &user,
        "InputChannel" => &channel,
        _ => return None,
    };
    table.iter().find(|(peer, _)| *peer == id).map(|(_, t)| *t)
}

fn date(ctx: &CallContext<'_>) -> i32 {
    ctx.now.clamp(0, i32::MAX as i64) as i32
}

/// Whether `dc` is served: a user homed on a DC the server does not run is served anywhere.
fn served(ctx: &CallContext<'_>, dc: i32) -> bool {
    ctx.dcs.iter().any(|d| d.id == dc)
}

fn me(st: &State, ctx: &CallContext<'_>) -> R<i64> {
    st.auths
        .get(&ctx.auth_key_id)
        .and_then(|a| a.user)
        .filter(|u| st.users.contains_key(u))
        .ok_or_else(|| Reply::error(401, "AUTH_KEY_UNREGISTERED"))
}

/// Answers one request body (wrappers included). Wrappers are taken off one at a time, at
/// most [`MAX_WRAPPERS`] of them, each inner query replacing the outer one in memory.
pub(crate) fn call(st: &mut State, ctx: &CallContext<'_>, request: &[u8]) -> Reply {
    let mut held: Vec<u8>;
    let mut body = request;
    for _ in 0..=MAX_WRAPPERS {
        let id = match body {
            [a, b, c, d, ..] => u32::from_le_bytes([*a, *b, *c, *d]),
            _ => return bad("INPUT_METHOD_INVALID"),
        };
        let Some(name) = name_of(id) else {
            debug!(id = format_args!("{id:#010x}"), "unknown constructor");
            return bad("INPUT_METHOD_INVALID");
        };
        if let Some((seconds, left)) = st.flood.get_mut(&id) {
            let seconds = *seconds;
            if let Some(n) = left {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    st.flood.remove(&id);
                }
            }
            debug!(method = name, seconds, "flood wait");
            return Reply::error(420, format!("FLOOD_WAIT_{seconds}"));
        }
        // The wrappers: recorded, then the inner query is answered.
        let inner = match id {
            INVOKE_WITH_LAYER => decode::<f::InvokeWithLayer<Object>>(body).map(|w| {
                let auth = st.auths.entry(ctx.auth_key_id).or_default();
                auth.client.get_or_insert_with(ClientInfo::default).layer = Some(w.layer);
                w.query.0
            }),
            INIT_CONNECTION => decode::<f::InitConnection<Object>>(body).map(|w| {
                let auth = st.auths.entry(ctx.auth_key_id).or_default();
                let layer = auth.client.as_ref().and_then(|c| c.layer);
                auth.client = Some(ClientInfo {
                    api_id: w.api_id,
                    device_model: w.device_model,
                    system_version: w.system_version,
                    app_version: w.app_version,
                    system_lang_code: w.system_lang_code,
                    lang_pack: w.lang_pack,
                    lang_code: w.lang_code,
                    layer,
                });
                w.query.0
            }),
            INVOKE_AFTER_MSG => decode::<f::InvokeAfterMsg<Object>>(body).map(|w| w.query.0),
            INVOKE_AFTER_MSGS => decode::<f::InvokeAfterMsgs<Object>>(body).map(|w| w.query.0),
            INVOKE_WITHOUT_UPDATES => {
                decode::<f::InvokeWithoutUpdates<Object>>(body).map(|w| w.query.0)
            }
            _ => return method(st, ctx, id, name, body),
        };
        match inner {
            Ok(inner) => {
                *st.counts.entry(name).or_default() += 1;
                held = inner;
                body = &held;
            }
            Err(e) => return e,
        }
    }
    bad("INPUT_METHOD_INVALID")
}

/// Namespaces a key may use before it signs in.
fn open_before_sign_in(name: &str) -> bool {
    name.starts_with("help.") || name.starts_with("auth.") || name.starts_with("langpack.")
}

/// Methods a signed-in key may use on a DC other than its user's home.
fn open_off_home(name: &str) -> bool {
    open_before_sign_in(name) || name.starts_with("upload.") || name == "users.getUsers"
}

fn method(
    st: &mut State,
    ctx: &CallContext<'_>,
    id: u32,
    name: &'static str,
    body: &[u8],
) -> Reply {
    if !open_before_sign_in(name) {
        let user = match me(st, ctx) {
            Ok(u) => u,
            Err(e) => return e,
        };
        let home = st.users.get(&user).map_or(ctx.dc, |u| u.dc);
        if home != ctx.dc && served(ctx, home) && !open_off_home(name) {
            return Reply::error(303, format!("USER_MIGRATE_{home}"));
        }
    }
    macro_rules! route {
        ($($f:ty => $h:path,)*) => {
            $(
                if id == <$f as Identifiable>::CONSTRUCTOR_ID {
                    return match decode::<$f>(body) {
                        Ok(req) => {
                            *st.counts.entry(name).or_default() += 1;
                            let r: R<<$f as RemoteCall>::Return> = $h(st, ctx, req);
                            match r {
                                Ok(v) => Reply::Result(v.to_bytes()),
                                Err(e) => {
                                    debug!(method = name, error = ?e, "error");
                                    e
                                }
                            }
                        }
                        Err(e) => e,
                    };
                }
            )*
        };
    }
    route! {
        f::help::GetConfig => get_config,
        f::help::GetNearestDc => get_nearest_dc,
        f::help::GetAppConfig => get_app_config,
        f::auth::SendCode => send_code,
        f::auth::SignIn => sign_in,
        f::auth::SignUp => sign_up,
        f::auth::ImportBotAuthorization => import_bot_authorization,
        f::auth::ExportAuthorization => export_authorization,
        f::auth::ImportAuthorization => import_authorization,
        f::auth::LogOut => log_out,
        f::users::GetUsers => get_users,
        f::users::GetFullUser => get_full_user,
        f::contacts::ResolveUsername => resolve_username,
        f::contacts::ResolvePhone => resolve_phone,
        f::contacts::GetContacts => get_contacts,
        f::contacts::ImportContacts => import_contacts,
        f::messages::GetChats => get_chats,
        f::messages::GetDialogs => get_dialogs,
        f::messages::SendMessage => send_message,
        f::channels::GetChannels => get_channels,
        f::channels::GetParticipants => get_participants,
        f::channels::InviteToChannel => invite_to_channel,
        f::channels::CreateChannel => create_channel,
        f::channels::GetFullChannel => get_full_channel,
        f::channels::GetParticipant => get_participant,
        f::messages::GetFullChat => get_full_chat,
        f::messages::GetHistory => get_history,
        f::account::UpdateProfile => update_profile,
        f::account::UpdateUsername => update_username,
        f::account::SetPrivacy => set_privacy,
        f::account::GetPrivacy => get_privacy,
        f::updates::GetState => get_state,
        f::updates::GetDifference => get_difference,
        f::updates::GetChannelDifference => get_channel_difference,
    }
    debug!(method = name, "not implemented");
    bad("METHOD_NOT_IMPLEMENTED")
}

// ---------------------------------------------------------------------------------------------
// help

fn get_config(_: &mut State, ctx: &CallContext<'_>, _: f::help::GetConfig) -> R<enums::Config> {
    let now = date(ctx);
    let dc_options = ctx
        .dcs
        .iter()
        .map(|d| {
            types::DcOption {
                ipv6: d.addr.is_ipv6(),
                id: d.id,
                ip_address: d.addr.ip().to_string(),
                port: i32::from(d.addr.port()),
                ..Default::default()
            }
            .into()
        })
        .collect();
    Ok(types::Config {
        date: now,
        expires: now.saturating_add(3600),
        this_dc: ctx.dc,
        dc_options,
        dc_txt_domain_name: "localhost".to_string(),
        chat_size_max: 200,
        megagroup_size_max: MAX_MEMBERS as i32,
        forwarded_count_max: 100,
        online_update_period_ms: 210_000,
        offline_blur_timeout_ms: 5_000,
        offline_idle_timeout_ms: 30_000,
        online_cloud_timeout_ms: 300_000,
        notify_cloud_delay_ms: 30_000,
        notify_default_delay_ms: 1_500,
        push_chat_period_ms: 60_000,
        push_chat_limit: 2,
        edit_time_limit: 172_800,
        revoke_time_limit: i32::MAX,
        revoke_pm_time_limit: i32::MAX,
        rating_e_decay: 2_419_200,
        stickers_recent_limit: 200,
        channels_read_media_period: 604_800,
        call_receive_timeout_ms: 20_000,
        call_ring_timeout_ms: 90_000,
        call_connect_timeout_ms: 30_000,
        call_packet_timeout_ms: 10_000,
        me_url_prefix: "https://t.me/".to_string(),
        caption_length_max: 1024,
        message_length_max: MAX_MESSAGE as i32,
        webfile_dc_id: ctx.dc,
        ..Default::default()
    }
    .into())
}

fn get_nearest_dc(
    _: &mut State,
    ctx: &CallContext<'_>,
    _: f::help::GetNearestDc,
) -> R<enums::NearestDc> {
    Ok(types::NearestDc {
        country: "ZZ".to_string(),
        this_dc: ctx.dc,
        nearest_dc: ctx.dc,
    }
    .into())
}

fn get_app_config(
    _: &mut State,
    _: &CallContext<'_>,
    req: f::help::GetAppConfig,
) -> R<enums::help::AppConfig> {
    const HASH: i32 = 1;
    if req.hash == HASH {
        return Ok(enums::help::AppConfig::NotModified);
    }
    Ok(types::help::AppConfig {
        hash: HASH,
        config: types::JsonObject { value: Vec::new() }.into(),
    }
    .into())
}

// ---------------------------------------------------------------------------------------------
// auth

fn phone_or_invalid(phone: &str) -> R<String> {
    normalize_phone(phone).ok_or_else(|| bad("PHONE_NUMBER_INVALID"))
}

/// 303 `PHONE_MIGRATE_X` when `phone` belongs on another served DC.
fn phone_home(st: &State, ctx: &CallContext<'_>, phone: &str) -> R<()> {
    let home = st
        .user_by_phone(phone)
        .and_then(|u| st.users.get(&u))
        .map_or(st.default_dc, |u| u.dc);
    if home != ctx.dc && served(ctx, home) {
        return Err(Reply::error(303, format!("PHONE_MIGRATE_{home}")));
    }
    Ok(())
}

fn authorization(st: &mut State, ctx: &CallContext<'_>, user: i64) -> enums::auth::Authorization {
    st.auths.entry(ctx.auth_key_id).or_default().user = Some(user);
    info!(
        auth_key_id = ctx.auth_key_id,
        user,
        dc = ctx.dc,
        "signed in"
    );
    types::auth::Authorization {
        otherwise_relogin_days: None,
        tmp_sessions: None,
        future_auth_token: None,
        user: st.render_user(user, user),
    }
    .into()
}

fn send_code(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::auth::SendCode,
) -> R<enums::auth::SentCode> {
    let phone = phone_or_invalid(&req.phone_number)?;
    if req.api_id <= 0 || req.api_hash.is_empty() {
        return Err(bad("API_ID_INVALID"));
    }
    phone_home(st, ctx, &phone)?;
    let serial = st.next_serial();
    let hash = format!(
        "{serial:016x}{:016x}",
        st.keyed(b"code", &[serial as i64]) as u64
    );
    info!(phone = %phone, code = %st.login_code, "login code sent");
    let length = st.login_code.len() as i32;
    let registered = st.user_by_phone(&phone).is_some();
    st.codes.insert(hash.clone(), PendingCode { phone });
    st.trim_pending();
    let r#type = if registered {
        types::auth::SentCodeTypeApp { length }.into()
    } else {
        types::auth::SentCodeTypeSms { length }.into()
    };
    Ok(types::auth::SentCode {
        r#type,
        phone_code_hash: hash,
        next_type: None,
        timeout: None,
    }
    .into())
}

/// The phone of a pending code whose hash and phone match.
fn pending(st: &State, phone: &str, hash: &str) -> R<String> {
    if hash.is_empty() {
        return Err(bad("PHONE_CODE_HASH_EMPTY"));
    }
    match st.codes.get(hash) {
        Some(p) if p.phone == phone => Ok(p.phone.clone()),
        _ => Err(bad("PHONE_CODE_EXPIRED")),
    }
}

fn sign_in(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::auth::SignIn,
) -> R<enums::auth::Authorization> {
    let phone = phone_or_invalid(&req.phone_number)?;
    phone_home(st, ctx, &phone)?;
    pending(st, &phone, &req.phone_code_hash)?;
    match req.phone_code.as_deref() {
        None | Some("") => return Err(bad("PHONE_CODE_EMPTY")),
        Some(code) if code != st.login_code => return Err(bad("PHONE_CODE_INVALID")),
        Some(_) => {}
    }
    match st.user_by_phone(&phone) {
        Some(user) => {
            st.codes.remove(&req.phone_code_hash);
            Ok(authorization(st, ctx, user))
        }
        None => Ok(types::auth::AuthorizationSignUpRequired {
            terms_of_service: None,
        }
        .into()),
    }
}

fn check_name(first: &str, last: &str) -> R<()> {
    if first.trim().is_empty() || first.chars().count() > 64 {
        return Err(bad("FIRSTNAME_INVALID"));
    }
    if last.chars().count() > 64 {
        return Err(bad("LASTNAME_INVALID"));
    }
    Ok(())
}

fn sign_up(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::auth::SignUp,
) -> R<enums::auth::Authorization> {
    let phone = phone_or_invalid(&req.phone_number)?;
    phone_home(st, ctx, &phone)?;
    pending(st, &phone, &req.phone_code_hash)?;
    if st.user_by_phone(&phone).is_some() {
        return Err(bad("PHONE_NUMBER_OCCUPIED"));
    }
    check_name(&req.first_name, &req.last_name)?;
    let id = st
        .users
        .keys()
        .copied()
        .filter(|i| *i < 7_000_000_000)
        .max()
        .unwrap_or(1000)
        + 1;
    st.users.insert(
        id,
        crate::state::UserRec {
            id,
            first_name: req.first_name.trim().to_string(),
            last_name: req.last_name.trim().to_string(),
            usernames: Vec::new(),
            phone: Some(phone),
            about: String::new(),
            bot: false,
            bot_token: None,
            dc: ctx.dc,
            contacts: BTreeSet::new(),
            privacy: Default::default(),
            pts: 1,
            last_msg_id: 0,
            log: Vec::new(),
            random_ids: BTreeSet::new(),
        },
    );
    st.codes.remove(&req.phone_code_hash);
    info!(user = id, "signed up");
    Ok(authorization(st, ctx, id))
}

fn import_bot_authorization(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::auth::ImportBotAuthorization,
) -> R<enums::auth::Authorization> {
    let invalid = || bad("ACCESS_TOKEN_INVALID");
    let (id, secret) = req.bot_auth_token.split_once(':').ok_or_else(invalid)?;
    let id: i64 = id.parse().map_err(|_| invalid())?;
    let bot = st.users.get(&id).filter(|u| u.bot).ok_or_else(invalid)?;
    if bot.bot_token.as_deref() != Some(secret) {
        return Err(invalid());
    }
    if bot.dc != ctx.dc && served(ctx, bot.dc) {
        return Err(Reply::error(303, format!("USER_MIGRATE_{}", bot.dc)));
    }
    Ok(authorization(st, ctx, id))
}

fn export_authorization(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::auth::ExportAuthorization,
) -> R<enums::auth::ExportedAuthorization> {
    let user = me(st, ctx)?;
    if !served(ctx, req.dc_id) {
        return Err(bad("DC_ID_INVALID"));
    }
    let serial = st.next_serial() as i64;
    let id = (serial << 24) | (st.keyed(b"export-id", &[serial]) & 0xff_ffff);
    let mut bytes = Vec::with_capacity(32);
    for i in 0..4 {
        bytes.extend_from_slice(&st.keyed(b"export", &[id, i]).to_le_bytes());
    }
    st.exports.insert(
        id,
        Export {
            user,
            dc: req.dc_id,
            bytes: bytes.clone(),
        },
    );
    st.trim_pending();
    Ok(types::auth::ExportedAuthorization { id, bytes }.into())
}

fn import_authorization(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::auth::ImportAuthorization,
) -> R<enums::auth::Authorization> {
    let user = match st.exports.get(&req.id) {
        Some(e) if e.bytes == req.bytes && e.dc == ctx.dc => e.user,
        _ => return Err(bad("AUTH_BYTES_INVALID")),
    };
    Ok(authorization(st, ctx, user))
}

fn log_out(st: &mut State, ctx: &CallContext<'_>, _: f::auth::LogOut) -> R<enums::auth::LoggedOut> {
    me(st, ctx)?;
    if let Some(a) = st.auths.get_mut(&ctx.auth_key_id) {
        a.user = None;
    }
    Ok(types::auth::LoggedOut {
        future_auth_token: None,
    }
    .into())
}

// ---------------------------------------------------------------------------------------------
// Input peers

/// Whether `viewer` can see into chat or channel `peer` (a member, or a public channel).
fn can_see(st: &State, viewer: i64, peer: PeerRef) -> bool {
    match peer {
        PeerRef::User(u) => st.users.contains_key(&u),
        PeerRef::Chat(c) => st
            .chats
            .get(&c)
            .is_some_and(|c| c.members.contains(&viewer)),
        PeerRef::Channel(c) => st
            .channels
            .get(&c)
            .is_some_and(|c| c.members.contains(&viewer) || c.username.is_some()),
    }
}

/// Whether `user` is in `peer` (is it, or a member of it).
fn is_in(st: &State, user: i64, peer: PeerRef) -> bool {
    match peer {
        PeerRef::User(u) => u == user,
        PeerRef::Chat(c) => st.chats.get(&c).is_some_and(|c| c.members.contains(&user)),
        PeerRef::Channel(c) => st
            .channels
            .get(&c)
            .is_some_and(|c| c.members.contains(&user)),
    }
}

fn user_ok(st: &State, viewer: i64, id: i64, hash: i64) -> Option<i64> {
    (st.users.contains_key(&id) && (id == viewer || st.user_hash(viewer, id) == hash)).then_some(id)
}

fn channel_ok(st: &State, viewer: i64, id: i64, hash: i64) -> Option<i64> {
    (st.channels.contains_key(&id) && st.channel_hash(viewer, id) == hash).then_some(id)
}

/// A user met in a message of `peer`: `peer` must be visible to the viewer and hold `user`.
fn from_message(st: &State, viewer: i64, peer: &enums::InputPeer, user: i64) -> Option<i64> {
    let peer = input_peer(st, viewer, peer).ok()?;
    (st.users.contains_key(&user) && can_see(st, viewer, peer) && is_in(st, user, peer))
        .then_some(user)
}

fn input_user(st: &State, viewer: i64, input: &enums::InputUser) -> R<i64> {
    let found = match input {
        enums::InputUser::InputUserSelf => Some(viewer),
        enums::InputUser::InputUser(u) => user_ok(st, viewer, u.user_id, u.access_hash),
        enums::InputUser::FromMessage(m) => from_message(st, viewer, &m.peer, m.user_id),
        enums::InputUser::Empty => None,
    };
    found.ok_or_else(|| bad("USER_ID_INVALID"))
}

fn input_peer(st: &State, viewer: i64, input: &enums::InputPeer) -> R<PeerRef> {
    let found = match input {
        enums::InputPeer::InputPeerSelf => Some(PeerRef::User(viewer)),
        enums::InputPeer::User(u) => {
            user_ok(st, viewer, u.user_id, u.access_hash).map(PeerRef::User)
        }
        enums::InputPeer::UserFromMessage(m) => {
            from_message(st, viewer, &m.peer, m.user_id).map(PeerRef::User)
        }
        enums::InputPeer::Chat(c) => st
            .chats
            .get(&c.chat_id)
            .filter(|c| c.members.contains(&viewer))
            .map(|c| PeerRef::Chat(c.id)),
        enums::InputPeer::Channel(c) => {
            channel_ok(st, viewer, c.channel_id, c.access_hash).map(PeerRef::Channel)
        }
        enums::InputPeer::ChannelFromMessage(m) => {
            let peer = input_peer(st, viewer, &m.peer).ok();
            peer.filter(|p| can_see(st, viewer, *p))
                .and_then(|_| st.channels.get(&m.channel_id))
                .map(|c| PeerRef::Channel(c.id))
        }
        enums::InputPeer::Empty => None,
    };
    found.ok_or_else(|| bad("PEER_ID_INVALID"))
}

fn input_channel(st: &State, viewer: i64, input: &enums::InputChannel) -> R<i64> {
    let found = match input {
        enums::InputChannel::InputChannel(c) => channel_ok(st, viewer, c.channel_id, c.access_hash),
        enums::InputChannel::FromMessage(m) => input_peer(st, viewer, &m.peer)
            .ok()
            .filter(|p| can_see(st, viewer, *p))
            .and_then(|_| st.channels.get(&m.channel_id))
            .map(|c| c.id),
        enums::InputChannel::Empty => None,
    };
    found.ok_or_else(|| bad("CHANNEL_INVALID"))
}

/// A channel the viewer may read: a member, or a public channel; else `CHANNEL_PRIVATE`.
fn readable_channel(st: &State, viewer: i64, id: i64) -> R<()> {
    if can_see(st, viewer, PeerRef::Channel(id)) {
        Ok(())
    } else {
        Err(bad("CHANNEL_PRIVATE"))
    }
}

// ---------------------------------------------------------------------------------------------
// users, contacts

fn get_users(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::users::GetUsers,
) -> R<Vec<enums::User>> {
    let me = me(st, ctx)?;
    Ok(req
        .id
        .iter()
        .take(MAX_IDS)
        .filter_map(|i| input_user(st, me, i).ok())
        .map(|u| st.render_user(me, u))
        .collect())
}

fn common_chats(st: &State, a: i64, b: i64) -> i32 {
    let chats = st
        .chats
        .values()
        .filter(|c| c.members.contains(&a) && c.members.contains(&b))
        .count();
    let channels = st
        .channels
        .values()
        .filter(|c| c.megagroup && c.members.contains(&a) && c.members.contains(&b))
        .count();
    (chats + channels) as i32
}

fn get_full_user(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::users::GetFullUser,
) -> R<enums::users::UserFull> {
    let me = me(st, ctx)?;
    let id = input_user(st, me, &req.id)?;
    let about = st
        .users
        .get(&id)
        .filter(|_| st.allows(id, "about", me))
        .map(|u| u.about.clone())
        .filter(|a| !a.is_empty());
    let full = types::UserFull {
        blocked: false,
        phone_calls_available: false,
        phone_calls_private: false,
        can_pin_message: true,
        has_scheduled: false,
        video_calls_available: false,
        voice_messages_forbidden: false,
        translations_disabled: false,
        stories_pinned_available: false,
        blocked_my_stories_from: false,
        wallpaper_overridden: false,
        contact_require_premium: false,
        read_dates_private: false,
        sponsored_enabled: false,
        can_view_revenue: false,
        bot_can_manage_emoji_status: false,
        display_gifts_button: false,
        noforwards_my_enabled: false,
        noforwards_peer_enabled: false,
        unofficial_security_risk: false,
        id,
        about,
        settings: types::PeerSettings::default().into(),
        personal_photo: None,
        profile_photo: None,
        fallback_photo: None,
        notify_settings: types::PeerNotifySettings::default().into(),
        bot_info: None,
        pinned_msg_id: None,
        common_chats_count: if id == me {
            0
        } else {
            common_chats(st, me, id)
        },
        folder_id: None,
        ttl_period: None,
        theme: None,
        private_forward_name: None,
        bot_group_admin_rights: None,
        bot_broadcast_admin_rights: None,
        wallpaper: None,
        stories: None,
        business_work_hours: None,
        business_location: None,
        business_greeting_message: None,
        business_away_message: None,
        business_intro: None,
        birthday: None,
        personal_channel_id: None,
        personal_channel_message: None,
        stargifts_count: None,
        starref_program: None,
        bot_verification: None,
        send_paid_messages_stars: None,
        disallowed_gifts: None,
        stars_rating: None,
        stars_my_pending_rating: None,
        stars_my_pending_rating_date: None,
        main_tab: None,
        saved_music: None,
        note: None,
        bot_manager_id: None,
    };
    Ok(types::users::UserFull {
        full_user: full.into(),
        chats: Vec::new(),
        users: vec![st.render_user(me, id)],
    }
    .into())
}

fn resolved(st: &State, me: i64, peer: PeerRef) -> enums::contacts::ResolvedPeer {
    let (peer, chats, users) = match peer {
        PeerRef::User(u) => (
            enums::Peer::from(types::PeerUser { user_id: u }),
            Vec::new(),
            vec![st.render_user(me, u)],
        ),
        PeerRef::Chat(c) => (
            types::PeerChat { chat_id: c }.into(),
            vec![st.render_chat(me, c)],
            Vec::new(),
        ),
        PeerRef::Channel(c) => (
            types::PeerChannel { channel_id: c }.into(),
            vec![st.render_channel(me, c)],
            Vec::new(),
        ),
    };
    types::contacts::ResolvedPeer { peer, chats, users }.into()
}

fn resolve_username(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::contacts::ResolveUsername,
) -> R<enums::contacts::ResolvedPeer> {
    let me = me(st, ctx)?;
    let name = req.username.strip_prefix('@').unwrap_or(&req.username);
    if !valid_username(name) {
        return Err(bad("USERNAME_INVALID"));
    }
    let peer = st
        .owner_of_username(name)
        .ok_or_else(|| bad("USERNAME_NOT_OCCUPIED"))?;
    Ok(resolved(st, me, peer))
}

fn resolve_phone(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::contacts::ResolvePhone,
) -> R<enums::contacts::ResolvedPeer> {
    let me = me(st, ctx)?;
    let phone = phone_or_invalid(&req.phone)?;
    let user = st
        .user_by_phone(&phone)
        .filter(|u| st.allows(*u, "added_by_phone", me))
        .ok_or_else(|| bad("PHONE_NOT_OCCUPIED"))?;
    Ok(resolved(st, me, PeerRef::User(user)))
}

/// Telegram's hash of a list of ids (api/offsets#hash-generation).
fn ids_hash(ids: impl IntoIterator<Item = i64>) -> i64 {
    let mut hash: u64 = 0;
    for id in ids {
        hash ^= hash >> 21;
        hash ^= hash << 35;
        hash ^= hash >> 4;
        hash = hash.wrapping_add(id as u64);
    }
    hash as i64
}

fn get_contacts(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::contacts::GetContacts,
) -> R<enums::contacts::Contacts> {
    let me = me(st, ctx)?;
    let ids: Vec<i64> = st
        .users
        .get(&me)
        .map(|u| u.contacts.iter().copied().collect())
        .unwrap_or_default();
    let hash = ids_hash(ids.iter().copied());
    if req.hash != 0 && req.hash == hash {
        return Ok(enums::contacts::Contacts::NotModified);
    }
    Ok(types::contacts::Contacts {
        contacts: ids
            .iter()
            .map(|&user_id| {
                types::Contact {
                    user_id,
                    mutual: st.is_contact(user_id, me),
                }
                .into()
            })
            .collect(),
        saved_count: 0,
        users: ids.iter().map(|&u| st.render_user(me, u)).collect(),
    }
    .into())
}

fn import_contacts(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::contacts::ImportContacts,
) -> R<enums::contacts::ImportedContacts> {
    let me = me(st, ctx)?;
    let mut imported = Vec::new();
    let mut found = Vec::new();
    for enums::InputContact::PhoneContact(c) in &req.contacts {
        let user = normalize_phone(&c.phone)
            .and_then(|p| st.user_by_phone(&p))
            .filter(|u| *u != me && st.allows(*u, "added_by_phone", me));
        if let Some(user) = user {
            imported.push(
                types::ImportedContact {
                    user_id: user,
                    client_id: c.client_id,
                }
                .into(),
            );
            found.push(user);
        }
    }
    if let Some(u) = st.users.get_mut(&me) {
        u.contacts.extend(found.iter().copied());
    }
    found.sort_unstable();
    found.dedup();
    Ok(types::contacts::ImportedContacts {
        imported,
        popular_invites: Vec::new(),
        retry_contacts: Vec::new(),
        users: found.iter().map(|&u| st.render_user(me, u)).collect(),
    }
    .into())
}

// ---------------------------------------------------------------------------------------------
// account

fn update_profile(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::account::UpdateProfile,
) -> R<enums::User> {
    let me = me(st, ctx)?;
    let (first, last) = {
        let u = &st.users[&me];
        (
            req.first_name
                .clone()
                .unwrap_or_else(|| u.first_name.clone()),
            req.last_name.clone().unwrap_or_else(|| u.last_name.clone()),
        )
    };
    check_name(&first, &last)?;
    if let Some(about) = &req.about {
        if about.chars().count() > 70 {
            return Err(bad("ABOUT_TOO_LONG"));
        }
    }
    if let Some(u) = st.users.get_mut(&me) {
        u.first_name = first.trim().to_string();
        u.last_name = last.trim().to_string();
        if let Some(about) = req.about {
            u.about = about;
        }
    }
    Ok(st.render_user(me, me))
}

fn update_username(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::account::UpdateUsername,
) -> R<enums::User> {
    let me = me(st, ctx)?;
    let name = req.username;
    if name.is_empty() {
        if let Some(u) = st.users.get_mut(&me) {
            if u.usernames.is_empty() {
                return Err(bad("USERNAME_NOT_MODIFIED"));
            }
            u.usernames.remove(0);
        }
        return Ok(st.render_user(me, me));
    }
    if !valid_username(&name) {
        return Err(bad("USERNAME_INVALID"));
    }
    match st.owner_of_username(&name) {
        Some(PeerRef::User(u)) if u == me => {}
        Some(_) => return Err(bad("USERNAME_OCCUPIED")),
        None => {}
    }
    if let Some(u) = st.users.get_mut(&me) {
        if u.usernames.first() == Some(&name) {
            return Err(bad("USERNAME_NOT_MODIFIED"));
        }
        let lower = name.to_ascii_lowercase();
        u.usernames.retain(|n| n.to_ascii_lowercase() != lower);
        if u.usernames.is_empty() {
            u.usernames.push(name);
        } else {
            u.usernames[0] = name;
        }
    }
    Ok(st.render_user(me, me))
}

fn key_name(key: &enums::InputPrivacyKey) -> &'static str {
    use enums::InputPrivacyKey as K;
    match key {
        K::About => "about",
        K::AddedByPhone => "added_by_phone",
        K::Birthday => "birthday",
        K::ChatInvite => "chat_invite",
        K::Forwards => "forwards",
        K::NoPaidMessages => "no_paid_messages",
        K::PhoneCall => "phone_call",
        K::PhoneNumber => "phone_number",
        K::PhoneP2p => "phone_p2p",
        K::ProfilePhoto => "profile_photo",
        K::SavedMusic => "saved_music",
        K::StarGiftsAutoSave => "star_gifts_auto_save",
        K::StatusTimestamp => "status_timestamp",
        K::VoiceMessages => "voice_messages",
    }
}

fn privacy_rules(st: &State, me: i64, rules: &[Rule]) -> enums::account::PrivacyRules {
    use enums::PrivacyRule as P;
    let mut users = BTreeSet::new();
    let mut chats = BTreeSet::new();
    let out = rules
        .iter()
        .map(|r| match r {
            Rule::AllowAll => P::ValueAllowAll,
            Rule::AllowContacts => P::ValueAllowContacts,
            Rule::AllowCloseFriends => P::ValueAllowCloseFriends,
            Rule::AllowPremium => P::ValueAllowPremium,
            Rule::AllowBots => P::ValueAllowBots,
            Rule::DisallowAll => P::ValueDisallowAll,
            Rule::DisallowContacts => P::ValueDisallowContacts,
            Rule::DisallowBots => P::ValueDisallowBots,
            Rule::AllowUsers(l) => {
                users.extend(l);
                types::PrivacyValueAllowUsers { users: l.clone() }.into()
            }
            Rule::DisallowUsers(l) => {
                users.extend(l);
                types::PrivacyValueDisallowUsers { users: l.clone() }.into()
            }
            Rule::AllowChats(l) => {
                chats.extend(l);
                types::PrivacyValueAllowChatParticipants { chats: l.clone() }.into()
            }
            Rule::DisallowChats(l) => {
                chats.extend(l);
                types::PrivacyValueDisallowChatParticipants { chats: l.clone() }.into()
            }
        })
        .collect();
    let chats = chats
        .iter()
        .filter_map(|&c| {
            if st.chats.contains_key(&c) {
                Some(st.render_chat(me, c))
            } else if st.channels.contains_key(&c) {
                Some(st.render_channel(me, c))
            } else {
                None
            }
        })
        .collect();
    types::account::PrivacyRules {
        rules: out,
        chats,
        users: users.iter().map(|&u| st.render_user(me, u)).collect(),
    }
    .into()
}

/// Most rules, and most users or chats in one rule.
const MAX_RULES: usize = 32;
const MAX_RULE_IDS: usize = 1000;

fn set_privacy(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::account::SetPrivacy,
) -> R<enums::account::PrivacyRules> {
    use enums::InputPrivacyRule as I;
    let me = me(st, ctx)?;
    if req.rules.len() > MAX_RULES {
        return Err(bad("PRIVACY_TOO_LONG"));
    }
    let users = |list: &[enums::InputUser]| -> R<Vec<i64>> {
        if list.len() > MAX_RULE_IDS {
            return Err(bad("PRIVACY_TOO_LONG"));
        }
        let mut out: Vec<i64> = Vec::new();
        for u in list {
            let id = input_user(st, me, u)?;
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(out)
    };
    let chats = |list: &[i64]| -> R<Vec<i64>> {
        if list.len() > MAX_RULE_IDS {
            return Err(bad("PRIVACY_TOO_LONG"));
        }
        for c in list {
            if !is_in(st, me, PeerRef::Chat(*c)) && !is_in(st, me, PeerRef::Channel(*c)) {
                return Err(bad("PRIVACY_VALUE_INVALID"));
            }
        }
        Ok(list.to_vec())
    };
    let mut rules = Vec::new();
    for r in &req.rules {
        rules.push(match r {
            I::ValueAllowAll => Rule::AllowAll,
            I::ValueAllowContacts => Rule::AllowContacts,
            I::ValueAllowCloseFriends => Rule::AllowCloseFriends,
            I::ValueAllowPremium => Rule::AllowPremium,
            I::ValueAllowBots => Rule::AllowBots,
            I::ValueDisallowAll => Rule::DisallowAll,
            I::ValueDisallowContacts => Rule::DisallowContacts,
            I::ValueDisallowBots => Rule::DisallowBots,
            I::ValueAllowUsers(u) => Rule::AllowUsers(users(&u.users)?),
            I::ValueDisallowUsers(u) => Rule::DisallowUsers(users(&u.users)?),
            I::ValueAllowChatParticipants(c) => Rule::AllowChats(chats(&c.chats)?),
            I::ValueDisallowChatParticipants(c) => Rule::DisallowChats(chats(&c.chats)?),
        });
    }
    let key = key_name(&req.key);
    debug_assert!(PRIVACY_KEYS.contains(&key));
    let answer = privacy_rules(st, me, &rules);
    if let Some(u) = st.users.get_mut(&me) {
        u.privacy.insert(key.to_string(), rules);
    }
    Ok(answer)
}

fn get_privacy(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::account::GetPrivacy,
) -> R<enums::account::PrivacyRules> {
    let me = me(st, ctx)?;
    let key = key_name(&req.key);
    let rules = st.users[&me]
        .privacy
        .get(key)
        .cloned()
        .unwrap_or_else(|| crate::state::default_rules(key));
    Ok(privacy_rules(st, me, &rules))
}

// ---------------------------------------------------------------------------------------------
// chats, channels

fn get_chats(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::messages::GetChats,
) -> R<enums::messages::Chats> {
    let me = me(st, ctx)?;
    let mut chats = Vec::new();
    for id in req.id.iter().take(MAX_IDS) {
        if !st.chats.contains_key(id) {
            return Err(bad("PEER_ID_INVALID"));
        }
        chats.push(st.render_chat(me, *id));
    }
    Ok(types::messages::Chats { chats }.into())
}

fn get_dialogs(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::messages::GetDialogs,
) -> R<enums::messages::Dialogs> {
    let me = me(st, ctx)?;
    // Every chat the user is in, newest message first: private chats with a message in the
    // user's box, basic groups and channels the user is a member of. Offsets are ignored (one
    // page holds every dialog of a loopback world; a client asking for the next page gets the
    // same dialogs and stops, as it does on Telegram when nothing new comes).
    let mut last: BTreeMap<PeerRef, (i32, enums::Message)> = BTreeMap::new();
    for e in &st.users[&me].log {
        last.insert(e.peer, (message_id(&e.message), e.message.clone()));
    }
    let mut peers: Vec<PeerRef> = Vec::new();
    for e in &st.users[&me].log {
        if matches!(e.peer, PeerRef::User(_)) && !peers.contains(&e.peer) {
            peers.push(e.peer);
        }
    }
    for c in st.chats.values().filter(|c| c.members.contains(&me)) {
        peers.push(PeerRef::Chat(c.id));
    }
    for c in st.channels.values().filter(|c| c.members.contains(&me)) {
        if let Some((_, m, from)) = c.log.last() {
            last.insert(
                PeerRef::Channel(c.id),
                (message_id(m), as_seen(m, *from == me)),
            );
        }
        peers.push(PeerRef::Channel(c.id));
    }
    let limit = if req.limit <= 0 {
        100
    } else {
        req.limit.min(100) as usize
    };
    peers.truncate(limit);
    let mut dialogs = Vec::new();
    let mut messages = Vec::new();
    let mut users: BTreeSet<i64> = BTreeSet::new();
    let mut chats = Vec::new();
    for peer in &peers {
        let top = last.get(peer).map(|(id, _)| *id).unwrap_or(0);
        if let Some((_, m)) = last.get(peer) {
            messages.push(m.clone());
            if let enums::Message::Message(m) = m {
                if let Some(enums::Peer::User(u)) = &m.from_id {
                    users.insert(u.user_id);
                }
            }
        }
        let tl_peer: enums::Peer = match *peer {
            PeerRef::User(u) => {
                users.insert(u);
                types::PeerUser { user_id: u }.into()
            }
            PeerRef::Chat(c) => {
                chats.push(st.render_chat(me, c));
                types::PeerChat { chat_id: c }.into()
            }
            PeerRef::Channel(c) => {
                chats.push(st.render_channel(me, c));
                types::PeerChannel { channel_id: c }.into()
            }
        };
        dialogs.push(
            types::Dialog {
                peer: tl_peer,
                top_message: top,
                read_inbox_max_id: top,
                read_outbox_max_id: top,
                notify_settings: types::PeerNotifySettings::default().into(),
                pinned: false,
                unread_mark: false,
                view_forum_as_messages: false,
                unread_count: 0,
                unread_mentions_count: 0,
                unread_reactions_count: 0,
                unread_poll_votes_count: 0,
                pts: match *peer {
                    PeerRef::Channel(c) => Some(st.channels[&c].pts),
                    _ => None,
                },
                draft: None,
                folder_id: None,
                ttl_period: None,
            }
            .into(),
        );
    }
    let users = users
        .into_iter()
        .filter(|u| st.users.contains_key(u))
        .map(|u| st.render_user(me, u))
        .collect();
    Ok(types::messages::Dialogs {
        dialogs,
        messages,
        chats,
        users,
    }
    .into())
}

fn get_channels(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::channels::GetChannels,
) -> R<enums::messages::Chats> {
    let me = me(st, ctx)?;
    let mut chats = Vec::new();
    for input in req.id.iter().take(MAX_IDS) {
        let id = input_channel(st, me, input)?;
        readable_channel(st, me, id)?;
        chats.push(st.render_channel(me, id));
    }
    Ok(types::messages::Chats { chats }.into())
}

fn participant(st: &State, me: i64, channel: i64, user: i64) -> enums::ChannelParticipant {
    let c = &st.channels[&channel];
    if c.creator == user {
        types::ChannelParticipantCreator {
            user_id: user,
            admin_rights: State::admin_rights(true),
            rank: None,
        }
        .into()
    } else if c.admins.contains(&user) {
        types::ChannelParticipantAdmin {
            can_edit: c.creator == me,
            user_id: user,
            inviter_id: None,
            promoted_by: c.creator,
            date: c.date,
            admin_rights: State::admin_rights(false),
            rank: None,
        }
        .into()
    } else {
        types::ChannelParticipant {
            user_id: user,
            date: c.date,
            subscription_until_date: None,
            rank: None,
        }
        .into()
    }
}

fn get_participants(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::channels::GetParticipants,
) -> R<enums::channels::ChannelParticipants> {
    use enums::ChannelParticipantsFilter as F;
    let me = me(st, ctx)?;
    let id = input_channel(st, me, &req.channel)?;
    readable_channel(st, me, id)?;
    let c = &st.channels[&id];
    let admin = c.creator == me || c.admins.contains(&me);
    if !c.megagroup && !admin {
        return Err(bad("CHAT_ADMIN_REQUIRED"));
    }
    let ordered: Vec<i64> = std::iter::once(c.creator)
        .chain(c.admins.iter().copied())
        .chain(
            c.members
                .iter()
                .copied()
                .filter(|m| *m != c.creator && !c.admins.contains(m)),
        )
        .collect();
    let matches = |u: i64, q: &str| -> bool {
        let q = q.to_lowercase();
        q.is_empty()
            || st.users.get(&u).is_some_and(|r| {
                format!("{} {}", r.first_name, r.last_name)
                    .to_lowercase()
                    .contains(&q)
                    || r.usernames.iter().any(|n| n.to_lowercase().contains(&q))
            })
    };
    let list: Vec<i64> = match &req.filter {
        F::Recent => ordered,
        F::Admins => ordered
            .into_iter()
            .filter(|u| *u == c.creator || c.admins.contains(u))
            .collect(),
        F::Bots => ordered
            .into_iter()
            .filter(|u| st.users.get(u).is_some_and(|r| r.bot))
            .collect(),
        F::Search(s) => ordered.into_iter().filter(|u| matches(*u, &s.q)).collect(),
        F::Contacts(s) => ordered
            .into_iter()
            .filter(|u| st.is_contact(me, *u) && matches(*u, &s.q))
            .collect(),
        F::Banned(_) | F::Kicked(_) | F::Mentions(_) => Vec::new(),
    };
    let count = list.len() as i32;
    let offset = req.offset.max(0) as usize;
    let limit = req.limit.clamp(0, 200) as usize;
    let page: Vec<i64> = list.into_iter().skip(offset).take(limit).collect();
    Ok(types::channels::ChannelParticipants {
        count,
        participants: page.iter().map(|&u| participant(st, me, id, u)).collect(),
        chats: Vec::new(),
        users: page.iter().map(|&u| st.render_user(me, u)).collect(),
    }
    .into())
}

fn updates(
    updates: Vec<enums::Update>,
    users: Vec<enums::User>,
    chats: Vec<enums::Chat>,
    date: i32,
) -> enums::Updates {
    types::Updates {
        updates,
        users,
        chats,
        date,
        seq: 0,
    }
    .into()
}

fn push(ctx: &CallContext<'_>, keys: Vec<i64>, body: &enums::Updates) {
    let bytes = body.to_bytes();
    for key in keys {
        if key != ctx.auth_key_id {
            ctx.outbox.push(key, bytes.clone());
        }
    }
}

/// A service message of a channel.
fn service(
    id: i32,
    from: Option<i64>,
    channel: i64,
    out: bool,
    at: i32,
    action: enums::MessageAction,
) -> enums::Message {
    types::MessageService {
        out,
        mentioned: false,
        media_unread: false,
        reactions_are_possible: false,
        silent: false,
        post: from.is_none(),
        legacy: false,
        id,
        from_id: from.map(|u| types::PeerUser { user_id: u }.into()),
        peer_id: types::PeerChannel {
            channel_id: channel,
        }
        .into(),
        saved_peer_id: None,
        reply_to: None,
        date: at,
        action,
        reactions: None,
        ttl_period: None,
    }
    .into()
}

fn invite_to_channel(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::channels::InviteToChannel,
) -> R<enums::messages::InvitedUsers> {
    let me = me(st, ctx)?;
    let id = input_channel(st, me, &req.channel)?;
    if !is_in(st, me, PeerRef::Channel(id)) {
        return Err(bad(if st.channels[&id].username.is_some() {
            "CHAT_ADMIN_REQUIRED"
        } else {
            "CHANNEL_PRIVATE"
        }));
    }
    if req.users.len() > MAX_INVITE {
        return Err(bad("USERS_TOO_MUCH"));
    }
    let (megagroup, admin) = {
        let c = &st.channels[&id];
        (c.megagroup, c.creator == me || c.admins.contains(&me))
    };
    if !megagroup && !admin {
        return Err(bad("CHAT_ADMIN_REQUIRED"));
    }
    let mut wanted = Vec::new();
    for u in &req.users {
        let u = input_user(st, me, u)?;
        if !wanted.contains(&u) {
            wanted.push(u);
        }
    }
    let mut added = Vec::new();
    let mut missing = Vec::new();
    for u in wanted {
        if is_in(st, u, PeerRef::Channel(id)) {
            continue;
        }
        if !st.allows(u, "chat_invite", me) {
            missing.push(
                types::MissingInvitee {
                    premium_would_allow_invite: false,
                    premium_required_for_pm: false,
                    user_id: u,
                }
                .into(),
            );
            continue;
        }
        added.push(u);
    }
    if st.channels[&id].members.len() + added.len() > MAX_MEMBERS {
        return Err(bad("USERS_TOO_MUCH"));
    }
    let at = date(ctx);
    let mut list = vec![enums::Update::from(types::UpdateChannel { channel_id: id })];
    let mut service_message = None;
    {
        let c = st
            .channels
            .get_mut(&id)
            .ok_or_else(|| bad("CHANNEL_INVALID"))?;
        c.members.extend(added.iter().copied());
        if megagroup && !added.is_empty() {
            c.pts = c.pts.saturating_add(1);
            c.last_msg_id = c.last_msg_id.saturating_add(1);
            service_message = Some((c.last_msg_id, c.pts));
        }
    }
    let members: Vec<i64> = st.channels[&id].members.iter().copied().collect();
    if let Some((msg_id, pts)) = service_message {
        let action: enums::MessageAction = types::MessageActionChatAddUser {
            users: added.clone(),
        }
        .into();
        channel_log(
            st,
            id,
            pts,
            service(msg_id, Some(me), id, false, at, action.clone()),
            me,
        );
        list.push(
            types::UpdateNewChannelMessage {
                message: service(msg_id, Some(me), id, true, at, action.clone()),
                pts,
                pts_count: 1,
            }
            .into(),
        );
        for m in &members {
            if *m == me {
                continue;
            }
            let update = updates(
                vec![
                    types::UpdateChannel { channel_id: id }.into(),
                    types::UpdateNewChannelMessage {
                        message: service(msg_id, Some(me), id, false, at, action.clone()),
                        pts,
                        pts_count: 1,
                    }
                    .into(),
                ],
                vec![st.render_user(*m, me)],
                vec![st.render_channel(*m, id)],
                at,
            );
            push(ctx, st.keys_of(*m), &update);
        }
    } else {
        for u in &added {
            let update = updates(
                vec![types::UpdateChannel { channel_id: id }.into()],
                vec![st.render_user(*u, me)],
                vec![st.render_channel(*u, id)],
                at,
            );
            push(ctx, st.keys_of(*u), &update);
        }
    }
    let mut users = vec![st.render_user(me, me)];
    users.extend(added.iter().map(|&u| st.render_user(me, u)));
    let answer = updates(list, users, vec![st.render_channel(me, id)], at);
    push(ctx, st.keys_of(me), &answer);
    Ok(types::messages::InvitedUsers {
        updates: answer,
        missing_invitees: missing,
    }
    .into())
}

fn create_channel(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::channels::CreateChannel,
) -> R<enums::Updates> {
    let me = me(st, ctx)?;
    let title = req.title.trim().to_string();
    if title.is_empty() {
        return Err(bad("CHAT_TITLE_EMPTY"));
    }
    if title.chars().count() > 128 {
        return Err(bad("CHAT_TITLE_TOO_LONG"));
    }
    if req.about.chars().count() > 255 {
        return Err(bad("CHAT_ABOUT_TOO_LONG"));
    }
    let id = st
        .channels
        .keys()
        .next_back()
        .copied()
        .unwrap_or(1_000_000_000)
        + 1;
    // Above the last channel id a client can address: no room for another.
    if tlgen_session::MarkedId::channel(id).is_err() {
        return Err(bad("CHANNELS_TOO_MUCH"));
    }
    let at = date(ctx);
    st.channels.insert(
        id,
        crate::state::ChannelRec {
            id,
            title: title.clone(),
            username: None,
            megagroup: req.megagroup,
            about: req.about,
            creator: me,
            admins: BTreeSet::new(),
            members: std::iter::once(me).collect(),
            date: at,
            pts: 2,
            last_msg_id: 1,
            log: Vec::new(),
        },
    );
    let action: enums::MessageAction = types::MessageActionChannelCreate { title }.into();
    let from = req.megagroup.then_some(me);
    channel_log(
        st,
        id,
        2,
        service(1, from, id, false, at, action.clone()),
        me,
    );
    let answer = updates(
        vec![
            types::UpdateChannel { channel_id: id }.into(),
            types::UpdateNewChannelMessage {
                message: service(1, from, id, true, at, action),
                pts: 2,
                pts_count: 1,
            }
            .into(),
        ],
        vec![st.render_user(me, me)],
        vec![st.render_channel(me, id)],
        at,
    );
    push(ctx, st.keys_of(me), &answer);
    info!(channel = id, creator = me, "channel created");
    Ok(answer)
}

// ---------------------------------------------------------------------------------------------
// messages, updates

#[allow(clippy::too_many_arguments)]
fn message(
    id: i32,
    out: bool,
    from: Option<i64>,
    peer: PeerRef,
    at: i32,
    text: &str,
    entities: Option<Vec<enums::MessageEntity>>,
    silent: bool,
) -> enums::Message {
    let peer_id: enums::Peer = match peer {
        PeerRef::User(u) => types::PeerUser { user_id: u }.into(),
        PeerRef::Chat(c) => types::PeerChat { chat_id: c }.into(),
        PeerRef::Channel(c) => types::PeerChannel { channel_id: c }.into(),
    };
    types::Message {
        out,
        mentioned: false,
        media_unread: false,
        silent,
        post: from.is_none(),
        from_scheduled: false,
        legacy: false,
        edit_hide: false,
        pinned: false,
        noforwards: false,
        invert_media: false,
        offline: false,
        video_processing_pending: false,
        paid_suggested_post_stars: false,
        paid_suggested_post_ton: false,
        id,
        from_id: from.map(|u| types::PeerUser { user_id: u }.into()),
        from_boosts_applied: None,
        from_rank: None,
        peer_id,
        saved_peer_id: None,
        fwd_from: None,
        via_bot_id: None,
        via_business_bot_id: None,
        guestchat_via_from: None,
        reply_to: None,
        date: at,
        message: text.to_string(),
        media: None,
        reply_markup: None,
        entities,
        views: None,
        forwards: None,
        replies: None,
        edit_date: None,
        post_author: None,
        grouped_id: None,
        reactions: None,
        restriction_reason: None,
        ttl_period: None,
        quick_reply_shortcut_id: None,
        effect: None,
        factcheck: None,
        report_delivery_until_date: None,
        paid_message_stars: None,
        suggested_post: None,
        schedule_repeat_period: None,
        summary_from_language: None,
        rich_message: None,
    }
    .into()
}

/// Puts a message into `user`'s common box: its id there and the box's new pts.
fn deliver(
    st: &mut State,
    user: i64,
    from: i64,
    peer: PeerRef,
    make: impl FnOnce(i32) -> enums::Message,
) -> (i32, i32, enums::Message) {
    let Some(u) = st.users.get_mut(&user) else {
        return (0, 0, make(0));
    };
    u.last_msg_id = u.last_msg_id.saturating_add(1);
    u.pts = u.pts.saturating_add(1);
    let (id, pts) = (u.last_msg_id, u.pts);
    let m = make(id);
    u.log.push(LogEntry {
        pts,
        message: m.clone(),
        from,
        peer,
    });
    if u.log.len() > MAX_LOG {
        let extra = u.log.len() - MAX_LOG;
        u.log.drain(..extra);
    }
    (id, pts, m)
}

fn store(st: &mut State, m: StoredMessage) {
    if st.messages.len() >= MAX_STORED {
        st.messages.drain(..MAX_STORED / 2);
    }
    st.messages.push(m);
}

fn send_message(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::messages::SendMessage,
) -> R<enums::Updates> {
    let me = me(st, ctx)?;
    let peer = input_peer(st, me, &req.peer)?;
    if req.message.trim().is_empty() {
        return Err(bad("MESSAGE_EMPTY"));
    }
    if req.message.chars().count() > MAX_MESSAGE {
        return Err(bad("MESSAGE_TOO_LONG"));
    }
    if let PeerRef::Channel(c) = peer {
        let ch = &st.channels[&c];
        if !ch.members.contains(&me) {
            return Err(bad(if ch.username.is_some() {
                "CHAT_WRITE_FORBIDDEN"
            } else {
                "CHANNEL_PRIVATE"
            }));
        }
        if !ch.megagroup && ch.creator != me && !ch.admins.contains(&me) {
            return Err(bad("CHAT_ADMIN_REQUIRED"));
        }
    }
    if st.users[&me].random_ids.contains(&req.random_id) {
        return Err(bad("RANDOM_ID_DUPLICATE"));
    }
    if let Some(u) = st.users.get_mut(&me) {
        // Remembered per sender, up to MAX_STORED of them (then forgotten all at once).
        if u.random_ids.len() >= MAX_STORED {
            u.random_ids.clear();
        }
        u.random_ids.insert(req.random_id);
    }
    let at = date(ctx);
    let text = req.message.as_str();
    let entities = req.entities.clone();
    let silent = req.silent;
    match peer {
        PeerRef::User(to) => {
            let (id, pts, out_copy) = deliver(st, me, me, PeerRef::User(to), |id| {
                message(
                    id,
                    true,
                    Some(me),
                    PeerRef::User(to),
                    at,
                    text,
                    entities.clone(),
                    silent,
                )
            });
            store(
                st,
                StoredMessage {
                    id,
                    from: me,
                    peer,
                    text: text.to_string(),
                    date: at,
                    random_id: req.random_id,
                },
            );
            // The sender's other sessions.
            let mine = updates(
                vec![types::UpdateNewMessage {
                    message: out_copy,
                    pts,
                    pts_count: 1,
                }
                .into()],
                vec![st.render_user(me, to)],
                Vec::new(),
                at,
            );
            push(ctx, st.keys_of(me), &mine);
            if to != me {
                let (_, rpts, in_copy) = deliver(st, to, me, PeerRef::User(me), |rid| {
                    message(
                        rid,
                        false,
                        Some(me),
                        PeerRef::User(me),
                        at,
                        text,
                        entities.clone(),
                        silent,
                    )
                });
                let theirs = updates(
                    vec![types::UpdateNewMessage {
                        message: in_copy,
                        pts: rpts,
                        pts_count: 1,
                    }
                    .into()],
                    vec![st.render_user(to, me)],
                    Vec::new(),
                    at,
                );
                push(ctx, st.keys_of(to), &theirs);
            }
            Ok(types::UpdateShortSentMessage {
                out: true,
                id,
                pts,
                pts_count: 1,
                date: at,
                media: None,
                entities: None,
                ttl_period: None,
            }
            .into())
        }
        PeerRef::Chat(chat) => {
            let members: Vec<i64> = st.chats[&chat].members.iter().copied().collect();
            let mut answer = None;
            for m in members {
                let out = m == me;
                let (id, pts, copy) = deliver(st, m, me, peer, |id| {
                    message(id, out, Some(me), peer, at, text, entities.clone(), silent)
                });
                let new = enums::Update::from(types::UpdateNewMessage {
                    message: copy,
                    pts,
                    pts_count: 1,
                });
                let users = vec![st.render_user(m, me)];
                let chats = vec![st.render_chat(m, chat)];
                if out {
                    store(
                        st,
                        StoredMessage {
                            id,
                            from: me,
                            peer,
                            text: text.to_string(),
                            date: at,
                            random_id: req.random_id,
                        },
                    );
                    push(
                        ctx,
                        st.keys_of(me),
                        &updates(vec![new.clone()], users.clone(), chats.clone(), at),
                    );
                    answer = Some(updates(
                        vec![
                            types::UpdateMessageId {
                                id,
                                random_id: req.random_id,
                            }
                            .into(),
                            new,
                        ],
                        users,
                        chats,
                        at,
                    ));
                } else {
                    push(ctx, st.keys_of(m), &updates(vec![new], users, chats, at));
                }
            }
            answer.ok_or_else(|| bad("PEER_ID_INVALID"))
        }
        PeerRef::Channel(c) => {
            let (id, pts, megagroup, members) = {
                let ch = st
                    .channels
                    .get_mut(&c)
                    .ok_or_else(|| bad("CHANNEL_INVALID"))?;
                ch.pts = ch.pts.saturating_add(1);
                ch.last_msg_id = ch.last_msg_id.saturating_add(1);
                (
                    ch.last_msg_id,
                    ch.pts,
                    ch.megagroup,
                    ch.members.iter().copied().collect::<Vec<_>>(),
                )
            };
            let from = megagroup.then_some(me);
            channel_log(
                st,
                c,
                pts,
                message(id, false, from, peer, at, text, entities.clone(), silent),
                me,
            );
            store(
                st,
                StoredMessage {
                    id,
                    from: me,
                    peer,
                    text: text.to_string(),
                    date: at,
                    random_id: req.random_id,
                },
            );
            for m in members {
                let copy = message(id, m == me, from, peer, at, text, entities.clone(), silent);
                let u = updates(
                    vec![types::UpdateNewChannelMessage {
                        message: copy,
                        pts,
                        pts_count: 1,
                    }
                    .into()],
                    // A broadcast post does not name its author.
                    from.map(|u| st.render_user(m, u)).into_iter().collect(),
                    vec![st.render_channel(m, c)],
                    at,
                );
                push(ctx, st.keys_of(m), &u);
            }
            Ok(updates(
                vec![
                    types::UpdateMessageId {
                        id,
                        random_id: req.random_id,
                    }
                    .into(),
                    types::UpdateNewChannelMessage {
                        message: message(id, true, from, peer, at, text, entities, silent),
                        pts,
                        pts_count: 1,
                    }
                    .into(),
                ],
                vec![st.render_user(me, me)],
                vec![st.render_channel(me, c)],
                at,
            ))
        }
    }
}

fn state_of(st: &State, me: i64, at: i32) -> enums::updates::State {
    types::updates::State {
        pts: st.users[&me].pts,
        qts: 0,
        date: at,
        seq: 0,
        unread_count: 0,
    }
    .into()
}

fn get_state(
    st: &mut State,
    ctx: &CallContext<'_>,
    _: f::updates::GetState,
) -> R<enums::updates::State> {
    let me = me(st, ctx)?;
    Ok(state_of(st, me, date(ctx)))
}

/// Most messages one difference carries; more make a `differenceSlice`.
const DIFFERENCE_LIMIT: usize = 100;

fn get_difference(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::updates::GetDifference,
) -> R<enums::updates::Difference> {
    let me = me(st, ctx)?;
    let at = date(ctx);
    let u = &st.users[&me];
    if req.pts >= u.pts {
        return Ok(types::updates::DifferenceEmpty { date: at, seq: 0 }.into());
    }
    if u.log.len() >= MAX_LOG && u.log.first().is_some_and(|e| e.pts - 1 > req.pts) {
        return Ok(types::updates::DifferenceTooLong { pts: u.pts }.into());
    }
    let limit = req
        .pts_total_limit
        .filter(|l| *l > 0)
        .map_or(DIFFERENCE_LIMIT, |l| (l as usize).min(DIFFERENCE_LIMIT));
    let entries: Vec<&LogEntry> = u.log.iter().filter(|e| e.pts > req.pts).collect();
    let slice = entries.len() > limit;
    let entries = &entries[..entries.len().min(limit)];
    let mut users = BTreeSet::new();
    let mut chats = BTreeSet::new();
    for e in entries {
        users.insert(e.from);
        match e.peer {
            PeerRef::User(p) => {
                users.insert(p);
            }
            p => {
                chats.insert(p);
            }
        }
    }
    let new_messages = entries.iter().map(|e| e.message.clone()).collect();
    let last_pts = entries.last().map_or(u.pts, |e| e.pts);
    let users = users.iter().map(|&p| st.render_user(me, p)).collect();
    let chats = chats
        .iter()
        .filter_map(|&p| st.render_peer_chat(me, p))
        .collect();
    if slice {
        return Ok(types::updates::DifferenceSlice {
            new_messages,
            new_encrypted_messages: Vec::new(),
            other_updates: Vec::new(),
            chats,
            users,
            intermediate_state: types::updates::State {
                pts: last_pts,
                qts: 0,
                date: at,
                seq: 0,
                unread_count: 0,
            }
            .into(),
        }
        .into());
    }
    Ok(types::updates::Difference {
        new_messages,
        new_encrypted_messages: Vec::new(),
        other_updates: Vec::new(),
        chats,
        users,
        state: state_of(st, me, at),
    }
    .into())
}

/// Records a channel message for `updates.getChannelDifference`.
fn channel_log(st: &mut State, channel: i64, pts: i32, message: enums::Message, from: i64) {
    if let Some(c) = st.channels.get_mut(&channel) {
        c.log.push((pts, message, from));
        if c.log.len() > MAX_LOG {
            let extra = c.log.len() - MAX_LOG;
            c.log.drain(..extra);
        }
    }
}

/// A logged channel message as `viewer` sees it (`out` when it sent it).
fn as_seen(message: &enums::Message, out: bool) -> enums::Message {
    let mut m = message.clone();
    match &mut m {
        enums::Message::Message(x) => x.out = out,
        enums::Message::Service(x) => x.out = out,
        enums::Message::Empty(_) => {}
    }
    m
}

fn get_channel_difference(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::updates::GetChannelDifference,
) -> R<enums::updates::ChannelDifference> {
    let me = me(st, ctx)?;
    let id = input_channel(st, me, &req.channel)?;
    readable_channel(st, me, id)?;
    let c = &st.channels[&id];
    if req.pts >= c.pts {
        return Ok(types::updates::ChannelDifferenceEmpty {
            r#final: true,
            pts: c.pts,
            timeout: None,
        }
        .into());
    }
    let limit = req.limit.clamp(1, DIFFERENCE_LIMIT as i32) as usize;
    let entries: Vec<&(i32, enums::Message, i64)> =
        c.log.iter().filter(|(pts, _, _)| *pts > req.pts).collect();
    let complete = entries.len() <= limit;
    let entries = &entries[..entries.len().min(limit)];
    let pts = if complete {
        c.pts
    } else {
        entries.last().map_or(c.pts, |e| e.0)
    };
    let senders: BTreeSet<i64> = entries.iter().map(|e| e.2).collect();
    Ok(types::updates::ChannelDifference {
        r#final: complete,
        pts,
        timeout: None,
        new_messages: entries.iter().map(|e| as_seen(&e.1, e.2 == me)).collect(),
        other_updates: Vec::new(),
        chats: vec![st.render_channel(me, id)],
        users: senders.iter().map(|&u| st.render_user(me, u)).collect(),
    }
    .into())
}

fn get_full_channel(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::channels::GetFullChannel,
) -> R<enums::messages::ChatFull> {
    let me = me(st, ctx)?;
    let id = input_channel(st, me, &req.channel)?;
    readable_channel(st, me, id)?;
    let c = &st.channels[&id];
    let admin = c.creator == me || c.admins.contains(&me);
    let full = types::ChannelFull {
        can_view_participants: c.megagroup || admin,
        can_set_username: c.creator == me,
        can_set_stickers: false,
        hidden_prehistory: false,
        can_set_location: false,
        has_scheduled: false,
        can_view_stats: false,
        blocked: false,
        can_delete_channel: c.creator == me,
        antispam: false,
        participants_hidden: false,
        translations_disabled: false,
        stories_pinned_available: false,
        view_forum_as_messages: false,
        restricted_sponsored: false,
        can_view_revenue: false,
        paid_media_allowed: false,
        can_view_stars_revenue: false,
        paid_reactions_available: false,
        stargifts_available: false,
        paid_messages_available: false,
        id,
        about: c.about.clone(),
        participants_count: Some(c.members.len() as i32),
        admins_count: Some(c.admins.len() as i32 + 1),
        kicked_count: None,
        banned_count: None,
        online_count: None,
        read_inbox_max_id: c.last_msg_id,
        read_outbox_max_id: c.last_msg_id,
        unread_count: 0,
        chat_photo: types::PhotoEmpty { id: 0 }.into(),
        notify_settings: types::PeerNotifySettings::default().into(),
        exported_invite: None,
        bot_info: Vec::new(),
        migrated_from_chat_id: None,
        migrated_from_max_id: None,
        pinned_msg_id: None,
        stickerset: None,
        available_min_id: None,
        folder_id: None,
        linked_chat_id: None,
        location: None,
        slowmode_seconds: None,
        slowmode_next_send_date: None,
        stats_dc: None,
        pts: c.pts,
        call: None,
        ttl_period: None,
        pending_suggestions: None,
        groupcall_default_join_as: None,
        theme_emoticon: None,
        requests_pending: None,
        recent_requesters: None,
        default_send_as: None,
        available_reactions: None,
        reactions_limit: None,
        stories: None,
        wallpaper: None,
        boosts_applied: None,
        boosts_unrestrict: None,
        emojiset: None,
        bot_verification: None,
        stargifts_count: None,
        send_paid_messages_stars: None,
        main_tab: None,
        guard_bot_id: None,
    };
    Ok(types::messages::ChatFull {
        full_chat: full.into(),
        chats: vec![st.render_channel(me, id)],
        users: Vec::new(),
    }
    .into())
}

fn get_full_chat(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::messages::GetFullChat,
) -> R<enums::messages::ChatFull> {
    let me = me(st, ctx)?;
    let c = st
        .chats
        .get(&req.chat_id)
        .filter(|c| c.members.contains(&me))
        .ok_or_else(|| bad("CHAT_ID_INVALID"))?;
    let participants = c
        .members
        .iter()
        .map(|&u| -> enums::ChatParticipant {
            if u == c.creator {
                types::ChatParticipantCreator {
                    user_id: u,
                    rank: None,
                }
                .into()
            } else if c.admins.contains(&u) {
                types::ChatParticipantAdmin {
                    user_id: u,
                    inviter_id: c.creator,
                    date: 0,
                    rank: None,
                }
                .into()
            } else {
                types::ChatParticipant {
                    user_id: u,
                    inviter_id: c.creator,
                    date: 0,
                    rank: None,
                }
                .into()
            }
        })
        .collect();
    let full = types::ChatFull {
        can_set_username: false,
        has_scheduled: false,
        translations_disabled: false,
        id: c.id,
        about: String::new(),
        participants: types::ChatParticipants {
            chat_id: c.id,
            participants,
            version: 1,
        }
        .into(),
        chat_photo: None,
        notify_settings: types::PeerNotifySettings::default().into(),
        exported_invite: None,
        bot_info: None,
        pinned_msg_id: None,
        folder_id: None,
        call: None,
        ttl_period: None,
        groupcall_default_join_as: None,
        theme_emoticon: None,
        requests_pending: None,
        recent_requesters: None,
        available_reactions: None,
        reactions_limit: None,
    };
    Ok(types::messages::ChatFull {
        full_chat: full.into(),
        chats: vec![st.render_chat(me, c.id)],
        users: c.members.iter().map(|&u| st.render_user(me, u)).collect(),
    }
    .into())
}

fn get_participant(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::channels::GetParticipant,
) -> R<enums::channels::ChannelParticipant> {
    let me = me(st, ctx)?;
    let id = input_channel(st, me, &req.channel)?;
    readable_channel(st, me, id)?;
    let user = match input_peer(st, me, &req.participant)? {
        PeerRef::User(u) => u,
        _ => return Err(bad("PARTICIPANT_ID_INVALID")),
    };
    let c = &st.channels[&id];
    if !c.megagroup && user != me && c.creator != me && !c.admins.contains(&me) {
        return Err(bad("CHAT_ADMIN_REQUIRED"));
    }
    if !c.members.contains(&user) {
        return Err(bad("USER_NOT_PARTICIPANT"));
    }
    Ok(types::channels::ChannelParticipant {
        participant: participant(st, me, id, user),
        chats: Vec::new(),
        users: vec![st.render_user(me, user)],
    }
    .into())
}

fn get_history(
    st: &mut State,
    ctx: &CallContext<'_>,
    req: f::messages::GetHistory,
) -> R<enums::messages::Messages> {
    let me = me(st, ctx)?;
    let peer = input_peer(st, me, &req.peer)?;
    // (id, message, sender), oldest first.
    let all: Vec<(i32, enums::Message, i64)> = match peer {
        PeerRef::Channel(c) => {
            readable_channel(st, me, c)?;
            st.channels[&c]
                .log
                .iter()
                .map(|(_, m, from)| (message_id(m), as_seen(m, *from == me), *from))
                .collect()
        }
        _ => st.users[&me]
            .log
            .iter()
            .filter(|e| e.peer == peer)
            .map(|e| (message_id(&e.message), e.message.clone(), e.from))
            .collect(),
    };
    let limit = if req.limit <= 0 {
        DIFFERENCE_LIMIT
    } else {
        (req.limit as usize).min(DIFFERENCE_LIMIT)
    };
    let skip = req.add_offset.max(0) as usize;
    let page: Vec<(i32, enums::Message, i64)> = all
        .into_iter()
        .rev()
        .filter(|(id, _, _)| req.offset_id <= 0 || *id < req.offset_id)
        .filter(|(id, _, _)| req.max_id <= 0 || *id < req.max_id)
        .filter(|(id, _, _)| *id > req.min_id)
        .skip(skip)
        .take(limit)
        .collect();
    let mut users: BTreeSet<i64> = page.iter().map(|p| p.2).collect();
    if let PeerRef::User(u) = peer {
        users.insert(u);
    }
    Ok(types::messages::Messages {
        messages: page.into_iter().map(|p| p.1).collect(),
        topics: Vec::new(),
        chats: st.render_peer_chat(me, peer).into_iter().collect(),
        users: users.iter().map(|&u| st.render_user(me, u)).collect(),
    }
    .into())
}

fn message_id(m: &enums::Message) -> i32 {
    match m {
        enums::Message::Message(m) => m.id,
        enums::Message::Service(m) => m.id,
        enums::Message::Empty(m) => m.id,
    }
}
