//! argon2id password hashes (PHC strings, so parameters can be raised later without a migration).

use std::sync::{Arc, LazyLock, Mutex};

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::{ApiError, ApiResult};

pub const MIN_LENGTH: usize = 8;

/// The most memory a stored hash may ask for, in KiB (argon2's `m`). Five times today's default
/// (19 MiB), so parameters can be raised; a stored string asking for more is treated as a
/// failed verification rather than allowed to allocate whatever it names.
pub const MAX_M_COST_KIB: u32 = 96 * 1024;

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

fn verifier_count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// At most one argon2 verification per CPU at a time: each takes 19 MiB and a core for tens of
/// milliseconds, so a burst of logins (a fleet of phones starting, or a password spray) waits
/// its turn instead of growing memory without bound and starving the database pool.
static VERIFYING: LazyLock<Arc<tokio::sync::Semaphore>> =
    LazyLock::new(|| Arc::new(tokio::sync::Semaphore::new(verifier_count())));

/// argon2's working memory, kept between verifications: one buffer per [`VERIFYING`] permit.
/// Allocating a fresh 19 MiB block per login on whichever blocking-pool thread ran it let glibc
/// keep one freed block per thread (its per-thread arenas): 100 logins at once took the server
/// from 67 MB to 1.1 GB. With the buffers reused, memory is the pool's and stays there.
static MEMORY: LazyLock<Mutex<Vec<Vec<Block>>>> =
    LazyLock::new(|| Mutex::new(Vec::with_capacity(verifier_count())));

/// Default-sized buffers go back to [`MEMORY`]; larger ones (a hash with a higher `m`) are cut
/// back to the default size, so one unusual account does not keep its memory for good.
fn take_memory(blocks: usize) -> Vec<Block> {
    let mut memory = MEMORY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .pop()
        .unwrap_or_default();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    memory
}

fn return_memory(mut memory: Vec<Block>) {
    let default_blocks = Params::DEFAULT.block_count();
    if memory.len() > default_blocks {
        memory.truncate(default_blocks);
        memory.shrink_to_fit();
    }
    let mut pool = MEMORY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // Verifications outside [`verify_bounded`] may have allocated their own: keep no more
    // buffers than there are permits.
    if pool.len() < verifier_count() {
        pool.push(memory);
    }
}

/// `argon2` work on the blocking pool, bounded by [`VERIFYING`]: it takes a core for tens of
/// milliseconds, too long for an async worker. The permit moves into the blocking task, so a
/// request whose client went away still holds its turn (and its buffer) until the hash is done.
async fn on_argon2_turn<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> ApiResult<T> {
    let turn = VERIFYING
        .clone()
        .acquire_owned()
        .await
        .map_err(ApiError::internal)?;
    Ok(actix_web::web::block(move || {
        let done = work();
        drop(turn);
        done
    })
    .await?)
}

/// [`verify`], off the async workers and bounded like every login.
pub async fn verify_bounded(password: String, stored: Option<String>) -> ApiResult<bool> {
    on_argon2_turn(move || verify(&password, stored.as_deref())).await
}

/// [`hash`], off the async workers and bounded like a login: a request computes it before its
/// database transaction, so no write lock is held through argon2.
pub async fn hash_bounded(password: String) -> ApiResult<String> {
    on_argon2_turn(move || hash(&password)).await?
}

/// Checks `password` against a stored PHC string (or, for an unknown account, against a dummy
/// hash with the default parameters, which costs the same), computing argon2 in pooled memory.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let stored = stored.unwrap_or(&DUMMY_HASH);
    match verify_in_pool(password, stored) {
        Ok(matches) => matches,
        Err(reason) => {
            tracing::warn!(reason, "stored password hash not verifiable");
            false
        }
    }
}

/// `Ok(false)` for a wrong password, `Err` for a stored string that can't be verified.
fn verify_in_pool(password: &str, stored: &str) -> Result<bool, &'static str> {
    let parsed = PasswordHash::new(stored).map_err(|_| "not a PHC string")?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|_| "not argon2")?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|_| "unknown argon2 version")?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|_| "invalid argon2 parameters")?;
    if params.m_cost() > MAX_M_COST_KIB {
        return Err("argon2 memory cost over the cap");
    }
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err("no salt or no hash");
    };
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf).map_err(|_| "invalid salt")?;

    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    let mut memory = take_memory(blocks);
    let hashed = argon2.hash_password_into_with_memory(
        password.as_bytes(),
        salt,
        out,
        &mut memory[..blocks],
    );
    return_memory(memory);
    hashed.map_err(|_| "argon2 rejected the parameters")?;
    let computed = Output::new(out).map_err(|_| "invalid hash length")?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
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

    fn hash_with(password: &str, m_cost_kib: u32, t_cost: u32, p_cost: u32) -> String {
        let params = Params::new(m_cost_kib, t_cost, p_cost, None).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    #[test]
    fn hashes_with_other_parameters_verify_in_the_pooled_memory() {
        // Smaller and larger than the default 19 MiB, two lanes, and default again after a
        // larger one (its buffer was cut back, not left too small).
        for (m, t, p) in [(8 * 1024, 2, 1), (32 * 1024, 1, 2), (19 * 1024, 2, 1)] {
            let stored = hash_with("correct horse", m, t, p);
            assert!(verify("correct horse", Some(&stored)), "m={m} t={t} p={p}");
            assert!(!verify("wrong horse", Some(&stored)), "m={m} t={t} p={p}");
        }
        // argon2i and argon2d hashes are read by their own algorithm.
        let salt = SaltString::generate(&mut OsRng);
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, Params::DEFAULT)
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(verify("correct horse", Some(&argon2i)));
        assert!(!verify("wrong horse", Some(&argon2i)));
    }

    #[test]
    fn a_stored_hash_asking_for_too_much_memory_fails_without_allocating_it() {
        let stored = hash_with("correct horse", 8 * 1024, 1, 1);
        // The same string with m raised to 4 TiB (u32::MAX KiB): refused before hashing.
        let hostile = stored.replace("m=8192", &format!("m={}", u32::MAX));
        assert_ne!(hostile, stored);
        assert!(!verify("correct horse", Some(&hostile)));
        let just_over = stored.replace("m=8192", &format!("m={}", MAX_M_COST_KIB + 1));
        assert!(!verify("correct horse", Some(&just_over)));
    }

    #[test]
    fn truncated_or_altered_hashes_fail() {
        let stored = hash("correct horse").unwrap();
        let (head, digest) = stored.rsplit_once('$').unwrap();
        assert!(!verify("correct horse", Some(head)));
        let other_digest = if digest.starts_with('A') { "B" } else { "A" };
        let altered = format!("{head}${other_digest}{}", &digest[1..]);
        assert!(!verify("correct horse", Some(&altered)));
    }
}
