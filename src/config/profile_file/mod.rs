//! A lossless model of an AWS profile file (`~/.aws/config` or `~/.aws/credentials`).
//!
//! The file is kept as its original lines, each with its own line ending, and is read
//! with the same line rules as the AWS SDKs' parsers (comments, continuation lines,
//! sub-properties, duplicate sections). Rendering an unedited document gives back the
//! exact input; an edit touches only the lines of the keys it changes.
//!
//! Big files stay cheap: parsing keeps one copy of the text and gives each line a
//! span of it (only edited lines own their text), the header lines are listed once,
//! and sections are found by name through an index (built on first use and kept
//! up to date by every edit), so one lookup or edit costs the size of the sections
//! it touches, not the size of the file.
//!
//! One module per job, each using only those below it: `syntax` (the SDKs' line
//! rules, on `swar`'s word-at-a-time byte tests), `scan` (splitting the text
//! into lines), `index` (sections by name), `document` (the lines, rendering,
//! finding sections), `edit` (changing keys and sections) and `views` (values
//! as the SDKs merge them).
//!
//! The small helpers that hot loops call across these modules are `#[inline]`:
//! the compiler splits a crate into codegen units along module lines, and
//! without it the split alone cost parsing about a fifth of its speed.

mod document;
mod edit;
mod index;
mod scan;
mod swar;
mod syntax;
mod views;

pub use document::{ParseError, ProfileFile, Section};
pub use syntax::{FileKind, SectionName, is_valid_identifier};
pub use views::{ProfileSet, Properties};
