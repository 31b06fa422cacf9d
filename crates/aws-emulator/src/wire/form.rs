//! Form-encoded EC2 query requests with their `Prefix.N.Member` lists.

use std::collections::BTreeMap;

use crate::error::{ApiError, ApiResult};

/// A parsed `application/x-www-form-urlencoded` body.
#[derive(Debug, Clone, Default)]
pub(crate) struct Form {
    fields: BTreeMap<String, String>,
}

impl Form {
    pub(crate) fn parse(bytes: &[u8]) -> ApiResult<Form> {
        if std::str::from_utf8(bytes).is_err() {
            return Err(ApiError::invalid_parameter_value("The request body is not valid UTF-8"));
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
            .map_err(|e| ApiError::invalid_parameter_value(format!("Malformed request body: {e}")))?;
        Ok(Form { fields: pairs.into_iter().collect() })
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    pub(crate) fn require(&self, key: &str) -> ApiResult<&str> {
        match self.get(key) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ApiError::missing_parameter(key)),
        }
    }

    pub(crate) fn int(&self, key: &str) -> ApiResult<Option<i32>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i32>().map(Some).map_err(|_| {
                ApiError::invalid_parameter_value(format!(
                    "Value ({v}) for parameter {key} is invalid. Expected an integer."
                ))
            }),
        }
    }

    /// The sorted distinct N of keys `prefix.N` and `prefix.N.rest`.
    pub(crate) fn indices(&self, prefix: &str) -> Vec<u32> {
        let dotted = format!("{prefix}.");
        let mut out: Vec<u32> = self
            .fields
            .range(dotted.clone()..)
            .take_while(|(k, _)| k.starts_with(&dotted))
            .filter_map(|(k, _)| k[dotted.len()..].split('.').next().and_then(|n| n.parse().ok()))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Values of `prefix.1`, `prefix.2`, ... in index order.
    pub(crate) fn list(&self, prefix: &str) -> Vec<String> {
        self.indices(prefix)
            .into_iter()
            .filter_map(|n| self.get(&format!("{prefix}.{n}")).map(str::to_string))
            .collect()
    }

    /// The members under `prefix.`, with that prefix removed.
    pub(crate) fn sub(&self, prefix: &str) -> Form {
        let dotted = format!("{prefix}.");
        Form {
            fields: self
                .fields
                .range(dotted.clone()..)
                .take_while(|(k, _)| k.starts_with(&dotted))
                .map(|(k, v)| (k[dotted.len()..].to_string(), v.clone()))
                .collect(),
        }
    }

    /// `Filter.N.Name` / `Filter.N.Value.M`.
    pub(crate) fn filters(&self) -> ApiResult<Vec<(String, Vec<String>)>> {
        self.indices("Filter")
            .into_iter()
            .map(|n| {
                let f = self.sub(&format!("Filter.{n}"));
                let name = f.require("Name").map_err(|_| ApiError::missing_parameter(&format!("Filter.{n}.Name")))?;
                Ok((name.to_string(), f.list("Value")))
            })
            .collect()
    }

    /// `Tag.N.Key` / `Tag.N.Value`.
    pub(crate) fn tags(&self, prefix: &str) -> ApiResult<Vec<(String, Option<String>)>> {
        self.indices(prefix)
            .into_iter()
            .map(|n| {
                let t = self.sub(&format!("{prefix}.{n}"));
                let key = t.get("Key").ok_or_else(|| ApiError::missing_parameter(&format!("{prefix}.{n}.Key")))?;
                Ok((key.to_string(), t.get("Value").map(str::to_string)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_subs() {
        let f =
            Form::parse(b"Action=X&GroupId.2=b&GroupId.1=a&GroupId.10=c&Filter.1.Name=vpc-id&Filter.1.Value.1=v%2D1")
                .expect("valid form");
        assert_eq!(f.list("GroupId"), vec!["a", "b", "c"]);
        assert_eq!(f.filters().expect("filters"), vec![("vpc-id".to_string(), vec!["v-1".to_string()])]);
    }
}
