//! Login state: which auth key is signed in as which user, the code each key was sent, the
//! account's 2FA password (kept only as an SRP verifier) and the server half of SRP-2048 as
//! <https://core.telegram.org/api/srp> specifies it.
//!
//! Secrets (login codes, the password, SRP exponents) never reach a log line: nothing here logs,
//! and `Debug` prints counts only.

use std::collections::HashMap;
use std::sync::LazyLock;

use num_bigint::BigUint;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// An auth key id (the lower 64 bits of SHA-1 of the key), as it prefixes every packet.
pub(crate) type KeyId = [u8; 8];

/// Digits in a login code (`auth.sentCodeTypeApp.length`).
pub(crate) const CODE_LENGTH: usize = 5;

/// The SRP generator Telegram pairs with [`SRP_P`].
pub(crate) const SRP_G: i32 = 3;

/// Telegram's 2048-bit SRP safe prime, big-endian. Public: the same in Telegram's docs and in every
/// client; grammers checks it is a safe prime with `p mod 3 = 2` before it answers.
static SRP_P: LazyLock<BigUint> = LazyLock::new(|| {
    BigUint::parse_bytes(
        b"c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d2\
          2530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc974651296932\
          8454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a6\
          95811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582d\
          b1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959\
          d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b",
        16,
    )
    .unwrap_or_default()
});

/// [`SRP_P`] as the 256 bytes sent in `passwordKdfAlgo…ModPow.p`.
pub(crate) fn srp_p_bytes() -> Vec<u8> {
    SRP_P.to_bytes_be()
}

/// What `auth.sendCode` handed one auth key, until `auth.signIn` (or `auth.signUp`) uses it.
pub(crate) struct PendingLogin {
    /// Phone number as digits, without `+`.
    pub phone: String,
    /// Opaque id of this code request.
    pub phone_code_hash: String,
    /// The code the user has to type.
    pub code: String,
}

/// The account's 2FA password as the server keeps it: the salts and `v = g^x mod p`.
pub(crate) struct Password {
    /// `salt1` of the current algorithm (server prefix plus client random, 40 bytes).
    pub salt1: Vec<u8>,
    /// `salt2` of the current algorithm (16 bytes).
    pub salt2: Vec<u8>,
    /// Shown by clients on the password prompt.
    pub hint: String,
    verifier: BigUint,
}

impl Password {
    /// Derives the verifier for `password` with fresh random salts. Slow on purpose (PBKDF2 with
    /// 100 000 rounds): call it outside the world lock.
    pub(crate) fn new(password: &str, hint: &str) -> Self {
        let mut salt1 = vec![0; 40];
        let mut salt2 = vec![0; 16];
        rand::fill(&mut salt1[..]);
        rand::fill(&mut salt2[..]);
        let x = BigUint::from_bytes_be(&ph2(password.as_bytes(), &salt1, &salt2));
        let verifier = g().modpow(&x, &SRP_P);
        Self {
            salt1,
            salt2,
            hint: hint.to_owned(),
            verifier,
        }
    }
}

/// What `account.getPassword` reveals of one SRP round: its id and `g_b` (`srp_B`).
pub(crate) struct SrpChallenge {
    /// `srp_id`, echoed back by `auth.checkPassword`.
    pub srp_id: i64,
    /// `srp_B = (k·v + g^b) mod p`, 256 bytes.
    pub g_b: Vec<u8>,
}

/// One SRP round's server secret, kept until `auth.checkPassword`.
struct SrpSession {
    id: i64,
    b: BigUint,
    g_b: [u8; 256],
}

/// Why `auth.checkPassword` refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SrpFailure {
    /// No `account.getPassword` round with this id for this key (or the password changed since).
    UnknownId,
    /// `M1` does not prove knowledge of the password.
    Mismatch,
}

/// Login state of the whole DC.
#[derive(Default)]
pub(crate) struct Auth {
    signed_in: HashMap<KeyId, i64>,
    logins: HashMap<KeyId, PendingLogin>,
    awaiting_password: HashMap<KeyId, i64>,
    srp: HashMap<KeyId, SrpSession>,
    password: Option<Password>,
    codes_sent: u64,
    last_code: Option<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Codes and password material are secrets: never print them.
        f.debug_struct("Auth")
            .field("signed_in", &self.signed_in.len())
            .field("pending_logins", &self.logins.len())
            .field("awaiting_password", &self.awaiting_password.len())
            .field("password_set", &self.password.is_some())
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// The user `key` is signed in as.
    pub(crate) fn signed_in_as(&self, key: KeyId) -> Option<i64> {
        self.signed_in.get(&key).copied()
    }

    /// Signs `key` in as `user`, ending any login in progress on it.
    pub(crate) fn sign_in(&mut self, key: KeyId, user: i64) {
        self.logins.remove(&key);
        self.awaiting_password.remove(&key);
        self.srp.remove(&key);
        self.signed_in.insert(key, user);
    }

    /// Signs `key` out; `false` if it was not signed in.
    pub(crate) fn log_out(&mut self, key: KeyId) -> bool {
        self.logins.remove(&key);
        self.awaiting_password.remove(&key);
        self.srp.remove(&key);
        self.signed_in.remove(&key).is_some()
    }

    /// The user whose login on `key` waits for the 2FA password.
    pub(crate) fn awaiting_password(&self, key: KeyId) -> Option<i64> {
        self.awaiting_password.get(&key).copied()
    }

    /// Records that `key` typed the right code for `user`, who has a 2FA password.
    pub(crate) fn await_password(&mut self, key: KeyId, user: i64) {
        self.logins.remove(&key);
        self.awaiting_password.insert(key, user);
    }

    /// Issues the next login code to `key` for `phone`; returns the `phone_code_hash`.
    ///
    /// Codes are deterministic: the n-th code a DC sends is `(12345 + 48271·n) mod 100000`,
    /// zero-padded to [`CODE_LENGTH`] digits (the first is `12345`). Tests read them with
    /// `TestDc::last_login_code`.
    pub(crate) fn send_code(&mut self, key: KeyId, phone: String) -> String {
        let n = self.codes_sent;
        self.codes_sent += 1;
        let code = format!("{:05}", (12_345 + 48_271 * (n % 100_000)) % 100_000);
        let phone_code_hash = format!("{:032x}", rand::random::<u128>());
        self.last_code = Some(code.clone());
        self.logins.insert(
            key,
            PendingLogin {
                phone,
                phone_code_hash: phone_code_hash.clone(),
                code,
            },
        );
        phone_code_hash
    }

    /// The login `key` is in the middle of.
    pub(crate) fn login(&self, key: KeyId) -> Option<&PendingLogin> {
        self.logins.get(&key)
    }

    /// The most recent login code sent to anyone.
    pub(crate) fn last_code(&self) -> Option<&str> {
        self.last_code.as_deref()
    }

    /// The account's 2FA password, if set.
    pub(crate) fn password(&self) -> Option<&Password> {
        self.password.as_ref()
    }

    /// Turns 2FA on (with a new password) or off. SRP rounds in flight become invalid and logins
    /// waiting for the old password must start over.
    pub(crate) fn set_password(&mut self, password: Option<Password>) {
        self.password = password;
        self.srp.clear();
        self.awaiting_password.clear();
    }

    /// Starts an SRP round for `key` (`account.getPassword`); `None` without a password.
    pub(crate) fn start_srp(&mut self, key: KeyId) -> Option<SrpChallenge> {
        let password = self.password.as_ref()?;
        let mut b = [0u8; 256];
        rand::fill(&mut b[..]);
        let b = BigUint::from_bytes_be(&b);
        let g_b = (k() * &password.verifier + g().modpow(&b, &SRP_P)) % &*SRP_P;
        let session = SrpSession {
            id: rand::random(),
            b,
            g_b: pad256(&g_b),
        };
        let challenge = SrpChallenge {
            srp_id: session.id,
            g_b: session.g_b.to_vec(),
        };
        self.srp.insert(key, session);
        Some(challenge)
    }

    /// Verifies `auth.checkPassword`'s `A` and `M1` against `key`'s latest SRP round. The round
    /// stays valid after a mismatch, so a client may retry with the same parameters.
    pub(crate) fn check_srp(
        &self,
        key: KeyId,
        srp_id: i64,
        g_a: &[u8],
        m1: &[u8],
    ) -> Result<(), SrpFailure> {
        let (Some(session), Some(password)) = (self.srp.get(&key), self.password.as_ref()) else {
            return Err(SrpFailure::UnknownId);
        };
        if session.id != srp_id {
            return Err(SrpFailure::UnknownId);
        }
        let expected = server_m1(session, password, g_a).ok_or(SrpFailure::Mismatch)?;
        if bool::from(expected.as_slice().ct_eq(m1)) {
            Ok(())
        } else {
            Err(SrpFailure::Mismatch)
        }
    }
}

/// The `M1` a client that knows the password sends for `g_a`, or `None` when `g_a` is out of range
/// ("both sides must check that 1 < g_a < p − 1").
fn server_m1(session: &SrpSession, password: &Password, g_a: &[u8]) -> Option<[u8; 32]> {
    let p = &*SRP_P;
    let a = BigUint::from_bytes_be(g_a);
    if g_a.len() > 256 || a <= BigUint::from(1u8) || a >= p - 1u8 {
        return None;
    }
    let g_a = pad256(&a);
    let u = BigUint::from_bytes_be(&h(&[&g_a, &session.g_b]));
    if u == BigUint::ZERO {
        return None;
    }
    // The client computes (g_b − k·v)^(a + u·x) = g^(b·a) · g^(b·u·x); so does (g_a · v^u)^b.
    let s = (a * password.verifier.modpow(&u, p)).modpow(&session.b, p);
    let k_s = h(&[&pad256(&s)]);
    let p_bytes = pad256(p);
    let g_bytes = pad256(&g());
    let mut p_xor_g = h(&[&p_bytes]);
    for (x, y) in p_xor_g.iter_mut().zip(h(&[&g_bytes])) {
        *x ^= y;
    }
    Some(h(&[
        &p_xor_g,
        &h(&[&password.salt1]),
        &h(&[&password.salt2]),
        &g_a,
        &session.g_b,
        &k_s,
    ]))
}

fn g() -> BigUint {
    BigUint::from(SRP_G as u32)
}

/// `k = H(p | g)`, g padded to 256 bytes.
fn k() -> BigUint {
    BigUint::from_bytes_be(&h(&[&pad256(&SRP_P), &pad256(&g())]))
}

/// `H`: SHA-256 of the concatenation.
fn h(parts: &[&[u8]]) -> [u8; 32] {
    let mut sha = Sha256::new();
    for part in parts {
        sha.update(part);
    }
    sha.finalize().into()
}

/// `SH(data, salt) = H(salt | data | salt)`.
fn sh(data: &[u8], salt: &[u8]) -> [u8; 32] {
    h(&[salt, data, salt])
}

/// `x = PH2(password, salt1, salt2) = SH(pbkdf2(sha512, PH1(password, salt1, salt2), salt1,
/// 100000), salt2)` with `PH1 = SH(SH(password, salt1), salt2)`.
fn ph2(password: &[u8], salt1: &[u8], salt2: &[u8]) -> [u8; 32] {
    let ph1 = sh(&sh(password, salt1), salt2);
    let mut dk = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha512>(&ph1, salt1, 100_000, &mut dk);
    sh(&dk, salt2)
}

/// Big-endian bytes left-padded to 256 (values here are all below the 2048-bit `p`).
fn pad256(n: &BigUint) -> [u8; 256] {
    let bytes = n.to_bytes_be();
    let mut out = [0u8; 256];
    let len = bytes.len().min(256);
    out[256 - len..].copy_from_slice(&bytes[bytes.len() - len..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use grammers_crypto::two_factor_auth::{calculate_2fa, check_p_and_g};

    /// Runs grammers' client half against a fresh challenge and returns `(g_a, M1)`.
    fn client_answer(auth: &mut Auth, key: KeyId, password: &str) -> (i64, Vec<u8>, Vec<u8>) {
        let challenge = auth.start_srp(key).expect("password set");
        let stored = auth.password().expect("password set");
        let mut a = vec![0u8; 256];
        rand::fill(&mut a[..]);
        let (m1, g_a) = calculate_2fa(
            &stored.salt1,
            &stored.salt2,
            &srp_p_bytes(),
            &SRP_G,
            challenge.g_b,
            a,
            password,
        );
        (challenge.srp_id, g_a.to_vec(), m1.to_vec())
    }

    #[test]
    fn p_and_g_pass_the_checks_grammers_makes() {
        assert_eq!(srp_p_bytes().len(), 256);
        assert!(check_p_and_g(&srp_p_bytes(), &SRP_G));
    }

    #[test]
    fn server_accepts_grammers_proof_of_the_right_password_only() {
        let key = [1; 8];
        let mut auth = Auth::default();
        auth.set_password(Some(Password::new("secret", "hint")));

        let (srp_id, g_a, m1) = client_answer(&mut auth, key, "secret");
        assert_eq!(auth.check_srp(key, srp_id, &g_a, &m1), Ok(()));
        assert_eq!(
            auth.check_srp(key, srp_id ^ 1, &g_a, &m1),
            Err(SrpFailure::UnknownId)
        );
        assert_eq!(
            auth.check_srp([2; 8], srp_id, &g_a, &m1),
            Err(SrpFailure::UnknownId)
        );

        let (srp_id, g_a, m1) = client_answer(&mut auth, key, "wrong");
        assert_eq!(
            auth.check_srp(key, srp_id, &g_a, &m1),
            Err(SrpFailure::Mismatch)
        );
        let one = pad256(&BigUint::from(1u8));
        assert_eq!(
            auth.check_srp(key, srp_id, &one, &m1),
            Err(SrpFailure::Mismatch)
        );
    }

    #[test]
    fn login_codes_are_deterministic_five_digit_numbers() {
        let mut auth = Auth::default();
        let first = auth.send_code([1; 8], "10000000000".into());
        assert_eq!(auth.last_code(), Some("12345"));
        let second = auth.send_code([1; 8], "10000000000".into());
        assert_ne!(first, second);
        let code = auth.last_code().expect("sent");
        assert_eq!(code.len(), CODE_LENGTH);
        assert_eq!(auth.login([1; 8]).map(|l| l.code.as_str()), Some(code));
        assert!(!format!("{auth:?}").contains(code));
    }
}
