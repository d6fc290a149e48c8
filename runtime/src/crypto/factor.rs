//! Factorization of the handshake's `pq` into its two primes: Pollard–Brent rho over 64-bit Montgomery arithmetic, two walks interleaved.
//!
//! One rho walk is a chain of dependent Montgomery squarings, so it runs at the latency of
//! three multiplications per step and leaves most of the multiplier idle. Two walks with
//! different polynomials step in the same loop: their instructions overlap, a step of both
//! costs little more than a step of one, and the first walk to meet a factor ends the search
//! (sooner on average than a single walk; BENCHMARKS.md has the figures).

use super::CryptoError;

/// Walks stepped together (three or four saturate the multiplier and cost more per step than
/// the earlier success saves).
const WALKS: usize = 2;
/// Steps per walk before a group of walks gives up. A 64-bit composite has a prime factor
/// below 2^32, which a walk meets after about 2^16 steps: a wide margin.
const MAX_STEPS: u64 = 1 << 24;
/// Groups of walks (each with new polynomials) tried before giving up; all of them failing is
/// not expected, and the bound keeps the work finite for any input.
const MAX_GROUPS: u64 = 16;
/// Steps whose differences are multiplied together before one gcd.
const BATCH: u64 = 256;

/// Splits `pq`, the product of two distinct odd primes, into `(p, q)` with `p < q`.
///
/// Deterministic, and bounded for every `u64`: at most `MAX_GROUPS` groups of two walks of
/// `MAX_STEPS` steps each.
///
/// # Errors
///
/// [`CryptoError::NotSemiprime`] when `pq` is below 15, even, prime, a square, or has more or
/// other than two prime factors.
pub fn factorize_pq(pq: u64) -> Result<(u64, u64), CryptoError> {
    let reject = |reason| Err(CryptoError::NotSemiprime { pq, reason });
    if pq < 15 {
        return reject("too small");
    }
    if pq.is_multiple_of(2) {
        return reject("even");
    }
    if is_prime(pq) {
        return reject("prime");
    }
    let Some(d) = find_divisor(pq) else {
        return reject("no factor found");
    };
    let (p, q) = (d.min(pq / d), d.max(pq / d));
    if p == q {
        return reject("a square");
    }
    if !is_prime(p) || !is_prime(q) {
        return reject("more than two prime factors");
    }
    Ok((p, q))
}

/// A nontrivial divisor of the odd composite `n`, by trial division of tiny primes and then
/// Pollard–Brent rho with `f(x) = x²/R − c`.
fn find_divisor(n: u64) -> Option<u64> {
    for small in [3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47] {
        if n.is_multiple_of(small) {
            return Some(small);
        }
    }
    let mont = Montgomery::new(n);
    (0..MAX_GROUPS).find_map(|group| brent(&mont, group))
}

/// Pollard–Brent rho (Brent 1980) for `WALKS` walks in lockstep: double the cycle length `r`,
/// multiply `BATCH` differences before each gcd, and when a batch swallowed both factors of
/// `n`, replay it step by step.
fn brent(mont: &Montgomery, group: u64) -> Option<u64> {
    let n = mont.n;
    // Walk i of group k uses c = k·WALKS + i + 1; trial division left n > 47², so c < n.
    let c: [u64; WALKS] = std::array::from_fn(|i| (group * WALKS as u64 + i as u64 + 1) % n);
    let mut y = [mont.one; WALKS];
    let mut product = [mont.one; WALKS];
    let mut r: u64 = 1;
    let mut steps: u64 = 0;
    loop {
        let x = y;
        for _ in 0..r {
            for (y, c) in y.iter_mut().zip(&c) {
                *y = mont.square_sub(*y, *c);
            }
        }
        let mut k = 0;
        while k < r {
            let saved = y;
            let batch = BATCH.min(r - k);
            for _ in 0..batch {
                for i in 0..WALKS {
                    y[i] = mont.square_sub(y[i], c[i]);
                    product[i] = mont.mul(product[i], x[i].abs_diff(y[i]));
                }
            }
            k += batch;
            let all = product.iter().fold(mont.one, |acc, &p| mont.mul(acc, p));
            let g = gcd(all, n);
            if g != 1 {
                if g != n {
                    return Some(g);
                }
                return (0..WALKS).find_map(|i| replay(mont, c[i], x[i], saved[i], batch));
            }
        }
        steps += 2 * r;
        if steps > MAX_STEPS {
            return None;
        }
        r *= 2;
    }
}

/// One walk's batch again, one gcd per step: a proper factor, or `None` when the walk met
/// itself modulo `n` (its polynomial is then useless).
fn replay(mont: &Montgomery, c: u64, x: u64, saved: u64, batch: u64) -> Option<u64> {
    let n = mont.n;
    let mut y = saved;
    for _ in 0..batch {
        y = mont.square_sub(y, c);
        let g = gcd(x.abs_diff(y), n);
        if g != 1 {
            return (g != n).then_some(g);
        }
    }
    None
}

/// Deterministic Miller–Rabin for any `u64`: the first twelve primes as bases are enough below
/// 3.3 * 10^24 (Sorenson and Webster 2015). Montgomery arithmetic instead of `u128 %`, which
/// is a library call.
pub(crate) fn is_prime(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    for p in BASES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    let mont = Montgomery::new(n);
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    let minus_one = n - mont.one;
    'bases: for a in BASES {
        let mut x = mont.pow(mont.to_mont(a), d);
        if x == mont.one || x == minus_one {
            continue;
        }
        for _ in 1..s {
            x = mont.mul(x, x);
            if x == minus_one {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

/// Binary gcd (Stein): shifts and subtractions instead of one division per step.
fn gcd(mut a: u64, mut b: u64) -> u64 {
    if a == 0 {
        return b;
    }
    if b == 0 {
        return a;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            std::mem::swap(&mut a, &mut b);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

/// Montgomery multiplication modulo an odd `n`, with `R = 2^64`: `mul(a, b) = a * b / R mod n`.
/// Rho only needs a fixed pseudo-random map and gcds with `n`, and since `R` is a unit mod `n`,
/// the values never have to leave Montgomery form.
struct Montgomery {
    n: u64,
    /// `n⁻¹ mod 2^64`.
    inv: u64,
    /// `R mod n`, the Montgomery form of 1.
    one: u64,
    /// `R² mod n`.
    r2: u64,
}

impl Montgomery {
    fn new(n: u64) -> Self {
        // Newton's iteration doubles the correct low bits of an inverse of odd n each step:
        // n * n ≡ 1 mod 8 gives 3 bits, five more steps give 96 >= 64.
        let mut inv = n;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(n.wrapping_mul(inv)));
        }
        let one = ((u128::from(u64::MAX) + 1) % u128::from(n)) as u64; // < n, fits
        let r2 = (u128::from(one) * u128::from(one) % u128::from(n)) as u64; // < n, fits
        Self { n, inv, one, r2 }
    }

    /// `a * b / R mod n` for `a, b < n`, in `0..n`.
    ///
    /// With `m = (a·b mod R)·n⁻¹ mod R`, `a·b − m·n` is divisible by `R` and its low halves
    /// cancel exactly, so the quotient is the difference of the high halves, in `(−n, n)`:
    /// one subtraction and one conditional addition, and no carry out of the low half.
    fn mul(&self, a: u64, b: u64) -> u64 {
        let t = u128::from(a) * u128::from(b);
        self.reduce((t >> 64) as u64, t as u64) // the two halves, on purpose
    }

    /// `a² / R − c mod n` for `a, c < n`: one rho step. `c` is subtracted from the high half
    /// of `a²` while the reduction's multiplications are still running, so the step costs no
    /// more latency than a multiplication.
    fn square_sub(&self, a: u64, c: u64) -> u64 {
        let t = u128::from(a) * u128::from(a);
        let high = (t >> 64) as u64; // < n because a < n
        let (high, borrow) = high.overflowing_sub(c);
        let high = if borrow {
            high.wrapping_add(self.n)
        } else {
            high
        };
        self.reduce(high, t as u64) // the low half, on purpose
    }

    /// `(high·R + low − m·n) / R mod n` for `high < n`, with `m = low·n⁻¹ mod R`.
    fn reduce(&self, high: u64, low: u64) -> u64 {
        let m = low.wrapping_mul(self.inv);
        let mn_high = ((u128::from(m) * u128::from(self.n)) >> 64) as u64; // the high half
        let (r, borrow) = high.overflowing_sub(mn_high);
        if borrow {
            r.wrapping_add(self.n)
        } else {
            r
        }
    }

    /// `a` in Montgomery form.
    fn to_mont(&self, a: u64) -> u64 {
        self.mul(a % self.n, self.r2)
    }

    /// `base^exp` (Montgomery form in and out).
    fn pow(&self, mut base: u64, mut exp: u64) -> u64 {
        let mut acc = self.one;
        while exp > 0 {
            if exp & 1 == 1 {
                acc = self.mul(acc, base);
            }
            base = self.mul(base, base);
            exp >>= 1;
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_official_sample() {
        // core.telegram.org/mtproto/samples-auth_key (2025 revision): see shared/vectors/samples-auth_key.txt.
        assert_eq!(
            factorize_pq(1372318559046200203),
            Ok((1141464581, 1202243663))
        );
        // The same page's older revision published pq = 0x17ED48941A08F981.
        assert_eq!(
            factorize_pq(0x17ED48941A08F981),
            Ok((1229739323, 1402015859))
        );
    }

    #[test]
    fn splits_small_and_unbalanced_products() {
        assert_eq!(factorize_pq(15), Ok((3, 5)));
        assert_eq!(factorize_pq(3 * 4294967291), Ok((3, 4294967291)));
        assert_eq!(factorize_pq(101 * 103), Ok((101, 103)));
        // Two primes near 2^32: the largest pq a u64 holds of this shape.
        assert_eq!(
            factorize_pq(4294967279 * 4294967291),
            Ok((4294967279, 4294967291))
        );
    }

    #[test]
    fn rejects_what_is_not_two_distinct_odd_primes() {
        let reason = |pq| match factorize_pq(pq) {
            Err(CryptoError::NotSemiprime { reason, .. }) => reason,
            other => panic!("{pq}: {other:?}"),
        };
        assert_eq!(reason(0), "too small");
        assert_eq!(reason(1), "too small");
        assert_eq!(reason(9), "too small");
        assert_eq!(reason(2 * 1000003), "even");
        assert_eq!(reason(1000003), "prime");
        assert_eq!(reason(u64::MAX - 58), "prime"); // 2^64 - 59, the largest 64-bit prime
        assert_eq!(reason(1000003 * 1000003), "a square");
        assert_eq!(reason(3 * 5 * 7), "more than two prime factors");
        assert_eq!(
            reason(1000003 * 1000033 * 1009),
            "more than two prime factors"
        );
    }

    #[test]
    fn montgomery_matches_plain_arithmetic() {
        for n in [3u64, 1000003, 0x17ED48941A08F981, u64::MAX - 58, u64::MAX] {
            let mont = Montgomery::new(n);
            assert_eq!(n.wrapping_mul(mont.inv), 1, "n * n^-1 = 1 for {n}");
            let r = u128::from(u64::MAX) + 1;
            let n128 = u128::from(n);
            for (a, b) in [(0, 0), (1, 1), (n - 1, n - 1), (n / 2, n / 3 + 1)] {
                let expect = u128::from(a) * u128::from(b) % n128;
                // mul(a, b) * R ≡ a * b (mod n), and the result is reduced.
                let product = mont.mul(a, b);
                assert!(product < n);
                assert_eq!(
                    u128::from(product) * (r % n128) % n128,
                    expect,
                    "{a} * {b} mod {n}"
                );
                // square_sub(a, c) * R ≡ a² − c·R (mod n)
                let c = b % 1000;
                let step = mont.square_sub(a, c);
                assert!(step < n);
                let expect = (u128::from(a) * u128::from(a) % n128 + n128
                    - u128::from(c) * (r % n128) % n128)
                    % n128;
                assert_eq!(
                    u128::from(step) * (r % n128) % n128,
                    expect,
                    "{a}² − {c} mod {n}"
                );
            }
        }
    }

    #[test]
    fn binary_gcd_matches_euclid() {
        let euclid = |mut a: u64, mut b: u64| {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        };
        for (a, b) in [
            (0, 0),
            (0, 7),
            (7, 0),
            (12, 18),
            (u64::MAX, 3),
            (1 << 40, 1 << 20),
            (1229739323 * 3, 1229739323 * 5),
        ] {
            assert_eq!(gcd(a, b), euclid(a, b), "gcd({a}, {b})");
        }
    }

    #[test]
    fn miller_rabin_agrees_with_trial_division_below_100000() {
        let trial = |n: u64| {
            n >= 2
                && (2..)
                    .take_while(|d| d * d <= n)
                    .all(|d| !n.is_multiple_of(d))
        };
        for n in 0..100_000 {
            assert_eq!(is_prime(n), trial(n), "{n}");
        }
        // Strong pseudoprimes to several small bases.
        for n in [
            3215031751u64,
            2152302898747,
            3474749660383,
            341550071728321,
            3825123056546413051,
        ] {
            assert!(!is_prime(n), "{n}");
        }
        assert!(is_prime(u64::MAX - 58) && is_prime(4294967291) && is_prime(1229739323));
    }

    /// The largest prime at or below `n >= 2` (test helper).
    fn prime_at_or_below(mut n: u64) -> u64 {
        while !is_prime(n) {
            n -= 1;
        }
        n
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn products_of_two_primes_below_2_32_factor(a in 3u64..1 << 32, b in 3u64..1 << 32) {
            // Odd primes below 2^32: the product fits 64 bits.
            let (p, q) = (prime_at_or_below(a), prime_at_or_below(b));
            let pq = p * q;
            let got = factorize_pq(pq);
            if p == q {
                proptest::prop_assert_eq!(got, Err(CryptoError::NotSemiprime { pq, reason: "a square" }));
            } else {
                proptest::prop_assert_eq!(got, Ok((p.min(q), p.max(q))));
            }
        }

        #[test]
        fn any_u64_gets_an_answer_without_panicking(n in proptest::prelude::any::<u64>()) {
            match factorize_pq(n) {
                Ok((p, q)) => {
                    proptest::prop_assert!(p < q && p.checked_mul(q) == Some(n));
                    proptest::prop_assert!(is_prime(p) && is_prime(q));
                }
                Err(CryptoError::NotSemiprime { pq, .. }) => proptest::prop_assert_eq!(pq, n),
                Err(other) => proptest::prop_assert!(false, "unexpected error {other:?}"),
            }
        }
    }
}
