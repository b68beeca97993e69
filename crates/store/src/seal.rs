//! Sealing and opening one record's personal fields. The associated data is
//! `table/id/field`, so a ciphertext moved to another row or column fails to
//! open.

use crate::{Result, StoreError};
use trygg_crypto::DataKey;
use zeroize::Zeroizing;

pub(crate) struct Fields<'k> {
    key: &'k DataKey,
    table: &'static str,
    id: String,
}

impl<'k> Fields<'k> {
    pub(crate) fn new(key: &'k DataKey, table: &'static str, id: impl ToString) -> Self {
        Self {
            key,
            table,
            id: id.to_string(),
        }
    }

    fn aad(&self, field: &str) -> Vec<u8> {
        format!("{}/{}/{}", self.table, self.id, field).into_bytes()
    }

    pub(crate) fn seal(&self, field: &str, value: &str) -> Result<Vec<u8>> {
        Ok(self.key.seal_str(value, &self.aad(field))?)
    }

    pub(crate) fn seal_opt(&self, field: &str, value: Option<&str>) -> Result<Option<Vec<u8>>> {
        value.map(|v| self.seal(field, v)).transpose()
    }

    pub(crate) fn open_opt(
        &self,
        field: &str,
        sealed: Option<Vec<u8>>,
    ) -> Result<Option<Zeroizing<String>>> {
        sealed
            .map(|s| Ok(self.key.open_string(&s, &self.aad(field))?))
            .transpose()
    }

    pub(crate) fn open(
        &self,
        field: &'static str,
        sealed: Option<Vec<u8>>,
    ) -> Result<Zeroizing<String>> {
        self.open_opt(field, sealed)?
            .ok_or_else(|| StoreError::Corrupt(format!("{}.{field} is missing", self.table)))
    }

    /// Opens and parses a required field.
    pub(crate) fn parse<T, E: std::fmt::Display>(
        &self,
        field: &'static str,
        sealed: Option<Vec<u8>>,
        parse: impl FnOnce(&str) -> std::result::Result<T, E>,
    ) -> Result<T> {
        let text = self.open(field, sealed)?;
        parse(&text).map_err(|e| StoreError::Corrupt(format!("{}.{field}: {e}", self.table)))
    }

    /// Opens and parses an optional field.
    pub(crate) fn parse_opt<T, E: std::fmt::Display>(
        &self,
        field: &'static str,
        sealed: Option<Vec<u8>>,
        parse: impl FnOnce(&str) -> std::result::Result<T, E>,
    ) -> Result<Option<T>> {
        match self.open_opt(field, sealed)? {
            None => Ok(None),
            Some(text) => parse(text.as_str())
                .map(Some)
                .map_err(|e| StoreError::Corrupt(format!("{}.{field}: {e}", self.table))),
        }
    }
}
