//! Access tokens (HS256 JWTs, short-lived) and refresh tokens (random, stored only as hashes).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

const ISSUER: &str = "dibao";
/// Who the token is for: this API. A token minted with the same secret for another purpose
/// (a future service, a signed link) cannot be replayed here.
const AUDIENCE: &str = "dibao-api";
/// How far a token's `iat` may lie ahead of this node's clock (nodes of a cluster drift).
const CLOCK_SKEW_SECS: i64 = 30;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// The login session; logging out revokes it and with it every access token it issued.
    pub sid: String,
    pub role: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
}

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl_secs: i64, refresh_ttl_secs: i64) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            access_ttl_secs,
            refresh_ttl_secs,
        }
    }

    pub fn issue_access(
        &self,
        user_id: &str,
        session_id: &str,
        role: &str,
        now: i64,
    ) -> ApiResult<String> {
        let claims = Claims {
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            role: role.to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now,
            exp: now + self.access_ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// Accepts only HS256 with our key, unexpired, already valid, from us, for us. `alg: none`
    /// and every other algorithm fail here.
    pub fn verify_access(&self, token: &str) -> ApiResult<Claims> {
        self.verify_access_at(token, chrono::Utc::now().timestamp())
    }

    fn verify_access_at(&self, token: &str, now: i64) -> ApiResult<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|err| {
                use jsonwebtoken::errors::ErrorKind;
                match err.kind() {
                    ErrorKind::ExpiredSignature => ApiError::unauthorized(
                        "token_expired",
                        "The access token has expired; refresh it",
                        "访问令牌已过期，请刷新",
                    ),
                    _ => invalid_token(),
                }
            })?;
        // A token issued "in the future" was not issued by us.
        if claims.iat > now + CLOCK_SKEW_SECS {
            return Err(invalid_token());
        }
        Ok(claims)
    }
}

pub fn invalid_token() -> ApiError {
    ApiError::unauthorized(
        "invalid_token",
        "The access token is missing, malformed or not valid",
        "访问令牌缺失、格式错误或无效",
    )
}

/// A new refresh token: 256 random bits, URL-safe.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored instead of the refresh token itself.
pub fn refresh_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"test-secret-test-secret-test-secret", 900, 3600)
    }

    #[test]
    fn issued_tokens_verify_and_tampered_ones_do_not() {
        let now = chrono::Utc::now().timestamp();
        let token = keys().issue_access("u1", "s1", "admin", now).unwrap();
        let claims = keys().verify_access(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("u1", "s1"));

        let other = TokenKeys::new(b"another-secret-another-secret-xx", 900, 3600);
        assert_eq!(
            other.verify_access(&token).unwrap_err().code,
            "invalid_token"
        );

        let expired = keys()
            .issue_access("u1", "s1", "admin", now - 10_000)
            .unwrap();
        assert_eq!(
            keys().verify_access(&expired).unwrap_err().code,
            "token_expired"
        );
    }

    #[test]
    fn a_token_issued_ahead_of_the_clock_beyond_the_skew_is_refused() {
        let now = chrono::Utc::now().timestamp();
        let token = keys().issue_access("u1", "s1", "admin", now + 60).unwrap();
        assert!(keys().verify_access_at(&token, now + 30).is_ok());
        assert_eq!(
            keys().verify_access_at(&token, now).unwrap_err().code,
            "invalid_token"
        );
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let a = new_refresh_token();
        assert_ne!(a, new_refresh_token());
        assert_eq!(refresh_token_hash(&a).len(), 64);
        assert_ne!(refresh_token_hash(&a), a);
    }
}
