//! Named records in namespaces (model records now, job records later): small values written as part
//! of a statement's atomic write, keyed `namespace \0 name` in the `records` tree.

use crate::error::{corrupt, Result, StorageError};
use crate::format::tree;
use crate::store::Store;
use crate::write::WriteTxn;

fn record_key(namespace: &str, name: &str) -> Result<Vec<u8>> {
    if namespace.contains('\0') || name.is_empty() {
        return Err(StorageError::Limit(format!("invalid record name {namespace:?}/{name:?}")));
    }
    Ok([namespace.as_bytes(), &[0], name.as_bytes()].concat())
}

impl WriteTxn<'_> {
    /// Stores `value` as record `name` of `namespace`, replacing any record of that name.
    pub fn put_record(&mut self, namespace: &str, name: &str, value: &[u8]) -> Result<()> {
        let key = record_key(namespace, name)?;
        self.push_raw(tree::RECORDS, key, Some(value.to_vec()));
        Ok(())
    }

    /// Removes record `name` of `namespace`.
    pub fn delete_record(&mut self, namespace: &str, name: &str) -> Result<()> {
        let key = record_key(namespace, name)?;
        self.push_raw(tree::RECORDS, key, None);
        Ok(())
    }
}

impl Store {
    /// Record `name` of `namespace`, if stored.
    pub fn record(&self, namespace: &str, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.engine.get(tree::RECORDS, &record_key(namespace, name)?)?.map(|v| v.to_vec()))
    }

    /// Every record of `namespace` as `(name, value)`, in name order.
    pub fn records(&self, namespace: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let prefix = [namespace.as_bytes(), &[0]].concat();
        self.engine
            .scan_prefix(tree::RECORDS, &prefix)
            .map(|entry| {
                let (k, v) = entry?;
                let name = String::from_utf8(k[prefix.len()..].to_vec())
                    .map_err(|_| corrupt("record name is not UTF-8"))?;
                Ok((name, v.to_vec()))
            })
            .collect()
    }
}
