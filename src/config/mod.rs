//! What the user configured: where files live (the environment), the profile
//! files read losslessly, the SSO profiles they define, and which of them a run
//! selects.

pub mod environment;
pub mod profile_file;
pub mod profiles;
pub mod selection;
