mod errors;
mod files;
mod format;
mod properties;
mod sync;
