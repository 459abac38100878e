//! The open-file budget of a streaming read, which keeps every series file open until its last
//! row. Owns the check of the process's open-file limit and raising its soft limit to the hard
//! one; must never lower a limit or open a file.

use super::error::ReplayError;

/// Descriptors left for everything besides the data files: the store, sockets, logs, stdio.
const RESERVE: u64 = 64;

/// Makes room for `files` open data files. When the soft limit is too low (1024 is common, and
/// systemd's default) it is raised to the hard limit, as a process may; when the hard limit is
/// too low too, the error says what to raise.
pub(super) fn ensure_open_files(files: usize) -> Result<(), ReplayError> {
    let needed = files as u64 + RESERVE;
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
        let (soft, hard) = (current.unwrap_or(u64::MAX), maximum.unwrap_or(u64::MAX));
        if soft >= needed {
            return Ok(());
        }
        let too_many = || ReplayError::TooManyFiles {
            files,
            needed,
            limit: hard,
        };
        if hard < needed {
            return Err(too_many());
        }
        // An unlimited hard limit cannot be the soft one for descriptors: ask for what we need.
        let raised = maximum.unwrap_or(needed);
        let new = Rlimit {
            current: Some(raised),
            maximum,
        };
        setrlimit(Resource::Nofile, new).map_err(|_| too_many())?;
        tracing::info!(
            files,
            from = soft,
            to = raised,
            "Raised the soft open-file limit: a replay keeps every series file open."
        );
    }
    #[cfg(not(unix))]
    let _ = needed;
    Ok(())
}
