//! Storage errors, each with a stable code (`ST…`) operators can search for.

use trygg_crypto::CryptoError;

/// What went wrong in storage. Messages name the problem and never contain
/// personal data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or opened.
    #[error("ST001 cannot open the database at {location}: {source}")]
    Unreachable {
        /// Where (URL without password, or file path).
        location: String,
        /// Why.
        source: sqlx::Error,
    },
    /// A migration failed or the schema is not what this version expects.
    #[error("ST002 database schema: {0}")]
    Schema(String),
    /// The key file does not belong to this database.
    #[error(
        "ST003 the keys do not match this database: its data is wrapped under key {expected}, \
         which the keyring ({source_desc}) does not hold. Nothing was changed. \
         Start with the key file that belongs to this database."
    )]
    WrongKey {
        /// The KEK id the database uses.
        expected: String,
        /// Which keyring was tried.
        source_desc: String,
    },
    /// The key file is missing but the database holds encrypted data.
    #[error(
        "ST004 the database holds encrypted data but there is no key file at {path}. \
         Restore the key file from its backup (or set TRYGG_MASTER_KEY); a new key \
         will not be made for a database that already has data."
    )]
    KeyFileMissing {
        /// Expected location.
        path: String,
    },
    /// Key or ciphertext trouble.
    #[error("ST005 {0}")]
    Crypto(#[from] CryptoError),
    /// No such row.
    #[error("ST006 {0} not found")]
    NotFound(&'static str),
    /// A row with this identity already exists.
    #[error("ST007 {0}")]
    Duplicate(String),
    /// A reference points at nothing (or at something in another tenant).
    #[error("ST008 unknown {0}")]
    UnknownReference(&'static str),
    /// The person (or staff member) has been erased; their data is gone.
    #[error("ST009 this {0} has been erased; the data can no longer be read")]
    Erased(&'static str),
    /// Stored data that this version cannot interpret.
    #[error("ST010 stored data is invalid: {0}")]
    Corrupt(String),
    /// The change does not apply to the row as it now stands (e.g. an alarm
    /// another operator already took).
    #[error("ST012 {0}")]
    Conflict(String),
    /// Any other database error.
    #[error("ST011 database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

/// Maps a constraint violation to a clear error, anything else to `Database`.
pub(crate) fn constraint(e: sqlx::Error, duplicate: &str, reference: &'static str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Duplicate(duplicate.to_owned());
        }
        if db.is_foreign_key_violation() {
            return StoreError::UnknownReference(reference);
        }
    }
    StoreError::Database(e)
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
