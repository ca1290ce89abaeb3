//! Dashboard users: people who sign in with an email and a password (programs use API keys).
//! Passwords are hashed with Argon2id (RFC 9106, OWASP's parameters: 19 MiB, 2 passes, 1 lane)
//! and stored in the PHC string format, so the parameters can be raised later without breaking
//! existing hashes.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use verity_store::{Storage, User};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads cases, webhooks and settings.
    Viewer,
    /// And decides cases (confirm, reject, needs attention).
    Reviewer,
    /// And manages keys, settings, webhooks and the team.
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Role::Viewer),
            "reviewer" => Some(Role::Reviewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }
}

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    Invalid(String),
    #[error("a user with the email {0} already exists")]
    Taken(String),
    #[error("no tenant {0}")]
    NoTenant(String),
    #[error(transparent)]
    Store(#[from] verity_store::StoreError),
}

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_else(|e| panic!("argon2 params: {e}"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of `password` with a fresh random salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::encode_b64(&crate::ids::random_bytes::<16>())
        .unwrap_or_else(|e| panic!("argon2 salt: {e}"));
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .unwrap_or_else(|e| panic!("argon2 hash: {e}"))
        .to_string()
}

/// Whether `password` matches the stored hash (a malformed hash matches nothing).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash no password matches, verified when the email is unknown so that a login takes as
/// long for an unknown email as for a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&hex::encode(crate::ids::random_bytes::<16>())))
}

/// An email as stored: trimmed, lower case; refused when it is not plausibly an address.
pub fn normalise_email(email: &str) -> Result<String, UserError> {
    let e = email.trim().to_lowercase();
    let plausible = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if plausible {
        Ok(e)
    } else {
        Err(UserError::Invalid(format!("{email:?} is not an email address")))
    }
}

/// Creates a user of `tenant` (which must exist).
pub async fn create(
    store: &dyn Storage,
    email: &str,
    role: Role,
    tenant: &str,
    password: &str,
) -> Result<User, UserError> {
    let email = normalise_email(email)?;
    if password.chars().count() < MIN_PASSWORD {
        return Err(UserError::Invalid(format!("the password needs at least {MIN_PASSWORD} characters")));
    }
    if store.tenant(tenant).await?.is_none() {
        return Err(UserError::NoTenant(tenant.to_string()));
    }
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| UserError::Invalid(format!("hashing failed: {e}")))?;
    let user = User {
        id: crate::ids::new_id(),
        tenant_id: tenant.to_string(),
        email: email.clone(),
        role: role.name().to_string(),
        password_hash: hash,
        created_at: verity_store::time::now_ms(),
        disabled_at: None,
        failed_logins: 0,
        locked_until: None,
    };
    if !store.create_user(&user).await? {
        return Err(UserError::Taken(email));
    }
    Ok(user)
}

/// A random password for `verity users create` when none is given (20 characters, ~119 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    crate::ids::random_bytes::<20>().iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert_ne!(h, hash_password("correct horse battery"), "salted");
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password("", decoy_hash()));
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(normalise_email("  Ana@Example.COM ").expect("ok"), "ana@example.com");
        for bad in ["ana", "@example.com", "ana@example", "ana@.com", "a b@example.com", ""] {
            assert!(normalise_email(bad).is_err(), "{bad}");
        }
        assert_eq!(generate_password().len(), 20);
    }
}
