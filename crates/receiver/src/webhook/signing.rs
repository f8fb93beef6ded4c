//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): `webhook-signature:
//! v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">` with the key from a
//! `whsec_<base64>` secret.
//!
//! The signature is the `standardwebhooks` crate's (the specification's reference library,
//! which the tests also verify with): its `sign(id, timestamp, body)` is exactly the header
//! value. The secret is parsed here, not by `Webhook::new`, to refuse a key shorter than the
//! specification's 24 bytes with a message naming the fix; the library gets the decoded key
//! (`Webhook::from_bytes`), so `whsec_<base64>` and bare base64 sign alike.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use standardwebhooks::Webhook;

/// The decoded signing key of `WEBHOOK_SIGNING_SECRET`. Never printed.
#[derive(Clone)]
pub struct SigningSecret(Arc<Webhook>);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret([redacted])")
    }
}

impl SigningSecret {
    /// Parses `whsec_<base64>` (the prefix is optional). Errors when the rest is not base64
    /// or decodes to fewer than 24 bytes (Standard Webhooks asks for 24 to 64).
    pub fn parse(value: &str) -> Result<Self, String> {
        let encoded = value.trim().strip_prefix("whsec_").unwrap_or(value.trim());
        let key = STANDARD
            .decode(encoded)
            .map_err(|_| "must be whsec_ followed by base64".to_owned())?;
        if key.len() < 24 {
            return Err(format!(
                "the key is {} bytes; use at least 24 (e.g. whsec_ + base64 of 32 random bytes)",
                key.len()
            ));
        }
        let webhook = Webhook::from_bytes(key).map_err(|e| e.to_string())?;
        Ok(Self(Arc::new(webhook)))
    }

    /// The `webhook-signature` value for one request: `v1,<base64>`.
    pub fn sign(&self, webhook_id: &str, timestamp: i64, body: &str) -> String {
        // The library refuses only a body that is not UTF-8, which a `str` cannot be.
        self.0
            .sign(webhook_id, timestamp, body.as_bytes())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_reference() {
        // The example from the Standard Webhooks specification's reference implementations.
        let secret =
            SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let signature = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn short_or_malformed_secrets_are_refused() {
        assert!(SigningSecret::parse("whsec_!!!").is_err());
        assert!(SigningSecret::parse("whsec_c2hvcnQ=").is_err());
        assert!(
            !format!(
                "{:?}",
                SigningSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            )
            .contains("MfKQ")
        );
    }
}
