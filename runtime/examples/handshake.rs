//! An MTProto auth-key exchange in memory: the runtime's sans-IO client and server pass their
//! messages to each other until both hold the same key. No network, no real keys: the server's
//! RSA key is made here from two primes found by a seeded search, and the random bytes come from
//! a seeded generator (never do either outside an example).
//!
//! Run with `cargo run -p tlgen-runtime --features mtproto --example handshake`.

use num_bigint::BigUint;
use tlgen_runtime::crypto::{sha256, RsaPrivateKey, KNOWN_DH_PRIME};
use tlgen_runtime::mtproto::handshake::{AuthKey, Client, ClientStep, Server};

/// Deterministic bytes from a seed (SHA-256 in counter mode): fine for an example, never for keys.
fn seeded(seed: &'static [u8]) -> impl FnMut(&mut [u8]) {
    let mut counter = 0u64;
    move |out: &mut [u8]| {
        for chunk in out.chunks_mut(32) {
            counter += 1;
            let block = sha256(&[seed, &counter.to_le_bytes()]);
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }
}

/// A probable prime of 1024 bits, by Miller–Rabin, searched upwards from a seeded number.
fn prime(seed: &[u8]) -> BigUint {
    let bytes: Vec<u8> = (0..4u8).flat_map(|i| sha256(&[seed, &[i]])).collect();
    let mut n = BigUint::from_bytes_be(&bytes);
    n.set_bit(1023, true);
    n.set_bit(1022, true);
    n.set_bit(0, true);
    // Primes near 2^1024 are about 355 odd numbers apart on average; 100,000 steps without one
    // would be a broken test rather than bad luck.
    for _ in 0..100_000 {
        if probably_prime(&n) {
            return n;
        }
        n += 2u32;
    }
    panic!("no prime within 100,000 odd numbers of the seed")
}

fn probably_prime(n: &BigUint) -> bool {
    let one = BigUint::from(1u32);
    let n_minus_one = n - &one;
    let s = n_minus_one.trailing_zeros().unwrap_or(0);
    let d = &n_minus_one >> s;
    let bases = [2u32, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if bases.iter().any(|&b| n % b == BigUint::from(0u32)) {
        return false;
    }
    bases.iter().all(|&a| {
        let mut x = BigUint::from(a).modpow(&d, n);
        if x == one || x == n_minus_one {
            return true;
        }
        (1..s).any(|_| {
            x = &x * &x % n;
            x == n_minus_one
        })
    })
}

/// Runs the exchange; returns the client's key and the server's.
fn exchange() -> (AuthKey, AuthKey) {
    let (p, q) = (prime(b"example p"), prime(b"example q"));
    let key = RsaPrivateKey::from_primes(&p.to_bytes_be(), &q.to_bytes_be(), &[1, 0, 1])
        .expect("two distinct 1024-bit primes");
    let mut client = Client::new(vec![key.public_key().clone()], 2, seeded(b"client"), || {
        1_700_000_100
    });
    let mut server = Server::new(key, &KNOWN_DH_PRIME, 3, seeded(b"server"), || 1_700_000_000)
        .expect("the known prime and generator 3");
    // req_pq_multi → resPQ → req_DH_params → server_DH_params_ok → set_client_DH_params → dh_gen_ok
    let mut to_server = client.start();
    // Three round trips; a fourth would be a broken exchange.
    for _ in 0..3 {
        let answer = server.handle(&to_server).expect("the server accepts");
        match client.handle(&answer).expect("the client accepts") {
            ClientStep::Send(body) => to_server = body,
            ClientStep::Done(key) => {
                let theirs = server.auth_key().expect("the server finished too").clone();
                return (*key, theirs);
            }
        }
    }
    panic!("the exchange did not finish in three round trips")
}

fn main() {
    let (ours, theirs) = exchange();
    println!("client: {ours:?}");
    println!("server: {theirs:?}");
    println!("same key: {}", ours.key == theirs.key);
}

#[cfg(test)]
mod tests {
    #[test]
    fn client_and_server_agree() {
        let (ours, theirs) = super::exchange();
        assert_eq!(ours.key, theirs.key);
        assert_eq!(ours.id, theirs.id);
        assert_eq!(ours.server_time_offset, -100);
    }
}
