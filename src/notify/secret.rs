//! Secrets for the sinks (bot token, SMTP password): read from an environment variable, or else
//! from a systemd credential (`LoadCredential=` puts it in `$CREDENTIALS_DIRECTORY`). Never from
//! the config file, and never shown: `Debug` and `Display` print a placeholder.

use std::fmt;
use std::path::Path;

/// A secret value that refuses to be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// From the environment variable `env`, else the credential file `credential` in
    /// `$CREDENTIALS_DIRECTORY`. Surrounding whitespace (a trailing newline) is dropped.
    pub fn load(env: &str, credential: &str) -> Result<Secret, MissingSecret> {
        let from_env = std::env::var(env).ok().filter(|v| !v.trim().is_empty());
        let from_credential = || {
            let dir = std::env::var_os("CREDENTIALS_DIRECTORY")?;
            std::fs::read_to_string(Path::new(&dir).join(credential)).ok()
        };
        from_env
            .or_else(from_credential)
            .map(|v| Secret(v.trim().to_owned()))
            .filter(|s| !s.0.is_empty())
            .ok_or_else(|| MissingSecret {
                env: env.to_owned(),
                credential: credential.to_owned(),
            })
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Neither the variable nor the credential is there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "secret not found: set the environment variable {env}, or give the service the systemd \
     credential {credential} (LoadCredential={credential}:/path/to/file)"
)]
pub struct MissingSecret {
    pub env: String,
    pub credential: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_its_value() {
        let s = Secret::new("123:ABC-token".into());
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "123:ABC-token");
    }
}
