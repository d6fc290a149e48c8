//! Small numbers as types, for flag bits and flags word numbers in codecs.

/// A small number as a type: a flag's bit or a flags word's number in a codec (`Opt<T, N3>`).
///
/// Types rather than const generic arguments: rustc type-checks and builds each `3` written as a
/// const argument as a body of its own, and the Telegram API has thousands of them.
pub trait Nat: 'static {
    /// The number.
    const N: u32;
}

macro_rules! nats {
    ($($n:ident $v:literal),*) => {$(
        #[doc = concat!("The number ", $v, " (a [`Nat`]).")]
        #[derive(Debug)]
        pub struct $n;
        impl Nat for $n {
            const N: u32 = $v;
        }
    )*};
}

nats!(
    N0 0, N1 1, N2 2, N3 3, N4 4, N5 5, N6 6, N7 7, N8 8, N9 9, N10 10, N11 11, N12 12, N13 13,
    N14 14, N15 15, N16 16, N17 17, N18 18, N19 19, N20 20, N21 21, N22 22, N23 23, N24 24,
    N25 25, N26 26, N27 27, N28 28, N29 29, N30 30, N31 31
);
