//! Writing the user's files: the credentials-file entries ssosync owns
//! (`credentials`), the config-file profiles populate owns (`populated`), the
//! ledger of the entries ssosync wrote (`ledger`), the one locked read-plan-write
//! loop every profile-file edit goes through (`apply`), the safe write beneath it
//! (lock, temp file, fsync, rename, fsync the folder), and the stamp that tells
//! whether a file changed without reading it (`stamp`), whether another
//! program still has a replaced file open for writing (`writers`), and whether
//! others may read a file ssosync writes keys into (`access`).

pub mod access;
pub mod apply;
pub mod credentials;
pub mod ledger;
pub mod populated;
pub mod safe_write;
pub mod stamp;
pub mod writers;
