//! Tests of the layouts, codecs and trait bodies, on constructors declared as tlgen generates
//! them.

use super::*;

/// `c flags:# a:flags.0?true b:flags.1?int = T` (shared/vectors/tl-crc32-and-serialization.txt, section D):
/// as tlgen generates constructors.
#[derive(Debug, PartialEq)]
struct C {
    a: bool,
    b: Option<i32>,
}

impl Fields for C {
    const INFO: Info = Info {
        id: 0x1234_5678,
        name: "c",
        fields: "flags a b",
    };
    type Wire = (Flags, Bit<N0>, Opt<i32, N1>);
    fn from_wire(Rec3((), a, b): Value<Self>) -> Self {
        Self { a, b }
    }
    fn to_wire(&self) -> Refs<'_, Self> {
        (&(), &self.a, &self.b)
    }
}

#[test]
fn flags_are_computed_and_read_back() {
    let c = C {
        a: true,
        b: Some(7),
    };
    let mut out = Vec::new();
    c.serialize_bare(&mut out);
    assert_eq!(out, [3, 0, 0, 0, 7, 0, 0, 0]);
    assert_eq!(C::deserialize_bare(&mut Reader::new(&out)).unwrap(), c);
    let none = C { a: false, b: None };
    assert_eq!(none.to_bytes()[4..], [0, 0, 0, 0]);
    let err = C::deserialize_bare(&mut Reader::new(&[2, 0, 0, 0, 1])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unexpected end of input: needed 4 bytes, 1 left at byte 4 in c.b"
    );
}

/// `d flags:# a:flags.0?true flags2:# n:int b:flags2.3?int = T`: a second flags word (the
/// codecs' word parameter), a required field, and errors that name each field by its place.
/// The struct's fields are in another order than the record's.
#[derive(Debug, PartialEq)]
struct D {
    b: Option<i32>,
    n: i32,
    a: bool,
}

impl Fields for D {
    const INFO: Info = Info {
        id: 0x0000_00d0,
        name: "d",
        fields: "flags a flags2 n b",
    };
    type Wire = (Flags, Bit<N0>, Flags<N1>, i32, Opt<i32, N3, N1>);
    fn from_wire(Rec5((), a, (), n, b): Value<Self>) -> Self {
        Self { a, n, b }
    }
    fn to_wire(&self) -> Refs<'_, Self> {
        (&(), &self.a, &(), &self.n, &self.b)
    }
}

/// `g flags:# a:flags.0?true live:flags.1?true self:flags.1?int n:int = T`, declared twice to
/// compare them: with the derives (`G`) and with `impl_std_traits!` (`H`). `live` is implied
/// by `self`'s bit, so not stored; `self` is stored as `self_`.
macro_rules! layout_g {
    ($(#[$attr:meta])* $name:ident, $tl:literal) => {
        $(#[$attr])*
        struct $name {
            a: bool,
            self_: Option<i32>,
            n: i32,
        }

        impl Fields for $name {
            const INFO: Info = Info {
                id: 0x0000_00e0,
                name: $tl,
                fields: "flags a live self=self_ n",
            };
            type Wire = (Flags, Bit<N0>, Implied, Opt<i32, N1>, i32);
            fn from_wire(Rec5((), a, (), self_, n): Value<Self>) -> Self {
                Self { a, self_, n }
            }
            fn to_wire(&self) -> Refs<'_, Self> {
                (&(), &self.a, &(), &self.self_, &self.n)
            }
        }
    };
}

layout_g!(
    #[derive(Debug, Clone, PartialEq, Default)]
    G,
    "g"
);
layout_g!(H, "h");
crate::impl_std_traits!(H + Default);

#[test]
fn std_traits_behave_like_the_derives() {
    let g = G {
        a: true,
        self_: Some(9),
        n: 5,
    };
    let h = H {
        a: true,
        self_: Some(9),
        n: 5,
    };
    assert_eq!(format!("{h:?}"), format!("{g:?}").replacen('G', "H", 1));
    assert_eq!(format!("{h:#?}"), format!("{g:#?}").replacen('G', "H", 1));
    assert_eq!(format!("{h:?}"), "H { a: true, self_: Some(9), n: 5 }");
    assert_eq!(
        format!("{:?}", H::default()),
        format!("{:?}", G::default()).replacen('G', "H", 1)
    );
    let copy = h.clone();
    assert!(copy == h);
    assert!(copy.n == 5 && copy.self_ == Some(9) && copy.a);
    for other in [
        H {
            a: false,
            ..h.clone()
        },
        H { n: 6, ..h.clone() },
        H {
            self_: None,
            ..h.clone()
        },
    ] {
        assert!(other != h);
    }
    // The implied bit is set by the value that carries it and read back through it; errors
    // name the field as the schema does.
    let bytes = h.to_bytes();
    assert_eq!(bytes[4..], [3, 0, 0, 0, 9, 0, 0, 0, 5, 0, 0, 0]);
    assert!(H::from_bytes(&bytes).unwrap() == h);
    let err = H::from_bytes(&bytes[..10]).unwrap_err().to_string();
    assert!(err.ends_with("at byte 8 in h.self"), "{err}");
}

/// An enum of `H`, a unit variant and a variant that holds a unit constructor, twice: with
/// the derives (`Derived`) and with `impl_enum_traits!` (`Visited`), which must behave the
/// same.
#[derive(Debug, Clone, PartialEq)]
struct U;

impl Fields for U {
    const INFO: Info = Info {
        id: 0x0000_00f0,
        name: "u",
        fields: "",
    };
    type Wire = ();
    fn from_wire(_: Value<Self>) -> Self {
        Self
    }
    fn to_wire(&self) -> Refs<'_, Self> {}
}

/// The unit constructor of `Empty`.
#[derive(Debug, Clone, PartialEq)]
struct E;

impl Fields for E {
    const INFO: Info = Info {
        id: 0x0000_00f1,
        name: "e",
        fields: "",
    };
    type Wire = ();
    fn from_wire(_: Value<Self>) -> Self {
        Self
    }
    fn to_wire(&self) -> Refs<'_, Self> {}
}

macro_rules! enum_of {
    ($(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        enum $name {
            H(Box<H>),
            Empty,
            U(U),
        }

        impl From<H> for $name {
            fn from(x: H) -> Self {
                Self::H(Box::new(x))
            }
        }

        impl From<U> for $name {
            fn from(x: U) -> Self {
                Self::U(x)
            }
        }

        impl From<E> for $name {
            fn from(_: E) -> Self {
                Self::Empty
            }
        }
    };
}

enum_of!(
    #[derive(Debug, Clone, PartialEq)]
    Derived
);
enum_of!(Visited);
crate::impl_enum_traits!(Visited);

impl Variants for Visited {
    fn visit<V: Visit<Self>>(&self, visitor: V) -> V::Output {
        match self {
            Self::H(x) => visitor.variant("H", &**x),
            Self::Empty => visitor.unit("Empty", &E),
            Self::U(x) => visitor.variant("U", x),
        }
    }
}

#[test]
fn enum_traits_behave_like_the_derives() {
    let h = || H {
        a: true,
        self_: Some(9),
        n: 5,
    };
    let pairs = [
        (Derived::H(Box::new(h())), Visited::H(Box::new(h()))),
        (Derived::Empty, Visited::Empty),
        (Derived::U(U), Visited::U(U)),
    ];
    for (d, v) in &pairs {
        assert_eq!(format!("{v:?}"), format!("{d:?}"));
        assert_eq!(format!("{v:#?}"), format!("{d:#?}"));
        assert!(v.clone() == *v && d.clone() == *d);
    }
    for (i, (d, v)) in pairs.iter().enumerate() {
        for (j, (d2, v2)) in pairs.iter().enumerate() {
            assert_eq!(v == v2, i == j, "{v:?} == {v2:?}");
            assert_eq!(d == d2, v == v2);
        }
    }
    let other = Visited::H(Box::new(H { n: 6, ..h() }));
    assert!(other != pairs[0].1);
    // The variant's constructor, boxed: `Empty` is written as the unit constructor it holds.
    assert_eq!(pairs[0].1.to_bytes(), h().to_bytes());
    assert_eq!(pairs[1].1.to_bytes(), 0xf1_u32.to_le_bytes());
    assert_eq!(pairs[2].1.to_bytes(), 0xf0_u32.to_le_bytes());
}

#[test]
fn second_flags_words_and_field_names_in_errors() {
    let d = D {
        a: true,
        n: 5,
        b: Some(9),
    };
    let mut out = Vec::new();
    d.serialize_bare(&mut out);
    assert_eq!(out, [1, 0, 0, 0, 8, 0, 0, 0, 5, 0, 0, 0, 9, 0, 0, 0]);
    assert_eq!(D::deserialize_bare(&mut Reader::new(&out)).unwrap(), d);
    let message = |len: usize| {
        D::deserialize_bare(&mut Reader::new(&out[..len]))
            .unwrap_err()
            .to_string()
    };
    assert!(
        message(2).ends_with("at byte 0 in d.flags"),
        "{}",
        message(2)
    );
    assert!(
        message(6).ends_with("at byte 4 in d.flags2"),
        "{}",
        message(6)
    );
    assert!(message(10).ends_with("at byte 8 in d.n"), "{}", message(10));
    assert!(
        message(14).ends_with("at byte 12 in d.b"),
        "{}",
        message(14)
    );
}
