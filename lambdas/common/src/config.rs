//! Reading a Lambda's variables: trimmed, empty meaning unset, and errors
//! that name the variable without quoting what it was set to.

/// A configuration value is missing or unusable; the message names the
/// variable and never quotes its value (it may be a secret or a URL with a
/// token in it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The variable is unset or empty.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// The variable is set to something unusable.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong, without echoing the value.
        reason: String,
    },
}

impl ConfigError {
    /// [`ConfigError::Invalid`]: `name` is set to something unusable, for
    /// `reason` (which must not quote the value).
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid { name, reason: reason.into() }
    }
}

/// Reads the process environment; the `lookup` a Lambda's
/// `Config::from_env` passes to its `Config::from_lookup`.
pub fn env_lookup(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The variables, through a lookup function, so tests can hand a
/// `Config::from_lookup` a map instead of touching the real environment
/// (and record which names it asks for).
///
/// Every value is trimmed, and an empty one counts as unset: a CDK stack
/// or a shell that sets `NAME=` means "not configured", never "the empty
/// table name".
#[derive(Debug, Clone, Copy)]
pub struct Vars<L> {
    lookup: L,
}

impl<L: Fn(&str) -> Option<String>> Vars<L> {
    /// Variables read through `lookup`.
    pub fn new(lookup: L) -> Self {
        Self { lookup }
    }

    /// The trimmed value of `name`; `None` when unset or blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.lookup)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// The trimmed value of `name`.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] when it is unset or blank.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    /// `name` parsed by `parse`; `None` when unset or blank.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] with `reason` when `parse` refuses the value
    /// (the value itself is never part of the error).
    pub fn parsed<T, E>(
        &self,
        name: &'static str,
        reason: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, ConfigError> {
        self.optional(name).map(|v| parse(&v).map_err(|_| ConfigError::invalid(name, reason))).transpose()
    }

    /// The raw lookup, for the shared readers that take one
    /// (`AllowlistSettings::from_lookup`, `SourcesConfig::from_lookup`).
    pub fn lookup(&self) -> &L {
        &self.lookup
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> Vars<impl Fn(&str) -> Option<String>> {
        Vars::new(move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn values_are_trimmed_and_blank_is_unset() {
        let vars = vars(&[("A", "  a-value \n"), ("BLANK", "  "), ("EMPTY", "")]);
        assert_eq!(vars.optional("A").as_deref(), Some("a-value"));
        assert_eq!(vars.required("A").unwrap(), "a-value");
        for name in ["BLANK", "EMPTY", "UNSET"] {
            assert_eq!(vars.optional(name), None, "{name}");
        }
        assert_eq!(vars.required("BLANK").unwrap_err(), ConfigError::Missing("BLANK"));
        assert_eq!(vars.required("UNSET").unwrap_err().to_string(), "UNSET is not set");
    }

    #[test]
    fn a_value_that_does_not_parse_is_named_without_quoting_it() {
        let vars = vars(&[("DAYS", "seven-xyz"), ("N", " 3 ")]);
        assert_eq!(vars.parsed("N", "expected a number", str::parse::<u32>).unwrap(), Some(3));
        assert_eq!(vars.parsed("UNSET", "expected a number", str::parse::<u32>).unwrap(), None);
        let error = vars.parsed("DAYS", "expected a number", str::parse::<u32>).unwrap_err();
        assert_eq!(error.to_string(), "DAYS is invalid: expected a number");
        assert!(!format!("{error:?}").contains("xyz"));
    }
}
