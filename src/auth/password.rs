//! argon2id password hashes (PHC strings, so parameters can be raised later without a migration).

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};

use crate::error::{ApiError, ApiResult};

pub const MIN_LENGTH: usize = 8;

pub fn hash(password: &str) -> ApiResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

/// A hash to verify against when the account does not exist, so that answering
/// "no such user" takes as long as "wrong password".
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash("not-a-real-password").expect("hashing a constant works"));

/// At most one argon2 verification per CPU at a time: each takes 19 MiB and a core for tens of
/// milliseconds, so a burst of logins (a fleet of phones starting, or a password spray) waits
/// its turn instead of growing memory without bound and starving the database pool.
static VERIFYING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

/// [`verify`] on the blocking pool, bounded by [`VERIFYING`].
pub async fn verify_bounded(password: String, stored: Option<String>) -> ApiResult<bool> {
    let _turn = VERIFYING.acquire().await.map_err(ApiError::internal)?;
    Ok(actix_web::web::block(move || verify(&password, stored.as_deref())).await?)
}

pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let stored = stored.unwrap_or(&DUMMY_HASH);
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

pub fn check_strength(password: &str) -> ApiResult<()> {
    if password.chars().count() < MIN_LENGTH {
        return Err(ApiError::unprocessable(
            "password_too_short",
            format!("The password must have at least {MIN_LENGTH} characters"),
            format!("密码至少需要 {MIN_LENGTH} 个字符"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse", Some(&stored)));
        assert!(!verify("wrong horse", Some(&stored)));
        assert!(!verify("correct horse", None));
        assert!(!verify("x", Some("not a phc string")));
    }
}
