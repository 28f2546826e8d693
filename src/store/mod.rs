//! Writing the user's files: the credentials-file entries ssosync owns, the one
//! locked read-plan-write loop every profile-file edit goes through (`apply`), the
//! safe write beneath it (lock, temp file, fsync, rename, fsync the folder), and
//! the ledger of the entries ssosync wrote (`ledger`).

pub mod apply;
pub mod credentials;
pub mod ledger;
pub mod safe_write;
