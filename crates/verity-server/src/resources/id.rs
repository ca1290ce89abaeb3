//! The id of a resource of one type, parsed once at the edge.

use std::marker::PhantomData;

use verity_store::Resource;

use super::Kind;
use crate::ids::looks_like_id;

/// The id of a resource of type `K`: 24 hexadecimal characters as stored, shown with the type's
/// prefix (`ver_…` for a verification, none for ComplyCube's resources). A path or body id is
/// parsed into one before anything is looked up: garbage never reaches the store, and a
/// function that needs a verification's id cannot be given a client's.
pub struct Id<K: Kind> {
    stored: String,
    kind: PhantomData<fn() -> K>,
}

impl<K: Kind> Id<K> {
    /// The public form (`ver_…`) or the stored one; `None` for anything not shaped like an id.
    pub fn parse(text: &str) -> Option<Self> {
        let stored = text.strip_prefix(K::ID_PREFIX).unwrap_or(text);
        looks_like_id(stored).then(|| Self { stored: stored.to_string(), kind: PhantomData })
    }

    /// The id of a stored resource of this type.
    pub fn of(r: &Resource) -> Self {
        debug_assert_eq!(r.kind, K::KIND, "a {} is not a {}", r.kind, K::KIND);
        Self { stored: r.id.clone(), kind: PhantomData }
    }

    /// The form the store keys on.
    pub fn stored(&self) -> &str {
        &self.stored
    }

    /// The form the API shows.
    pub fn public(&self) -> String {
        format!("{}{}", K::ID_PREFIX, self.stored)
    }
}

impl<K: Kind> std::fmt::Display for Id<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", K::ID_PREFIX, self.stored)
    }
}

impl<K: Kind> std::fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Id<{}>({self})", K::KIND)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::kinds::Client;
    use crate::verification::Verification;

    #[test]
    fn ids_are_parsed_in_either_form_and_shown_with_their_prefix() {
        let raw = "5f1a2b3c4d5e6f7a8b9c0d1e";
        let v = Id::<Verification>::parse(&format!("ver_{raw}")).expect("public form");
        assert_eq!(
            (v.stored(), v.public(), v.to_string()),
            (raw, format!("ver_{raw}"), format!("ver_{raw}"))
        );
        assert_eq!(Id::<Verification>::parse(raw).expect("stored form").public(), format!("ver_{raw}"));
        let c = Id::<Client>::parse(raw).expect("a client id");
        assert_eq!(c.public(), raw);
        for bad in [
            "",
            "ver_",
            "5f1a2b3c",
            "5f1a2b3c4d5e6f7a8b9c0d1z",
            "../../etc/passwd",
            "ver_ver_5f1a2b3c4d5e6f7a8b9c0d1e",
        ] {
            assert!(Id::<Verification>::parse(bad).is_none(), "{bad:?}");
        }
        assert!(
            Id::<Client>::parse(&format!("ver_{raw}")).is_none(),
            "a verification's public id is no client id"
        );
    }
}
