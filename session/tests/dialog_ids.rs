//! Marked ids against `shared/vectors/dialog-ids.txt` (beside the checkout, or in
//! `$TLGEN_SHARED_DIR`), read at test time: the conversion vectors, the invalid ids, each
//! kind's range from the official page, and TDLib's constants. Without the file the test
//! says it skipped, or fails when `CI=true`.

use std::path::PathBuf;

use tlgen_session::marked::{
    MAX_CHANNEL_ID, MAX_CHAT_ID, MAX_MONOFORUM_ID, MAX_USER_ID, MIN_MONOFORUM_ID,
};
use tlgen_session::{MarkedId, MarkedIdError, MarkedKind};

fn vectors() -> Option<String> {
    let shared = std::env::var_os("TLGEN_SHARED_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
        PathBuf::from,
    );
    let path = shared.join("vectors/dialog-ids.txt");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(err) if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "vector file {} is required when CI=true but could not be read: {err}",
            path.display()
        ),
        Err(err) => {
            eprintln!(
                "skipping: vector file {} could not be read ({err})",
                path.display()
            );
            None
        }
    }
}

/// The lines after the heading that contains `heading`, up to the next `==` heading.
fn section<'a>(text: &'a str, heading: &str) -> Vec<&'a str> {
    let mut lines = text
        .lines()
        .skip_while(|l| !(l.starts_with("==") && l.contains(heading)));
    assert!(
        lines.next().is_some(),
        "no section {heading:?} in dialog-ids.txt"
    );
    lines.take_while(|l| !l.starts_with("==")).collect()
}

fn number(s: &str) -> i64 {
    s.trim()
        .trim_end_matches([')', ',', '.', ':'])
        .parse()
        .unwrap_or_else(|_| panic!("not a number in dialog-ids.txt: {s:?}"))
}

fn kind(words: &str) -> MarkedKind {
    match words {
        "user" => MarkedKind::User,
        "chat" => MarkedKind::Chat,
        "channel" => MarkedKind::Channel,
        "monoforum" => MarkedKind::Monoforum,
        "secret chat" => MarkedKind::SecretChat,
        other => panic!("unknown kind {other:?} in dialog-ids.txt"),
    }
}

#[test]
fn conversion_vectors() {
    let Some(text) = vectors() else { return };
    let mut count = 0;
    let mut invalid = 0;
    for line in section(&text, "Conversion vectors") {
        if let Some(list) = line.strip_prefix("invalid dialog ids:") {
            for marked in list.split(',').map(number) {
                assert_eq!(
                    MarkedId::from_marked(marked),
                    Err(MarkedIdError::OutOfRange { marked }),
                    "{marked} should be invalid"
                );
                assert!(marked.to_string().parse::<MarkedId>().is_err());
                invalid += 1;
            }
            continue;
        }
        let Some((left, right)) = line.split_once("<->") else {
            continue;
        };
        // "secret chat -2147483648", "channel 1234567890": the kind is every word but the last.
        let (words, raw) = left.trim().rsplit_once(' ').unwrap();
        let (kind, raw) = (kind(words), number(raw));
        let marked = number(right.split_whitespace().next().unwrap());

        let id = MarkedId::new(kind, raw).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(id.marked(), marked, "{line}");
        assert_eq!(MarkedId::from_marked(marked), Ok(id), "{line}");
        assert_eq!(id.to_string(), marked.to_string(), "{line}");
        assert_eq!(marked.to_string().parse::<MarkedId>(), Ok(id), "{line}");
        if let Some(peer_kind) = id.peer_kind() {
            assert_eq!(MarkedId::from_peer(peer_kind, raw), Ok(id), "{line}");
        } else {
            assert_eq!(kind, MarkedKind::SecretChat);
        }
        count += 1;
    }
    assert!(count >= 12, "only {count} conversion vectors found");
    assert!(invalid >= 4, "only {invalid} invalid ids found");
}

#[test]
fn official_ranges() {
    let Some(text) = vectors() else { return };
    // A line that starts with spaces continues the one before.
    let mut lines: Vec<String> = Vec::new();
    for line in section(&text, "Official page") {
        match lines.last_mut() {
            Some(last) if line.starts_with(' ') => last.push_str(line),
            _ => lines.push(line.to_string()),
        }
    }
    let mut ranges = 0;
    for line in &lines {
        // "Chat: MTProto id 1 .. 999999999999 -> dialog id = -id (range -999999999999 .. -1)"
        let Some(at) = line.find("(range ") else {
            continue;
        };
        // "Monoforum (channel with monoforum flag): ..." names the kind before any "(".
        let words = line.split([':', '(']).next().unwrap().trim().to_lowercase();
        let kind = match words.as_str() {
            "channel/supergroup" => MarkedKind::Channel,
            "secret chat" => MarkedKind::SecretChat,
            other => kind(other),
        };
        let (a, b) = line[at + "(range ".len()..].split_once("..").unwrap();
        for end in [number(a), number(b)] {
            let id = MarkedId::from_marked(end).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(id.kind(), kind, "{line}");
        }
        ranges += 1;
    }
    assert_eq!(ranges, 4, "ranges found on the official page's lines");
    // The user range has no "(range" (it is unchanged): its MTProto ids are the dialog ids.
    let user = lines
        .iter()
        .find(|l| l.starts_with("User:"))
        .expect("User line");
    let ids = user.split("MTProto id").nth(1).unwrap();
    let (lo, rest) = ids.split_once("..").unwrap();
    // "1 .. 0xFFFFFFFFFF (= 1099511627775)": the hex bound, and its decimal value.
    let hex = rest.split_whitespace().next().unwrap();
    let hi = i64::from_str_radix(hex.trim_start_matches("0x"), 16).unwrap();
    let decimal = rest
        .split("(= ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert_eq!(number(decimal), hi);
    assert_eq!((number(lo), hi), (1, MAX_USER_ID));

    // "Whole bot-API dialog id range: -4000000000000 .. 1099511627775"
    let whole = lines
        .iter()
        .find(|l| l.starts_with("Whole"))
        .expect("Whole range line");
    let (lo, hi) = whole.split_once(':').unwrap().1.split_once("..").unwrap();
    let (lo, hi) = (number(lo), number(hi.split_whitespace().next().unwrap()));
    assert!(MarkedId::from_marked(lo).is_ok() && MarkedId::from_marked(hi).is_ok());
    assert!(MarkedId::from_marked(lo - 1).is_err() && MarkedId::from_marked(hi + 1).is_err());
}

#[test]
fn tdlib_constants_and_boundary_choices() {
    let Some(text) = vectors() else { return };
    let lines = section(&text, "TDLib constants");
    let constant = |name: &str| {
        let line = lines
            .iter()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in dialog-ids.txt"));
        // The value is the last number after '=' before any ';'.
        let value = line.split(';').next().unwrap().rsplit('=').next().unwrap();
        number(value)
    };
    assert_eq!(constant("UserId::MAX_USER_ID"), MAX_USER_ID);
    assert_eq!(constant("ChatId::MAX_CHAT_ID"), MAX_CHAT_ID);
    assert_eq!(constant("ChannelId::MAX_CHANNEL_ID"), MAX_CHANNEL_ID);
    assert_eq!(
        constant("ChannelId::MIN_MONOFORUM_CHANNEL_ID"),
        MIN_MONOFORUM_ID
    );
    assert_eq!(
        constant("ChannelId::MAX_MONOFORUM_CHANNEL_ID"),
        MAX_MONOFORUM_ID
    );
    let zero_channel = constant("DialogId::ZERO_CHANNEL_ID");
    let zero_secret = constant("DialogId::ZERO_SECRET_CHAT_ID");
    assert!(MarkedId::from_marked(zero_channel).is_err());
    assert!(MarkedId::from_marked(zero_secret).is_err());

    // Where the page and TDLib disagree, the choices the module documents: the largest
    // channel and monoforum ids are valid (page, and TDLib's get_type); secret chat 0 is not.
    let mut seen = 0;
    for line in &lines {
        let Some(rest) = line.trim_start().strip_prefix("- ") else {
            continue;
        };
        let at = rest
            .find("dialog ")
            .expect("a dialog id on each discrepancy line");
        let marked = number(
            rest[at + "dialog ".len()..]
                .split_whitespace()
                .next()
                .unwrap(),
        );
        let expected = if rest.starts_with("secret chat id 0") {
            None
        } else {
            Some(if marked == -4_000_000_000_000 {
                MarkedKind::Monoforum
            } else {
                MarkedKind::Channel
            })
        };
        assert_eq!(
            MarkedId::from_marked(marked).ok().map(|id| id.kind()),
            expected,
            "{line}"
        );
        seen += 1;
    }
    assert_eq!(seen, 3, "boundary discrepancies listed");
}

#[test]
fn channels_beyond_the_old_32_bit_bounds() {
    let Some(text) = vectors() else { return };
    let lines = section(&text, "Older");
    let example = lines
        .iter()
        .find_map(|l| l.split("e.g. dialog ").nth(1))
        .expect("an example of a new channel id");
    let marked = number(
        example
            .split_whitespace()
            .next()
            .unwrap()
            .trim_end_matches(')'),
    );
    let id = MarkedId::from_marked(marked).unwrap();
    assert_eq!(id.kind(), MarkedKind::Channel);
    assert!(id.raw() > i64::from(i32::MAX));
}
