//! Writing the user's files: the credentials-file entries ssosync owns, the one
//! locked read-plan-write loop every profile-file edit goes through (`apply`), and
//! the safe write beneath it (lock, temp file, fsync, rename, fsync the folder),
//! and the stamp that tells whether a file changed without reading it.

pub mod apply;
pub mod credentials;
pub mod safe_write;
pub mod stamp;
