//! `Clone`, `Default`, `PartialEq` and `Debug` of generated constructor structs, through their
//! layouts: the generic bodies and the macro that implements the traits with them.

use std::fmt;

use super::{DebugFields, FieldDefault, FieldStd, Fields};

/// `Clone::clone` of a constructor, field by field through its layout: what the
/// [`impl_std_traits!`](crate::impl_std_traits) impls call, so that the generated crate holds
/// one line per struct instead of a derived body.
#[inline]
pub fn clone<T: Fields>(value: &T) -> T
where
    T::Wire: FieldStd,
{
    T::from_wire(T::Wire::clone_value(value.to_wire()))
}

/// `Default::default` of a constructor: each stored field's default, through its layout (what
/// the `impl_std_traits!(T + Default)` impls call).
#[inline]
pub fn default<T: Fields>() -> T
where
    T::Wire: FieldDefault,
{
    T::from_wire(T::Wire::default_value())
}

/// `PartialEq::eq` of two constructors of the same type, field by field (flags words are not
/// stored, so they never differ).
#[inline]
pub fn eq<T: Fields>(a: &T, b: &T) -> bool
where
    T::Wire: FieldStd,
{
    T::Wire::eq(a.to_wire(), b.to_wire())
}

/// `Debug::fmt` of a constructor: `Name { field: value, .. }` as `#[derive(Debug)]` prints it
/// (stored fields only, under their Rust names).
#[inline]
pub fn debug<T: Fields>(value: &T, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result
where
    T::Wire: FieldStd,
{
    let mut out = DebugFields {
        st: f.debug_struct(name),
        names: T::INFO.fields.split(' '),
    };
    T::Wire::debug(value.to_wire(), &mut out);
    out.st.finish()
}

/// Implements `Clone`, `PartialEq` and `Debug` for generated constructor structs (each
/// implementing [`Fields`]) through [`clone`], [`eq`] and [`debug`], and with `T + Default`
/// also `Default` through [`default`]: the same behaviour as the derives, with one generic body
/// in this crate instead of one per struct in the generated one, which the generated crate then
/// does not build. The methods are `#[inline]`: like the rest of the generated code, they are
/// compiled where a program uses them.
#[macro_export]
macro_rules! impl_std_traits {
    ($t:ident + Default) => {
        $crate::impl_std_traits!($t);
        impl ::core::default::Default for $t {
            #[inline]
            fn default() -> Self {
                $crate::tl::wire::default()
            }
        }
    };
    ($($t:ident),* $(,)?) => {$(
        impl ::core::clone::Clone for $t {
            #[inline]
            fn clone(&self) -> Self {
                $crate::tl::wire::clone(self)
            }
        }
        impl ::core::cmp::PartialEq for $t {
            #[inline]
            fn eq(&self, other: &Self) -> bool {
                $crate::tl::wire::eq(self, other)
            }
        }
        impl ::core::fmt::Debug for $t {
            #[inline]
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                $crate::tl::wire::debug(self, ::core::stringify!($t), f)
            }
        }
    )*};
}
