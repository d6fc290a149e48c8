//! Tuples of codecs as the codec of a constructor's fields, and the records their values are
//! read into.

use super::{Cursor, DebugFields, DecodeError, Field, FieldDefault, FieldStd, Flagged, Reader};

macro_rules! tuple_field {
    ($rec:ident; $($t:ident $i:tt),*) => {
        /// The values of a layout of this arity, as read: a record, which the struct generated
        /// for the layout takes apart ([`Fields::from_wire`](super::Fields::from_wire)).
        pub struct $rec<$($t),*>($(pub $t),*);

        impl<$($t: Field),*> Field for ($($t,)*) {
            type Value = $rec<$($t::Value),*>;
            type Ref<'a> = ($($t::Ref<'a>,)*) where Self: 'a;
            const WIDTH: usize = 0 $(+ $t::WIDTH)*;
            #[inline]
            #[allow(unused_variables, unused_mut, unused_assignments, clippy::unused_unit)]
            fn read(r: &mut Reader<'_>, cx: &mut Cursor, at: usize) -> Result<Self::Value, DecodeError> {
                let mut at = at;
                Ok($rec($({
                    let value = $t::read(r, cx, at)?;
                    at += $t::WIDTH;
                    value
                }),*))
            }
            #[inline]
            #[allow(unused_variables)]
            fn write(v: Self::Ref<'_>, flags: &mut Flagged, out: &mut Vec<u8>) {
                $($t::write(v.$i, flags, out);)*
            }
            #[inline]
            #[allow(unused_variables, clippy::unused_unit)]
            fn refs(v: &Self::Value) -> Self::Ref<'_> {
                ($($t::refs(&v.$i),)*)
            }
        }

        impl<$($t: FieldStd),*> FieldStd for ($($t,)*) {
            #[inline]
            #[allow(unused_variables, clippy::unused_unit)]
            fn clone_value(v: Self::Ref<'_>) -> Self::Value {
                $rec($($t::clone_value(v.$i)),*)
            }
            #[inline]
            #[allow(unused_variables)]
            fn eq(a: Self::Ref<'_>, b: Self::Ref<'_>) -> bool {
                true $(&& $t::eq(a.$i, b.$i))*
            }
            #[inline]
            #[allow(unused_variables)]
            fn debug(v: Self::Ref<'_>, out: &mut DebugFields<'_, '_>) {
                $($t::debug(v.$i, out);)*
            }
        }

        impl<$($t: FieldDefault),*> FieldDefault for ($($t,)*) {
            #[inline]
            fn default_value() -> Self::Value {
                $rec($($t::default_value()),*)
            }
        }
    };
}

tuple_field!(Rec0;);
tuple_field!(Rec1; T0 0);
tuple_field!(Rec2; T0 0, T1 1);
tuple_field!(Rec3; T0 0, T1 1, T2 2);
tuple_field!(Rec4; T0 0, T1 1, T2 2, T3 3);
tuple_field!(Rec5; T0 0, T1 1, T2 2, T3 3, T4 4);
tuple_field!(Rec6; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5);
tuple_field!(Rec7; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6);
tuple_field!(Rec8; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7);
tuple_field!(Rec9; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8);
tuple_field!(Rec10; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9);
tuple_field!(Rec11; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10);
tuple_field!(Rec12; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11);
tuple_field!(Rec13; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12);
tuple_field!(Rec14; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12, T13 13);
tuple_field!(Rec15; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12, T13 13, T14 14);
tuple_field!(Rec16; T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11, T12 12, T13 13, T14 14, T15 15);
// Wider tuples at a few arities only: each costs the runtime's build time in proportion to
// its width, and the generator fills a layout up to the next arity with `()`, a codec of no
// field (`src/render/rust.rs`, `WIDE_ARITIES`).
tuple_field!(Rec24;
    T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11,
    T12 12, T13 13, T14 14, T15 15, T16 16, T17 17, T18 18, T19 19, T20 20, T21 21, T22 22, T23 23
);
tuple_field!(Rec32;
    T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11,
    T12 12, T13 13, T14 14, T15 15, T16 16, T17 17, T18 18, T19 19, T20 20, T21 21, T22 22, T23 23,
    T24 24, T25 25, T26 26, T27 27, T28 28, T29 29, T30 30, T31 31
);
tuple_field!(Rec48;
    T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11,
    T12 12, T13 13, T14 14, T15 15, T16 16, T17 17, T18 18, T19 19, T20 20, T21 21, T22 22, T23 23,
    T24 24, T25 25, T26 26, T27 27, T28 28, T29 29, T30 30, T31 31, T32 32, T33 33, T34 34, T35 35,
    T36 36, T37 37, T38 38, T39 39, T40 40, T41 41, T42 42, T43 43, T44 44, T45 45, T46 46, T47 47
);
tuple_field!(Rec64;
    T0 0, T1 1, T2 2, T3 3, T4 4, T5 5, T6 6, T7 7, T8 8, T9 9, T10 10, T11 11,
    T12 12, T13 13, T14 14, T15 15, T16 16, T17 17, T18 18, T19 19, T20 20, T21 21, T22 22, T23 23,
    T24 24, T25 25, T26 26, T27 27, T28 28, T29 29, T30 30, T31 31, T32 32, T33 33, T34 34, T35 35,
    T36 36, T37 37, T38 38, T39 39, T40 40, T41 41, T42 42, T43 43, T44 44, T45 45, T46 46, T47 47,
    T48 48, T49 49, T50 50, T51 51, T52 52, T53 53, T54 54, T55 55, T56 56, T57 57, T58 58, T59 59,
    T60 60, T61 61, T62 62, T63 63
);

/// The tuple arities above 16 that implement [`Field`] (every arity up to 16 does); the
/// generator fills a layout wider than 16 up to the next one with `()` and nests tuples only
/// for constructors wider than the last (`channelFull` has 69 fields). The generator keeps the
/// same list (`src/render/rust.rs`, checked against this one by its tests).
pub const WIDE_ARITIES: [usize; 4] = [24, 32, 48, 64];

/// The widest tuple level (the last of [`WIDE_ARITIES`]).
///
/// A constructor's values are then one flat tuple, which the optimizer turns into the struct
/// field by field. Nested tuples of 16 were moved group by group into the struct, through the
/// stack: reading `message` (51 fields, 4 groups) spent more time in those copies than in
/// reading its fields.
pub const TUPLE_WIDTH: usize = WIDE_ARITIES[WIDE_ARITIES.len() - 1];
