//! Writing the user's files: the credentials-file entries ssosync owns, and the
//! one safe write (lock, temp file, fsync, rename, fsync the folder).

pub mod credentials;
pub mod safe_write;
