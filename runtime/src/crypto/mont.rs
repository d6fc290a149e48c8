//! Fixed-width Montgomery arithmetic and constant-time modular powers for the handshake's 2048-bit moduli (and the 1024-bit halves of RSA-CRT).
//!
//! A number is a little-endian array of `N` 64-bit limbs (`N` = 32 for 2048 bits, 16 for 1024),
//! `N` a multiple of 4. Products and Montgomery reductions are computed four rows at a time
//! ("bands"): each column of a band sums four products in a three-word accumulator, so the loops
//! have fixed trip counts and the carry chains stay short. A squaring computes each cross
//! product once: `a² = 2·Σ(band × higher limbs) + Σ(band²)`. A reduction removes four limbs per
//! band with a 256-bit `-n⁻¹`.
//!
//! Secret exponents (the DH `a` and `b`, the RSA private exponents) go through
//! [`Modulus::pow`] and [`Modulus::pow_small_base`]: fixed windows over every bit of the
//! exponent's byte string (its length is public, its value is not), so the sequence of squarings
//! and multiplications never depends on the exponent; table entries are read by scanning the
//! whole table with masks; the last subtraction of each Montgomery product is a masked one, not
//! a branch. [`Modulus::pow_public`] is the variable-time power for public exponents (RSA `e`).
//!
//! On x86_64 CPUs with AVX-512 IFMA, the constant-time powers of 1024- and 2048-bit moduli
//! ([`Modulus::pow`], [`Modulus::pow_small_base`] and [`FixedBase`]) run the same schedules in
//! radix 2^52 instead (`super::ifma`), chosen once per modulus in [`Modulus::new`]; the other
//! operations stay here.

use std::hint::black_box;

use num_bigint::BigUint;
use num_traits::One;

#[cfg(target_arch = "x86_64")]
use super::ifma::{CombTables, IfmaModulus};

/// The widest modulus supported, in limbs (2048 bits): it sizes the stack buffers.
const MAX_LIMBS: usize = 32;
/// Bits per window of [`Modulus::pow`]: 2048 squarings and 410 multiplications for a 2048-bit
/// exponent, plus 30 to fill the 32-entry table (window 4 would need 512 + 14, window 6 would
/// scan a 64-entry table at every step).
pub(super) const WINDOW: usize = 5;
/// Bits per window of [`Modulus::pow_small_base`]: `7^15 < 2^43`, so every table entry
/// `g^w` is one limb.
const SMALL_WINDOW: usize = 4;

/// An odd modulus of at most `64 * N` bits with its Montgomery constants (`R = 2^(64N)`).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Modulus<const N: usize> {
    n: [u64; N],
    /// `-n⁻¹ mod 2^256`, the multiplier of one reduction band.
    n_prime: [u64; 4],
    /// `R mod n`: one in Montgomery form.
    one: [u64; N],
    /// `R² mod n`: multiplying by it converts into Montgomery form.
    r2: [u64; N],
    /// `⌊(2^128 − 1) / n_top⌋ − 2^64` for the top limb `n_top`, when its top bit is set: the
    /// reciprocal that lets [`Modulus::pow_small_base`] divide by `n` without a `div`
    /// instruction (whose timing depends on its operands).
    top_reciprocal: Option<u64>,
    /// The same modulus for the AVX-512 IFMA powers, when the CPU has them.
    #[cfg(target_arch = "x86_64")]
    ifma: Option<IfmaModulus>,
}

impl<const N: usize> Modulus<N> {
    /// The constants for `n`, or `None` unless `n` is odd, at least 3 and at most `64 * N` bits.
    ///
    /// They are computed with num-bigint, whose division is not constant-time: fine for a
    /// public modulus, and for an RSA prime it is one setup per key, not per decryption.
    pub(crate) fn new(n: &BigUint) -> Option<Self> {
        const { assert!(N.is_multiple_of(4) && N >= 8 && N <= MAX_LIMBS) };
        if !n.bit(0) || n.bits() > 64 * N as u64 || *n < BigUint::from(3u32) {
            return None;
        }
        let limbs = limbs_of::<N>(n)?;
        let band = BigUint::one() << 256u32;
        // n is odd, so it is invertible modulo 2^256.
        let inverse = n.modinv(&band)?;
        let n_prime = limbs_of::<4>(&((&band - inverse) % &band))?;
        let r = BigUint::one() << (64 * N);
        let one = limbs_of::<N>(&(&r % n))?;
        let r2 = limbs_of::<N>(&(&r * &r % n))?;
        let top = limbs[N - 1];
        let top_reciprocal =
            (top >> 63 == 1).then(|| (u128::MAX / u128::from(top) - (1u128 << 64)) as u64); // < 2^64 for top >= 2^63
        Some(Self {
            n: limbs,
            n_prime,
            one,
            r2,
            top_reciprocal,
            #[cfg(target_arch = "x86_64")]
            ifma: IfmaModulus::new(n, N),
        })
    }

    /// The same modulus without the IFMA path, to test the portable one on any CPU.
    #[cfg(test)]
    pub(crate) fn portable(&self) -> Self {
        Self {
            #[cfg(target_arch = "x86_64")]
            ifma: None,
            ..self.clone()
        }
    }

    /// Whether the powers take the IFMA path.
    #[cfg(test)]
    pub(crate) fn uses_ifma(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        return self.ifma.is_some();
        #[cfg(not(target_arch = "x86_64"))]
        return false;
    }

    /// `a * b / R mod n` for `a * b < n * R` (for example both below `n`).
    pub(crate) fn mul(&self, a: &[u64; N], b: &[u64; N]) -> [u64; N] {
        let mut buf = [0u64; 2 * MAX_LIMBS + 1];
        // `new` checked N <= MAX_LIMBS, so the slice is in bounds.
        let t = &mut buf[..2 * N + 1];
        let mut carry = 0;
        for i in (0..N).step_by(4) {
            carry = add_mul_band(&mut t[i..i + N + 4], a, band(b, i), carry);
        }
        // The product is below 2^(128N): the last carry is zero.
        self.reduce(t)
    }

    /// `a² / R mod n` for `a < n`.
    pub(crate) fn sqr(&self, a: &[u64; N]) -> [u64; N] {
        let mut buf = [0u64; 2 * MAX_LIMBS + 1];
        let t = &mut buf[..2 * N + 1];
        // Products of limbs of different bands, each pair once: band i times the limbs above it.
        // Band i writes limbs 2i+4 .. N+i+4 and hands its carry to limb N+i+4, the column its
        // successor adds the carry to.
        let mut carry = 0;
        for i in (0..N - 4).step_by(4) {
            carry = add_mul_band(&mut t[2 * i + 4..N + i + 4], &a[i + 4..], band(a, i), carry);
        }
        // No band writes limb 2N - 4 (the last one ends below it).
        t[2 * N - 4] = carry;
        // Double, then add the squares of the bands, which fill disjoint runs of eight limbs.
        let mut high_bit = 0;
        for limb in t[..2 * N].iter_mut() {
            let doubled = (*limb << 1) | high_bit;
            high_bit = *limb >> 63;
            *limb = doubled;
        }
        let mut carry = false;
        for (run, i) in t[..2 * N].chunks_exact_mut(8).zip((0..N).step_by(4)) {
            for (limb, square) in run.iter_mut().zip(sqr_band(band(a, i))) {
                (*limb, carry) = adc(*limb, square, carry);
            }
        }
        // a² < 2^(128N): neither the doubling nor the sum carries out.
        self.reduce(t)
    }

    /// Montgomery reduction of `t` (2N + 1 limbs, value below `n * R`, top limb zero):
    /// `t / R mod n`. Each band adds a multiple of `n` that clears four more low limbs.
    fn reduce(&self, t: &mut [u64]) -> [u64; N] {
        let mut carry = 0;
        for i in (0..N).step_by(4) {
            let m = mul_low_band([t[i], t[i + 1], t[i + 2], t[i + 3]], self.n_prime);
            carry = add_mul_band(&mut t[i..i + N + 4], &self.n, m, carry);
        }
        // (t + m·n) / R < (n·R + R·n) / R = 2n: the high half plus one carry bit.
        let mut high = [0u64; N];
        high.copy_from_slice(&t[N..2 * N]);
        self.subtract_if_not_below(high, t[2 * N].wrapping_add(carry))
    }

    /// `value + top * R` minus `n` when that is not below `n`, without branching on the values.
    fn subtract_if_not_below(&self, value: [u64; N], top: u64) -> [u64; N] {
        let mut diff = [0u64; N];
        let mut borrow = false;
        for ((d, v), n) in diff.iter_mut().zip(&value).zip(&self.n) {
            (*d, borrow) = sbb(*v, *n, borrow);
        }
        // Keep `value` when it is below n: the subtraction borrowed and there is no top bit.
        let keep = black_box((u64::from(borrow) & !top & 1).wrapping_neg());
        let mut out = [0u64; N];
        for ((o, v), d) in out.iter_mut().zip(&value).zip(&diff) {
            *o = (v & keep) | (d & !keep);
        }
        out
    }

    /// `a − b mod n` for `a, b < n`, without branching on the values.
    pub(crate) fn sub(&self, a: &[u64; N], b: &[u64; N]) -> [u64; N] {
        let mut diff = [0u64; N];
        let mut borrow = false;
        for ((d, x), y) in diff.iter_mut().zip(a).zip(b) {
            (*d, borrow) = sbb(*x, *y, borrow);
        }
        let add_back = black_box(u64::from(borrow).wrapping_neg());
        let mut carry = false;
        for (d, n) in diff.iter_mut().zip(&self.n) {
            (*d, carry) = adc(*d, n & add_back, carry);
        }
        diff
    }

    /// `x` in Montgomery form (`x * R mod n`), for any `x < R`.
    pub(crate) fn to_mont(&self, x: &[u64; N]) -> [u64; N] {
        // x < R and R² mod n < n: the product is below n·R.
        self.mul(x, &self.r2)
    }

    /// `x` out of Montgomery form (`x / R mod n`).
    pub(crate) fn to_normal(&self, x: &[u64; N]) -> [u64; N] {
        let mut unit = [0u64; N];
        unit[0] = 1;
        self.mul(x, &unit)
    }

    /// `wide mod n` for a number of at most `2N` limbs below `n * R` (an RSA block modulo one
    /// prime of the key).
    pub(crate) fn reduce_wide(&self, wide: &[u64]) -> [u64; N] {
        let mut buf = [0u64; 2 * MAX_LIMBS + 1];
        let t = &mut buf[..2 * N + 1];
        for (limb, w) in t.iter_mut().zip(wide.iter().take(2 * N)) {
            *limb = *w;
        }
        // reduce gives wide / R; one Montgomery product with R² gives wide.
        let divided = self.reduce(t);
        self.mul(&divided, &self.r2)
    }

    /// `base^exp mod n` in constant time for a secret `exp` (big-endian bytes; every bit of the
    /// slice is processed, leading zeros included) and any `base < R`.
    pub(crate) fn pow(&self, base: &[u64; N], exp: &[u8]) -> [u64; N] {
        #[cfg(target_arch = "x86_64")]
        if let Some(fast) = &self.ifma {
            let mut out = [0u64; N];
            fast.pow(base, exp, &mut out);
            // At most n, and below R: one masked subtraction.
            return self.subtract_if_not_below(out, 0);
        }
        let mut table = [[0u64; N]; 1 << WINDOW];
        table[0] = self.one;
        table[1] = self.to_mont(base);
        for i in 2..table.len() {
            table[i] = if i % 2 == 0 {
                self.sqr(&table[i / 2])
            } else {
                self.mul(&table[i - 1], &table[1])
            };
        }
        let mut acc = self.one;
        for (step, (position, width)) in windows(exp.len(), WINDOW).enumerate() {
            let entry = select(&table, window(exp, position, width));
            if step == 0 {
                acc = entry;
                continue;
            }
            for _ in 0..width {
                acc = self.sqr(&acc);
            }
            acc = self.mul(&acc, &entry);
        }
        self.to_normal(&acc)
    }

    /// `g^exp mod n` in constant time for a small `g` (2..=7, as DH generators are) and a secret
    /// `exp`: four squarings, then one multiplication by the one-limb `g^w`, per window of four
    /// bits. Falls back to [`Modulus::pow`] for another `g` or a modulus whose top bit is clear.
    /// With IFMA, this is [`Modulus::pow`] (faster than the one-limb products here).
    pub(crate) fn pow_small_base(&self, g: u64, exp: &[u8]) -> [u64; N] {
        #[cfg(target_arch = "x86_64")]
        if self.ifma.is_some() {
            let mut base = [0u64; N];
            base[0] = g;
            return self.pow(&base, exp);
        }
        let Some(reciprocal) = self.top_reciprocal.filter(|_| (2..=7).contains(&g)) else {
            let mut base = [0u64; N];
            base[0] = g;
            return self.pow(&base, exp);
        };
        let mut powers = [1u64; 1 << SMALL_WINDOW];
        for i in 1..powers.len() {
            // g^15 <= 7^15 < 2^43: no overflow.
            powers[i] = powers[i - 1] * g;
        }
        // The accumulator stays in Montgomery form: multiplying x·R by a plain g^w gives
        // (x·g^w)·R, and only the reduction modulo n remains.
        let mut acc = self.one;
        for (position, width) in windows(exp.len(), SMALL_WINDOW) {
            for _ in 0..width {
                acc = self.sqr(&acc);
            }
            let w = window(exp, position, width);
            acc = self.mul_small(&acc, select_limb(&powers, w), reciprocal);
        }
        self.to_normal(&acc)
    }

    /// `a * s mod n` for `a < n` and a one-limb `s`, when the top bit of `n` is set: the
    /// quotient is estimated from the top two limbs (Knuth's Theorem B: at most 2 too large)
    /// with the reciprocal of the top limb (Möller and Granlund 2011, Algorithm 4), and the
    /// remainder is corrected by two masked additions of `n`.
    fn mul_small(&self, a: &[u64; N], s: u64, reciprocal: u64) -> [u64; N] {
        let mut product = [0u64; N];
        let mut carry = 0u64;
        for (p, x) in product.iter_mut().zip(a) {
            (*p, carry) = mac(*x, s, 0, carry);
        }
        // a·s < n·2^64, so the top limb is at most the top limb of n.
        let (u1, u0, d) = (carry, product[N - 1], self.n[N - 1]);
        let equal = black_box(mask_eq(u1, d));
        let q = (div_2by1(u1 & !equal, u0, d, reciprocal) & !equal) | equal;
        // remainder = product - q·n, in [-2n, n), as N + 1 limbs in two's complement.
        let mut remainder = [0u64; N];
        let (mut high, mut borrow) = (0u64, false);
        for ((r, p), n) in remainder.iter_mut().zip(&product).zip(&self.n) {
            let lo;
            (lo, high) = mac(q, *n, 0, high);
            (*r, borrow) = sbb(*p, lo, borrow);
        }
        let mut top = carry.wrapping_sub(high).wrapping_sub(u64::from(borrow));
        for _ in 0..2 {
            let negative = black_box((top >> 63).wrapping_neg());
            let mut carry = false;
            for (r, n) in remainder.iter_mut().zip(&self.n) {
                (*r, carry) = adc(*r, n & negative, carry);
            }
            top = top.wrapping_add(u64::from(carry));
        }
        remainder
    }

    /// `base^exp mod n` for a public `exp` (big-endian), left-to-right binary: faster than
    /// [`Modulus::pow`] for short exponents such as RSA's `e`, and variable-time.
    pub(crate) fn pow_public(&self, base: &[u64; N], exp: &[u8]) -> [u64; N] {
        let base = self.to_mont(base);
        let mut acc: Option<[u64; N]> = None;
        for byte in exp {
            for shift in (0..8).rev() {
                if let Some(value) = acc.as_mut() {
                    *value = self.sqr(value);
                }
                if (byte >> shift) & 1 == 1 {
                    acc = Some(match acc {
                        Some(value) => self.mul(&value, &base),
                        None => base,
                    });
                }
            }
        }
        self.to_normal(&acc.unwrap_or(self.one))
    }
}

/// Teeth of the comb of [`FixedBase`]: its tables hold `2^COMB_TEETH` entries each.
pub(super) const COMB_TEETH: usize = 6;

/// Precomputed powers of a fixed base for the Lim–Lee comb (Lim and Lee 1994), with two tables:
/// `base^e` for an exponent of `bits` bits costs `⌈bits / 12⌉` squarings and `⌈bits / 6⌉`
/// multiplications instead of `bits` squarings (2048 bits: 171 and 342 instead of 2048 and
/// 410). Building it costs about as much as one ordinary power; the tables take
/// `2 · 64 · 8N` bytes (32 KiB for 2048 bits; 40 KiB in the IFMA form, when the modulus has
/// it), so it pays for itself from the second power with the same base and modulus.
///
/// The exponent's bits are split into `COMB_TEETH` rows of `columns` bits; column `j` of the
/// exponent (one bit from each row) indexes `tables[0]`, whose entry `v` is the product of
/// `base^(2^(i·columns))` over the set bits `i` of `v`; `tables[1]` holds the same products raised
/// to `2^half`, for the columns of the upper half.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct FixedBase<const N: usize> {
    /// Exponent length in bytes that this comb was built for.
    len: usize,
    /// Bits per row.
    columns: usize,
    /// `⌈columns / 2⌉`: squarings per power.
    half: usize,
    /// Both tables, entries in Montgomery form: `[0..64)` then `[64..128)`.
    tables: Tables<N>,
}

/// The comb tables in the form of the arithmetic that built them.
#[derive(Clone, PartialEq, Eq)]
enum Tables<const N: usize> {
    /// 64-bit limbs, Montgomery form modulo `R = 2^(64N)`.
    Portable(Vec<[u64; N]>),
    /// 52-bit limbs for the IFMA path.
    #[cfg(target_arch = "x86_64")]
    Ifma(CombTables),
}

impl<const N: usize> FixedBase<N> {
    /// The comb for `base` (any `base < R`) and exponents of `len` bytes modulo `m`.
    pub(crate) fn new(m: &Modulus<N>, base: &[u64; N], len: usize) -> Self {
        let columns = (8 * len).div_ceil(COMB_TEETH);
        let half = columns.div_ceil(2);
        #[cfg(target_arch = "x86_64")]
        if let Some(fast) = &m.ifma {
            return Self {
                len,
                columns,
                half,
                tables: Tables::Ifma(fast.comb_tables(base, columns, half)),
            };
        }
        // Row bases base^(2^(i·columns)) and the same raised to 2^half.
        let mut rows = [[0u64; N]; COMB_TEETH];
        let mut upper_rows = [[0u64; N]; COMB_TEETH];
        let mut power = m.to_mont(base);
        for i in 0..COMB_TEETH {
            rows[i] = power;
            for _ in 0..half {
                power = m.sqr(&power);
            }
            upper_rows[i] = power;
            for _ in half..columns {
                power = m.sqr(&power);
            }
        }
        let size = 1 << COMB_TEETH;
        let mut tables = vec![m.one; 2 * size];
        for (table, rows) in [(0, &rows), (1, &upper_rows)] {
            for v in 1..size {
                // v = (v without its top bit) + top bit: one product per entry.
                let top = usize::BITS - 1 - v.leading_zeros();
                let rest = v ^ (1 << top);
                tables[table * size + v] = if rest == 0 {
                    rows[top as usize]
                } else {
                    m.mul(&tables[table * size + rest], &rows[top as usize])
                };
            }
        }
        Self {
            len,
            columns,
            half,
            tables: Tables::Portable(tables),
        }
    }

    /// `base^exp mod n` in constant time for a secret `exp` of the length the comb was built
    /// for; `None` for another length, or for a comb built with the IFMA path and a modulus
    /// without it (only tests make those).
    pub(crate) fn pow(&self, m: &Modulus<N>, exp: &[u8]) -> Option<[u64; N]> {
        if exp.len() != self.len {
            return None;
        }
        // Without x86_64, `Tables` has one variant.
        #[cfg_attr(
            not(target_arch = "x86_64"),
            allow(clippy::infallible_destructuring_match)
        )]
        let tables = match &self.tables {
            Tables::Portable(tables) => tables,
            #[cfg(target_arch = "x86_64")]
            Tables::Ifma(tables) => {
                let mut out = [0u64; N];
                m.ifma.as_ref()?.comb_pow(tables, self.steps(exp), &mut out);
                // At most n, and below R: one masked subtraction.
                return Some(m.subtract_if_not_below(out, 0));
            }
        };
        let size = 1 << COMB_TEETH;
        let (lower, upper) = tables.split_at(size);
        let mut acc = m.one;
        for (column, upper_column) in self.steps(exp) {
            acc = m.sqr(&acc);
            acc = m.mul(&acc, &select(lower, column));
            acc = m.mul(&acc, &select(upper, upper_column));
        }
        Some(m.to_normal(&acc))
    }

    /// Whether the tables are in the IFMA form.
    #[cfg(all(test, target_arch = "x86_64"))]
    pub(crate) fn uses_ifma(&self) -> bool {
        matches!(self.tables, Tables::Ifma(_))
    }

    /// The indices into both tables for each squaring, first to last: column `j` of the
    /// exponent, and column `j + half`.
    fn steps<'a>(&'a self, exp: &'a [u8]) -> impl Iterator<Item = (usize, usize)> + 'a {
        let column = move |j: usize| {
            (0..COMB_TEETH).fold(0, |v, i| v | (window(exp, i * self.columns + j, 1) << i))
        };
        (0..self.half).rev().map(move |j| {
            // Columns past the end of a row read as zero bits: window() gives 0 there, and
            // the entry for 0 is one.
            let upper_column = if j + self.half < self.columns {
                column(j + self.half)
            } else {
                0
            };
            (column(j), upper_column)
        })
    }
}

impl<const N: usize> std::fmt::Debug for FixedBase<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FixedBase<{N}> {{ len: {} }}", self.len)
    }
}

impl<const N: usize> std::fmt::Debug for Modulus<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The modulus may be a secret RSA prime.
        write!(f, "Modulus<{N}>")
    }
}

/// `n` as `N` little-endian limbs, or `None` when it does not fit.
pub(crate) fn limbs_of<const N: usize>(n: &BigUint) -> Option<[u64; N]> {
    let digits = n.to_u64_digits();
    if digits.len() > N {
        return None;
    }
    let mut out = [0u64; N];
    out[..digits.len()].copy_from_slice(&digits);
    Some(out)
}

/// A big-endian byte string as `N` limbs, or `None` when its value does not fit.
pub(crate) fn limbs_from_be<const N: usize>(bytes: &[u8]) -> Option<[u64; N]> {
    let mut out = [0u64; N];
    for (i, byte) in bytes.iter().rev().enumerate() {
        match out.get_mut(i / 8) {
            Some(limb) => *limb |= u64::from(*byte) << (8 * (i % 8)),
            None if *byte != 0 => return None,
            None => {}
        }
    }
    Some(out)
}

/// The low `out.len()` bytes of `x`, big-endian.
pub(crate) fn write_be<const N: usize>(x: &[u64; N], out: &mut [u8]) {
    for (i, byte) in out.iter_mut().rev().enumerate() {
        *byte = x.get(i / 8).map_or(0, |limb| (limb >> (8 * (i % 8))) as u8); // one byte on purpose
    }
}

/// `x` as a `BigUint` (for tests).
#[cfg(test)]
fn to_biguint<const N: usize>(x: &[u64; N]) -> BigUint {
    let mut bytes = [0u8; 8 * MAX_LIMBS];
    let bytes = &mut bytes[..8 * N];
    write_be(x, bytes);
    BigUint::from_bytes_be(bytes)
}

/// Limbs `i .. i + 4` of `x`.
fn band(x: &[u64], i: usize) -> [u64; 4] {
    [x[i], x[i + 1], x[i + 2], x[i + 3]]
}

/// `acc += x * y`, where `acc` has `x.len() + 4` limbs and `x` at least 3; `carry_in` is
/// added at limb `x.len()` (where the previous band of a product left its carry). Returns the
/// carry out of the top limb (0 or 1 when the sum fits, as in every caller).
#[inline(always)]
pub(crate) fn add_mul_band(acc: &mut [u64], x: &[u64], y: [u64; 4], carry_in: u64) -> u64 {
    let len = x.len();
    let acc = &mut acc[..len + 4];
    let [y0, y1, y2, y3] = y;
    // The running column: lo + hi·2^64 + top·2^128 (four products and two limbs never reach
    // 2^131).
    let (mut lo, mut hi, mut top) = (0u64, 0u64, 0u64);
    macro_rules! add_product {
        ($x:expr, $y:expr) => {{
            let (p_lo, p_hi) = mul_wide($x, $y);
            let carry;
            (lo, carry) = lo.overflowing_add(p_lo);
            let carry2;
            (hi, carry2) = adc(hi, p_hi, carry);
            top += u64::from(carry2);
        }};
    }
    macro_rules! add_limb {
        ($v:expr) => {{
            let carry;
            (lo, carry) = lo.overflowing_add($v);
            let carry2;
            (hi, carry2) = hi.overflowing_add(u64::from(carry));
            top += u64::from(carry2);
        }};
    }
    macro_rules! next_column {
        () => {{
            (lo, hi, top) = (hi, top, 0);
        }};
    }
    add_limb!(acc[0]);
    add_product!(x[0], y0);
    acc[0] = lo;
    next_column!();
    add_limb!(acc[1]);
    add_product!(x[1], y0);
    add_product!(x[0], y1);
    acc[1] = lo;
    next_column!();
    add_limb!(acc[2]);
    add_product!(x[2], y0);
    add_product!(x[1], y1);
    add_product!(x[0], y2);
    acc[2] = lo;
    next_column!();
    for (a, w) in acc[3..len].iter_mut().zip(x.windows(4)) {
        add_limb!(*a);
        add_product!(w[3], y0);
        add_product!(w[2], y1);
        add_product!(w[1], y2);
        add_product!(w[0], y3);
        *a = lo;
        next_column!();
    }
    add_limb!(acc[len]);
    add_limb!(carry_in);
    add_product!(x[len - 1], y1);
    add_product!(x[len - 2], y2);
    add_product!(x[len - 3], y3);
    acc[len] = lo;
    next_column!();
    add_limb!(acc[len + 1]);
    add_product!(x[len - 1], y2);
    add_product!(x[len - 2], y3);
    acc[len + 1] = lo;
    next_column!();
    add_limb!(acc[len + 2]);
    add_product!(x[len - 1], y3);
    acc[len + 2] = lo;
    // The last column holds no product: two words suffice.
    (lo, hi) = (hi, top);
    let (last, carry) = lo.overflowing_add(acc[len + 3]);
    acc[len + 3] = last;
    hi + u64::from(carry)
}

/// The square of a four-limb number, eight limbs.
fn sqr_band(a: [u64; 4]) -> [u64; 8] {
    let mut out = [0u64; 8];
    // Cross products once, doubled, then the squares on the diagonal.
    let mut cross = [0u64; 8];
    for i in 0..3 {
        let mut carry = 0u64;
        for j in i + 1..4 {
            let lo;
            (lo, carry) = mac(a[i], a[j], cross[i + j], carry);
            cross[i + j] = lo;
        }
        cross[i + 4] = carry;
    }
    let mut high_bit = 0;
    for limb in cross.iter_mut() {
        let doubled = (*limb << 1) | high_bit;
        high_bit = *limb >> 63;
        *limb = doubled;
    }
    let mut carry = false;
    for i in 0..4 {
        let (lo, hi) = mul_wide(a[i], a[i]);
        (out[2 * i], carry) = adc(cross[2 * i], lo, carry);
        (out[2 * i + 1], carry) = adc(cross[2 * i + 1], hi, carry);
    }
    out
}

/// The low four limbs of `t * y`.
fn mul_low_band(t: [u64; 4], y: [u64; 4]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for i in 0..4 {
        let mut carry = 0u64;
        for j in 0..4 - i {
            let lo;
            (lo, carry) = mac(t[i], y[j], out[i + j], carry);
            out[i + j] = lo;
        }
    }
    out
}

/// The windows of an exponent of `len` bytes, most significant first, as (lowest bit,
/// width): the first holds the leftover top bits, the others `width` bits each.
pub(super) fn windows(len: usize, width: usize) -> impl Iterator<Item = (usize, usize)> {
    let bits = 8 * len;
    let first = match bits % width {
        0 => width.min(bits),
        rest => rest,
    };
    let mut position = bits;
    let mut next = first;
    std::iter::from_fn(move || {
        if position == 0 {
            return None;
        }
        position -= next;
        let item = (position, next);
        next = width;
        Some(item)
    })
}

/// Bits `position .. position + width` of the big-endian `exp` (bit 0 is the lowest).
pub(super) fn window(exp: &[u8], position: usize, width: usize) -> usize {
    let mut value = 0;
    for bit in (position..position + width).rev() {
        let byte = exp
            .len()
            .checked_sub(1 + bit / 8)
            .and_then(|i| exp.get(i))
            .copied()
            .unwrap_or(0);
        value = (value << 1) | usize::from((byte >> (bit % 8)) & 1);
    }
    value
}

/// `a + b + carry` and the carry out.
#[inline(always)]
fn adc(a: u64, b: u64, carry: bool) -> (u64, bool) {
    let (sum, c1) = a.overflowing_add(b);
    let (sum, c2) = sum.overflowing_add(u64::from(carry));
    (sum, c1 | c2)
}

/// `a − b − borrow` and the borrow out.
#[inline(always)]
fn sbb(a: u64, b: u64, borrow: bool) -> (u64, bool) {
    let (diff, b1) = a.overflowing_sub(b);
    let (diff, b2) = diff.overflowing_sub(u64::from(borrow));
    (diff, b1 | b2)
}

/// The two limbs of `a * b`, low first.
#[inline(always)]
fn mul_wide(a: u64, b: u64) -> (u64, u64) {
    let product = u128::from(a) * u128::from(b);
    (product as u64, (product >> 64) as u64) // the two halves, on purpose
}

/// `a * b + add + carry` (never above 2^128 − 1) as two limbs, low first.
#[inline(always)]
fn mac(a: u64, b: u64, add: u64, carry: u64) -> (u64, u64) {
    mul_wide_sum(u128::from(a) * u128::from(b) + u128::from(add) + u128::from(carry))
}

#[inline(always)]
fn mul_wide_sum(value: u128) -> (u64, u64) {
    (value as u64, (value >> 64) as u64) // the two halves, on purpose
}

/// All ones when `a == b`, else zero, computed without a branch.
fn mask_eq(a: u64, b: u64) -> u64 {
    let x = a ^ b;
    // The top bit of x | -x is set exactly when x != 0.
    ((x | x.wrapping_neg()) >> 63).wrapping_sub(1)
}

/// All ones when `a < b`, else zero, computed without a branch.
fn mask_lt(a: u64, b: u64) -> u64 {
    (u128::from(a).wrapping_sub(u128::from(b)) >> 64) as u64 // the high half is 0 or all ones
}

/// `table[index]`, reading every entry so the memory access pattern does not depend on `index`.
fn select<const N: usize>(table: &[[u64; N]], index: usize) -> [u64; N] {
    let mut out = [0u64; N];
    for (i, entry) in table.iter().enumerate() {
        let mask = black_box(mask_eq(i as u64, index as u64));
        for (o, e) in out.iter_mut().zip(entry) {
            *o |= e & mask;
        }
    }
    out
}

/// `table[index]` for a table of single limbs, reading every entry.
fn select_limb(table: &[u64], index: usize) -> u64 {
    table.iter().enumerate().fold(0, |acc, (i, entry)| {
        acc | (entry & black_box(mask_eq(i as u64, index as u64)))
    })
}

/// `⌊(u1·2^64 + u0) / d⌋` for `u1 < d` and `d >= 2^63`, given `reciprocal =
/// ⌊(2^128 − 1) / d⌋ − 2^64`, without a `div` instruction or a branch.
fn div_2by1(u1: u64, u0: u64, d: u64, reciprocal: u64) -> u64 {
    let sum = (u128::from(reciprocal) * u128::from(u1))
        .wrapping_add((u128::from(u1) << 64) | u128::from(u0));
    let mut q1 = ((sum >> 64) as u64).wrapping_add(1); // the high half fits a u64
    let q0 = sum as u64; // the low half, on purpose
    let mut r = u0.wrapping_sub(q1.wrapping_mul(d));
    let too_big = black_box(mask_lt(q0, r));
    q1 = q1.wrapping_add(too_big);
    r = r.wrapping_add(d & too_big);
    let too_small = black_box(!mask_lt(r, d));
    q1.wrapping_sub(too_small)
}

#[cfg(test)]
mod tests {
    use num_traits::Zero;
    use proptest::prelude::*;

    use super::*;

    /// The portable arithmetic for `n`, whatever the CPU (`super::super::ifma` tests the
    /// IFMA path).
    fn modulus<const N: usize>(n: &BigUint) -> Modulus<N> {
        let m = Modulus::<N>::new(n).unwrap().portable();
        assert!(!m.uses_ifma());
        m
    }

    fn big<const N: usize>(x: &[u64; N]) -> BigUint {
        to_biguint(x)
    }

    fn limbs<const N: usize>(x: &BigUint) -> [u64; N] {
        limbs_of::<N>(x).unwrap()
    }

    /// An odd modulus of exactly `bits` bits from the bytes (top bit and bit 0 set).
    fn odd_modulus(bytes: &[u8], bits: u64) -> BigUint {
        let mut n = BigUint::from_bytes_be(bytes) % (BigUint::one() << bits);
        n.set_bit(bits - 1, true);
        n.set_bit(0, true);
        n
    }

    fn known_prime() -> BigUint {
        BigUint::from_bytes_be(&super::super::dh::KNOWN_DH_PRIME)
    }

    #[test]
    fn rejects_unusable_moduli() {
        assert!(Modulus::<32>::new(&BigUint::from(10u32)).is_none());
        assert!(Modulus::<32>::new(&BigUint::one()).is_none());
        assert!(Modulus::<16>::new(&((BigUint::one() << 1024u32) + 1u32)).is_none());
        assert!(Modulus::<16>::new(&((BigUint::one() << 1024u32) - 1u32)).is_some());
        assert!(format!("{:?}", modulus::<32>(&known_prime())).starts_with("Modulus<32>"));
    }

    #[test]
    fn products_at_the_edges() {
        let p = known_prime();
        let m = modulus::<32>(&p);
        let r_inv = (BigUint::one() << 2048u32).modinv(&p).unwrap();
        let top = &p - 1u32;
        for a in [BigUint::zero(), BigUint::one(), top.clone(), &p >> 1u32] {
            for b in [BigUint::zero(), BigUint::one(), top.clone(), &p / 3u32] {
                let expect = &a * &b * &r_inv % &p;
                assert_eq!(big(&m.mul(&limbs(&a), &limbs(&b))), expect);
            }
            assert_eq!(big(&m.sqr(&limbs(&a))), &a * &a * &r_inv % &p);
        }
        // The largest 2048-bit odd modulus, all limbs ones: every column at its maximum.
        let n = (BigUint::one() << 2048u32) - 1u32;
        let m = modulus::<32>(&n);
        let a = &n - 1u32;
        let r_inv = (BigUint::one() << 2048u32).modinv(&n).unwrap();
        assert_eq!(big(&m.sqr(&limbs(&a))), &a * &a * &r_inv % &n);
        assert_eq!(big(&m.mul(&limbs(&a), &limbs(&a))), &a * &a * &r_inv % &n);
    }

    #[test]
    fn small_multiplier_at_the_edges() {
        // Top limb all ones, and top limb exactly 2^63: both ends of the quotient estimate.
        for n in [
            (BigUint::one() << 2048u32) - 1u32,
            (BigUint::one() << 2047u32) + 1u32,
            known_prime(),
        ] {
            let m = modulus::<32>(&n);
            let reciprocal = m.top_reciprocal.unwrap();
            for a in [BigUint::zero(), BigUint::one(), &n - 1u32, &n >> 1u32] {
                for s in [0u64, 1, 7, 7u64.pow(15), u64::MAX] {
                    let got = m.mul_small(&limbs(&a), s, reciprocal);
                    assert_eq!(big(&got), &a * s % &n, "{a} * {s}");
                }
            }
        }
    }

    #[test]
    fn divides_two_limbs_by_one() {
        for d in [1u64 << 63, (1 << 63) + 1, u64::MAX, 0xC71C_AEB9_C6B1_C904] {
            let reciprocal = (u128::MAX / u128::from(d) - (1u128 << 64)) as u64;
            for (u1, u0) in [(0, 0), (0, u64::MAX), (d - 1, u64::MAX), (d >> 1, 12345)] {
                let expect = ((u128::from(u1) << 64) | u128::from(u0)) / u128::from(d);
                assert_eq!(u128::from(div_2by1(u1, u0, d, reciprocal)), expect);
            }
        }
    }

    #[test]
    fn powers_of_the_published_prime() {
        let p = known_prime();
        let m = modulus::<32>(&p);
        let exp: Vec<u8> = (0..=255u8).rev().collect();
        let expect = BigUint::from(3u32).modpow(&BigUint::from_bytes_be(&exp), &p);
        assert_eq!(big(&m.pow_small_base(3, &exp)), expect);
        let mut three = [0u64; 32];
        three[0] = 3;
        assert_eq!(big(&m.pow(&three, &exp)), expect);
        assert_eq!(big(&m.pow_public(&three, &exp)), expect);
        // Empty and zero exponents give 1.
        for exp in [&[][..], &[0, 0][..]] {
            assert_eq!(big(&m.pow(&three, exp)), BigUint::one());
            assert_eq!(big(&m.pow_small_base(3, exp)), BigUint::one());
            assert_eq!(big(&m.pow_public(&three, exp)), BigUint::one());
        }
    }

    #[test]
    fn comb_powers_of_the_published_prime() {
        let p = known_prime();
        let m = modulus::<32>(&p);
        let mut three = [0u64; 32];
        three[0] = 3;
        let comb = FixedBase::new(&m, &three, 256);
        for exp in [
            [0u8; 256],
            [0xff; 256],
            std::array::from_fn(|i| (i * 37) as u8),
        ] {
            let expect = BigUint::from(3u32).modpow(&BigUint::from_bytes_be(&exp), &p);
            assert_eq!(big(&comb.pow(&m, &exp).unwrap()), expect);
        }
        assert!(comb.pow(&m, &[1; 255]).is_none());
        assert_eq!(format!("{comb:?}"), "FixedBase<32> { len: 256 }");
    }

    #[test]
    fn windows_cover_every_bit_once() {
        for len in 0..5 {
            for width in [4, 5] {
                let covered: usize = windows(len, width).map(|(_, w)| w).sum();
                assert_eq!(covered, 8 * len);
                let mut expected_top = 8 * len;
                for (position, w) in windows(len, width) {
                    assert_eq!(position + w, expected_top);
                    expected_top = position;
                }
            }
        }
        assert_eq!(window(&[0b1011_0110, 0b0101_0011], 3, 5), 0b01010);
        assert_eq!(window(&[0b1011_0110, 0b0101_0011], 11, 5), 0b10110);
    }

    #[test]
    fn byte_conversions_round_trip() {
        let bytes: Vec<u8> = (1..=40).collect();
        let x = limbs_from_be::<8>(&bytes).unwrap();
        assert_eq!(big(&x), BigUint::from_bytes_be(&bytes));
        let mut out = [0u8; 40];
        write_be(&x, &mut out);
        assert_eq!(out[..], bytes[..]);
        assert!(limbs_from_be::<8>(&[1; 65]).is_none());
        let mut padded = vec![0; 30];
        padded.extend_from_slice(&bytes);
        assert_eq!(limbs_from_be::<8>(&padded), Some(x));
    }

    fn check_pow<const N: usize>(n: &BigUint, base: &[u8], exp: &[u8]) {
        let m = modulus::<N>(n);
        let base = BigUint::from_bytes_be(base) % n;
        let e = BigUint::from_bytes_be(exp);
        let expect = base.modpow(&e, n);
        let b = limbs::<N>(&base);
        assert_eq!(big(&m.pow(&b, exp)), expect, "pow");
        assert_eq!(big(&m.pow_public(&b, exp)), expect, "pow_public");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn products_match_num_bigint(
            n in prop::collection::vec(any::<u8>(), 256),
            a in prop::collection::vec(any::<u8>(), 256),
            b in prop::collection::vec(any::<u8>(), 256),
            bits in 64u64..=2048,
        ) {
            let n = odd_modulus(&n, bits);
            let m = modulus::<32>(&n);
            let r_inv = (BigUint::one() << 2048u32).modinv(&n).unwrap();
            let a = BigUint::from_bytes_be(&a) % &n;
            let b = BigUint::from_bytes_be(&b) % &n;
            prop_assert_eq!(big(&m.mul(&limbs(&a), &limbs(&b))), &a * &b * &r_inv % &n);
            prop_assert_eq!(big(&m.sqr(&limbs(&a))), &a * &a * &r_inv % &n);
            prop_assert_eq!(big(&m.sub(&limbs(&a), &limbs(&b))), (&a + &n - &b) % &n);
            prop_assert_eq!(big(&m.to_normal(&m.to_mont(&limbs(&a)))), a.clone());
            let wide = &a * &b;
            let mut wide_limbs = [0u64; 64];
            let digits = wide.to_u64_digits();
            wide_limbs[..digits.len()].copy_from_slice(&digits);
            prop_assert_eq!(big(&m.reduce_wide(&wide_limbs)), wide % &n);
        }

        #[test]
        fn powers_match_num_bigint_2048(
            n in prop::collection::vec(any::<u8>(), 256),
            base in prop::collection::vec(any::<u8>(), 256),
            exp in prop::collection::vec(any::<u8>(), 0..=256),
            bits in prop::sample::select(vec![2048u64, 2047, 1500, 1025, 130]),
        ) {
            check_pow::<32>(&odd_modulus(&n, bits), &base, &exp);
        }

        #[test]
        fn powers_match_num_bigint_1024(
            n in prop::collection::vec(any::<u8>(), 128),
            base in prop::collection::vec(any::<u8>(), 128),
            exp in prop::collection::vec(any::<u8>(), 0..=128),
            bits in prop::sample::select(vec![1024u64, 1023, 700, 512]),
        ) {
            check_pow::<16>(&odd_modulus(&n, bits), &base, &exp);
        }

        #[test]
        fn comb_powers_match_num_bigint(
            n in prop::collection::vec(any::<u8>(), 128),
            base in prop::collection::vec(any::<u8>(), 128),
            exps in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..=40), 1..4),
            len in 1usize..=40,
        ) {
            // One comb, several exponents of its length (including lengths whose bit count is
            // not a multiple of the teeth or of two).
            let n = odd_modulus(&n, 1024);
            let m = modulus::<16>(&n);
            let base = BigUint::from_bytes_be(&base) % &n;
            let comb = FixedBase::new(&m, &limbs(&base), len);
            for exp in exps {
                let mut exp = exp;
                exp.resize(len, 0x5a);
                let expect = base.modpow(&BigUint::from_bytes_be(&exp), &n);
                prop_assert_eq!(big(&comb.pow(&m, &exp).unwrap()), expect);
            }
        }

        #[test]
        fn small_base_powers_match_num_bigint(
            n in prop::collection::vec(any::<u8>(), 256),
            exp in prop::collection::vec(any::<u8>(), 0..=256),
            g in 2u64..=7,
            bits in prop::sample::select(vec![2048u64, 1800]),
        ) {
            // 2048 bits takes the one-limb path, 1800 bits (top limb bit clear) the fallback.
            let n = odd_modulus(&n, bits);
            let m = modulus::<32>(&n);
            let expect = BigUint::from(g).modpow(&BigUint::from_bytes_be(&exp), &n);
            prop_assert_eq!(big(&m.pow_small_base(g, &exp)), expect);
        }
    }
}
