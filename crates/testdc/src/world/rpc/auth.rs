//! Login RPCs as <https://core.telegram.org/api/auth> describes them, and the gate that answers
//! `401 AUTH_KEY_UNREGISTERED` to every other method until the caller's auth key is signed in
//! (grammers' `is_authorized()` is `updates.getState` seeing a 401).
//!
//! Choices where Telegram is not specific: login codes are sent in-app (`auth.sentCodeTypeApp`)
//! to the world's phone numbers and by SMS to well-formed unknown ones; `auth.signUp` always
//! refuses with `403 SIGN_UP_NOT_ALLOWED` (testdc's name: third-party apps may not register
//! accounts); a key signed in as the bot sees the account's world except that `inputUserSelf`
//! is the bot, and gets the bot's updates (callback queries) instead of the account's.

use grammers_tl_types::{self as tl, Identifiable, functions as f};

use super::{DcAddress, Reply, SideEffects, decode, ok};
use crate::world::auth::{CODE_LENGTH, KeyId, SRP_G, SrpFailure, srp_p_bytes};
use crate::world::{Fixture, RpcError, World, tl_build};

/// Methods a key may call before it is signed in, besides the login methods themselves.
const OPEN: [u32; 2] = [
    f::help::GetConfig::CONSTRUCTOR_ID,
    f::help::GetNearestDc::CONSTRUCTOR_ID,
];

type AuthResult = Result<tl::enums::auth::Authorization, RpcError>;

fn unauthorized(message: &str) -> RpcError {
    RpcError {
        code: 401,
        message: message.to_owned(),
    }
}

/// The phone number as digits (Telegram accepts `+`, spaces, dashes and brackets around them).
/// Errors: `PHONE_NUMBER_INVALID` unless 5–15 digits remain (E.164 allows at most 15).
fn phone_digits(phone: &str) -> Result<String, RpcError> {
    let digits: String = phone
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')'))
        .collect();
    if (5..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(RpcError::bad("PHONE_NUMBER_INVALID"))
    }
}

/// Any api_id/api_hash pair is a registered app here, except obviously missing ones.
fn check_app(api_id: i32, api_hash: &str) -> Result<(), RpcError> {
    if api_id <= 0 || api_hash.is_empty() {
        return Err(RpcError::bad("API_ID_INVALID"));
    }
    Ok(())
}

impl World {
    /// Runs one RPC for the client holding auth key `key`: the login methods here, everything
    /// else through [`World::invoke`] once the key is signed in. Before that the answer is
    /// `401 AUTH_KEY_UNREGISTERED`, or `401 SESSION_PASSWORD_NEEDED` while a login waits for the
    /// 2FA password.
    pub(crate) fn invoke_as(
        &mut self,
        key: KeyId,
        body: &[u8],
        dc: &DcAddress,
        fx: &mut SideEffects,
    ) -> Reply {
        let Some(id) = crate::wire::constructor_id(body) else {
            return self.invoke(body, dc, fx);
        };
        match id {
            f::auth::SendCode::CONSTRUCTOR_ID => self.send_code(key, &decode(body)?).and_then(ok),
            f::auth::SignIn::CONSTRUCTOR_ID => self.sign_in(key, &decode(body)?).and_then(ok),
            f::auth::SignUp::CONSTRUCTOR_ID => self.sign_up(key, &decode(body)?).and_then(ok),
            f::account::GetPassword::CONSTRUCTOR_ID => ok(self.get_password(key)),
            f::auth::CheckPassword::CONSTRUCTOR_ID => {
                self.check_password(key, &decode(body)?).and_then(ok)
            }
            f::auth::ImportBotAuthorization::CONSTRUCTOR_ID => self
                .import_bot_authorization(key, &decode(body)?)
                .and_then(ok),
            f::auth::LogOut::CONSTRUCTOR_ID => self.log_out(key).and_then(ok),
            _ if OPEN.contains(&id) => self.invoke(body, dc, fx),
            _ => match self.auth.signed_in_as(key) {
                None => Err(self.not_signed_in(key)),
                Some(user) if user != self.self_id && id == f::users::GetUsers::CONSTRUCTOR_ID => {
                    ok(self.get_users_as(user, &decode(body)?))
                }
                Some(user) if self.answers_bot(user, id) => self.invoke_bot(user, id, body, fx),
                Some(_) => self.invoke(body, dc, fx),
            },
        }
    }

    /// Whether `key`'s connections get a push addressed `to` (`None`: the account's updates):
    /// only those of the user the key is signed in as.
    pub(crate) fn receives_pushes(&self, key: KeyId, to: Option<i64>) -> bool {
        self.auth.signed_in_as(key) == Some(to.unwrap_or(self.self_id))
    }

    fn not_signed_in(&self, key: KeyId) -> RpcError {
        if self.auth.awaiting_password(key).is_some() {
            unauthorized("SESSION_PASSWORD_NEEDED")
        } else {
            unauthorized("AUTH_KEY_UNREGISTERED")
        }
    }

    fn user_by_phone(&self, phone: &str) -> Option<i64> {
        self.users
            .values()
            .find(|u| !u.bot && u.phone.as_deref() == Some(phone))
            .map(|u| u.id)
    }

    /// Signs `key` in as `user` and answers as `auth.signIn` does on success.
    fn authorize(&mut self, key: KeyId, user: i64) -> AuthResult {
        let rec = self
            .users
            .get(&user)
            .ok_or_else(|| RpcError::bad("USER_ID_INVALID"))?;
        let tl_user = tl_build::user(rec, true, self.access_hash(user));
        self.auth.sign_in(key, user);
        Ok(tl::enums::auth::Authorization::Authorization(
            tl::types::auth::Authorization {
                setup_password_required: false,
                otherwise_relogin_days: None,
                tmp_sessions: None,
                future_auth_token: None,
                user: tl_user,
            },
        ))
    }

    /// `auth.sendCode`. Errors: `API_ID_INVALID`, `PHONE_NUMBER_INVALID`.
    fn send_code(
        &mut self,
        key: KeyId,
        req: &f::auth::SendCode,
    ) -> Result<tl::enums::auth::SentCode, RpcError> {
        check_app(req.api_id, &req.api_hash)?;
        let phone = phone_digits(&req.phone_number)?;
        let known = self.user_by_phone(&phone).is_some();
        let phone_code_hash = self.auth.send_code(key, phone);
        let length = CODE_LENGTH as i32;
        let r#type = if known {
            tl::types::auth::SentCodeTypeApp { length }.into()
        } else {
            tl::types::auth::SentCodeTypeSms { length }.into()
        };
        Ok(tl::enums::auth::SentCode::Code(tl::types::auth::SentCode {
            r#type,
            phone_code_hash,
            next_type: None,
            timeout: None,
        }))
    }

    /// Checks `phone`/`phone_code_hash` against `key`'s pending login. Errors:
    /// `PHONE_CODE_HASH_EMPTY`, `PHONE_CODE_EXPIRED` (no such request on this key),
    /// `PHONE_NUMBER_INVALID`.
    fn pending_login(
        &self,
        key: KeyId,
        phone: &str,
        phone_code_hash: &str,
    ) -> Result<&crate::world::auth::PendingLogin, RpcError> {
        if phone_code_hash.is_empty() {
            return Err(RpcError::bad("PHONE_CODE_HASH_EMPTY"));
        }
        let login = self
            .auth
            .login(key)
            .filter(|l| l.phone_code_hash == phone_code_hash)
            .ok_or_else(|| RpcError::bad("PHONE_CODE_EXPIRED"))?;
        if login.phone != phone_digits(phone)? {
            return Err(RpcError::bad("PHONE_NUMBER_INVALID"));
        }
        Ok(login)
    }

    /// `auth.signIn`: `auth.authorization`, or `auth.authorizationSignUpRequired` for a number
    /// with no account. Errors: those of [`Self::pending_login`], `PHONE_CODE_EMPTY`,
    /// `PHONE_CODE_INVALID`, `401 SESSION_PASSWORD_NEEDED` when the account has 2FA.
    fn sign_in(&mut self, key: KeyId, req: &f::auth::SignIn) -> AuthResult {
        let login = self.pending_login(key, &req.phone_number, &req.phone_code_hash)?;
        let code = req.phone_code.as_deref().unwrap_or_default();
        if code.is_empty() {
            return Err(RpcError::bad("PHONE_CODE_EMPTY"));
        }
        if login.code != code {
            return Err(RpcError::bad("PHONE_CODE_INVALID"));
        }
        let Some(user) = self.user_by_phone(&login.phone) else {
            // The login stays pending: auth.signUp names it by the same hash.
            return Ok(tl::enums::auth::Authorization::SignUpRequired(
                tl::types::auth::AuthorizationSignUpRequired {
                    terms_of_service: None,
                },
            ));
        };
        if self.auth.password().is_some() {
            self.auth.await_password(key, user);
            return Err(unauthorized("SESSION_PASSWORD_NEEDED"));
        }
        self.authorize(key, user)
    }

    /// `auth.signUp`: testdc never registers accounts. Errors: those of
    /// [`Self::pending_login`], `PHONE_NUMBER_OCCUPIED`, `403 SIGN_UP_NOT_ALLOWED`.
    fn sign_up(&mut self, key: KeyId, req: &f::auth::SignUp) -> AuthResult {
        let login = self.pending_login(key, &req.phone_number, &req.phone_code_hash)?;
        if self.user_by_phone(&login.phone).is_some() {
            return Err(RpcError::bad("PHONE_NUMBER_OCCUPIED"));
        }
        Err(RpcError {
            code: 403,
            message: "SIGN_UP_NOT_ALLOWED".into(),
        })
    }

    /// `account.getPassword`: the current SRP parameters and a fresh `srp_B`/`srp_id` when 2FA
    /// is on; otherwise just what a client needs to set a password.
    fn get_password(&mut self, key: KeyId) -> tl::enums::account::Password {
        let random = |n: usize| {
            let mut bytes = vec![0u8; n];
            rand::fill(&mut bytes[..]);
            bytes
        };
        let algo = |salt1: Vec<u8>, salt2: Vec<u8>| {
            tl::enums::PasswordKdfAlgo::Sha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow(
                tl::types::PasswordKdfAlgoSha256Sha256Pbkdf2Hmacsha512iter100000Sha256ModPow {
                    salt1,
                    salt2,
                    g: SRP_G,
                    p: srp_p_bytes(),
                },
            )
        };
        let challenge = self.auth.start_srp(key);
        let current = self
            .auth
            .password()
            .zip(challenge)
            .map(|(p, c)| (algo(p.salt1.clone(), p.salt2.clone()), c, p.hint.clone()));
        let has_password = current.is_some();
        let (current_algo, srp_b, srp_id, hint) = match current {
            Some((algo, c, hint)) => (Some(algo), Some(c.g_b), Some(c.srp_id), Some(hint)),
            None => (None, None, None, None),
        };
        tl::enums::account::Password::Password(tl::types::account::Password {
            has_recovery: false,
            has_secure_values: false,
            has_password,
            current_algo,
            srp_b,
            srp_id,
            hint,
            email_unconfirmed_pattern: None,
            // A client setting a new password appends its own 32 random bytes to salt1.
            new_algo: algo(random(8), random(16)),
            new_secure_algo: tl::types::SecurePasswordKdfAlgoPbkdf2Hmacsha512iter100000 {
                salt: random(8),
            }
            .into(),
            secure_random: random(256),
            pending_reset_date: None,
            login_email_pattern: None,
        })
    }

    /// `auth.checkPassword`: completes a login that `auth.signIn` left waiting for the 2FA
    /// password. Errors: `SRP_ID_INVALID` (no such `account.getPassword` round on this key),
    /// `PASSWORD_HASH_INVALID`, `401 AUTH_KEY_UNREGISTERED` when no login waits for it.
    fn check_password(&mut self, key: KeyId, req: &f::auth::CheckPassword) -> AuthResult {
        let tl::enums::InputCheckPasswordSrp::Srp(srp) = &req.password else {
            return Err(RpcError::bad("PASSWORD_HASH_INVALID"));
        };
        match self.auth.check_srp(key, srp.srp_id, &srp.a, &srp.m1) {
            Ok(()) => {}
            Err(SrpFailure::UnknownId) => return Err(RpcError::bad("SRP_ID_INVALID")),
            Err(SrpFailure::Mismatch) => return Err(RpcError::bad("PASSWORD_HASH_INVALID")),
        }
        match (
            self.auth.awaiting_password(key),
            self.auth.signed_in_as(key),
        ) {
            (Some(user), _) | (None, Some(user)) => self.authorize(key, user),
            (None, None) => Err(unauthorized("AUTH_KEY_UNREGISTERED")),
        }
    }

    /// `auth.importBotAuthorization`: `<bot id>:<secret>` of a bot of the world
    /// ([`Fixture::BOT_TOKEN`]). Errors: `API_ID_INVALID`, `ACCESS_TOKEN_INVALID` (400, as the
    /// method page lists it).
    fn import_bot_authorization(
        &mut self,
        key: KeyId,
        req: &f::auth::ImportBotAuthorization,
    ) -> AuthResult {
        check_app(req.api_id, &req.api_hash)?;
        let bot = req
            .bot_auth_token
            .split_once(':')
            .filter(|(_, secret)| *secret == Fixture::BOT_TOKEN_SECRET)
            .and_then(|(id, _)| id.parse::<i64>().ok())
            .filter(|id| self.users.get(id).is_some_and(|u| u.bot))
            .ok_or_else(|| RpcError::bad("ACCESS_TOKEN_INVALID"))?;
        self.authorize(key, bot)
    }

    /// `auth.logOut`: the key is no longer signed in. Errors: `401 AUTH_KEY_UNREGISTERED`.
    fn log_out(&mut self, key: KeyId) -> Result<tl::enums::auth::LoggedOut, RpcError> {
        if !self.auth.log_out(key) {
            return Err(self.not_signed_in(key));
        }
        Ok(tl::enums::auth::LoggedOut::Out(
            tl::types::auth::LoggedOut {
                future_auth_token: None,
            },
        ))
    }

    /// `users.getUsers` for a key signed in as `user` other than the account: `inputUserSelf`
    /// is that user.
    fn get_users_as(&self, user: i64, req: &f::users::GetUsers) -> Vec<tl::enums::User> {
        req.id
            .iter()
            .flat_map(|input| match input {
                tl::enums::InputUser::UserSelf => self
                    .users
                    .get(&user)
                    .map(|u| tl_build::user(u, true, self.access_hash(user)))
                    .into_iter()
                    .collect(),
                other => self.get_users(&f::users::GetUsers {
                    id: vec![other.clone()],
                }),
            })
            .collect()
    }
}
