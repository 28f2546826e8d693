//! Whether people other than its owner may read a file, and how to stop it:
//! on Unix, its mode's group and other bits; on Windows, its access list's
//! entries for the groups every account on the machine is in (Everyone,
//! Authenticated Users, Users, Guests). ssosync keeps a file's permissions as
//! they are, but the keys it writes there are secrets, so it says so.

use std::path::Path;

/// One warning line when `path` (shown as `shown`) exists and others may read
/// it, with the command that fixes it; `None` when it is private, missing, or
/// its permissions cannot be read.
#[cfg(unix)]
pub fn exposure_warning(path: &Path, shown: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    let who = match (mode & 0o040 != 0, mode & 0o004 != 0) {
        (true, true) => "group and others",
        (true, false) => "group",
        (false, true) => "others",
        (false, false) => return None,
    };
    Some(format!(
        "{shown} is readable by {who} (mode {mode:o}); run `chmod 600 {shown}` so that only you can read the keys in it"
    ))
}

#[cfg(windows)]
pub fn exposure_warning(path: &Path, shown: &str) -> Option<String> {
    let readers = windows_acl::FileAcl::read(path).ok()?.readers();
    if readers.is_empty() {
        return None;
    }
    let sids: Vec<&str> = readers
        .iter()
        .filter_map(|name| windows_acl::sid_of(name))
        .collect();
    Some(format!(
        "{shown} is readable by {} (its access list); run `icacls \"{}\" /inheritance:r /remove:g {} /grant:r \"${{env:USERNAME}}:F\"` in PowerShell so that only you can read the keys in it",
        join(&readers),
        path.display(),
        sids.join(" ")
    ))
}

#[cfg(not(any(unix, windows)))]
pub fn exposure_warning(_path: &Path, _shown: &str) -> Option<String> {
    None
}

/// `A`, `A and B`, `A, B and C`.
#[cfg(any(windows, test))]
fn join(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(windows)]
pub mod windows_acl {
    use std::path::Path;
    use std::ptr::null_mut;
    use windows_sys::Win32::Security::{ACL, PSECURITY_DESCRIPTOR};

    /// `*S-1-1-0`: how icacls names a group by its SID (names are translated).
    pub fn sid_of(name: &str) -> Option<&'static str> {
        GROUPS
            .iter()
            .find(|(_, group, _)| *group == name)
            .map(|(_, _, sid)| *sid)
    }

    /// The groups of everyone on the machine: their well-known kind, the
    /// name the warning gives them, and their SID as icacls takes it.
    const GROUPS: [(i32, &str, &str); 4] = [
        (
            windows_sys::Win32::Security::WinWorldSid,
            "Everyone",
            "*S-1-1-0",
        ),
        (
            windows_sys::Win32::Security::WinAuthenticatedUserSid,
            "Authenticated Users",
            "*S-1-5-11",
        ),
        (
            windows_sys::Win32::Security::WinBuiltinUsersSid,
            "Users",
            "*S-1-5-32-545",
        ),
        (
            windows_sys::Win32::Security::WinBuiltinGuestsSid,
            "Guests",
            "*S-1-5-32-546",
        ),
    ];
    /// Read access: FILE_READ_DATA, GENERIC_READ or GENERIC_ALL.
    const READS: u32 = 0x0000_0001 | 0x8000_0000 | 0x1000_0000;
    const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;
    const ACCESS_DENIED_ACE_TYPE: u8 = 1;

    /// A file's security descriptor, holding its access list (DACL); freed
    /// when dropped. What `readers` walks and `safe_write` copies.
    pub struct FileAcl {
        descriptor: PSECURITY_DESCRIPTOR,
        dacl: *mut ACL,
    }

    impl FileAcl {
        /// The access list of `path`; `Err` holds the Win32 error (2 or 3:
        /// no such file).
        #[allow(unsafe_code)]
        pub fn read(path: &Path) -> Result<FileAcl, u32> {
            use std::os::windows::ffi::OsStrExt;
            use windows_sys::Win32::Security::Authorization::{
                GetNamedSecurityInfoW, SE_FILE_OBJECT,
            };
            use windows_sys::Win32::Security::DACL_SECURITY_INFORMATION;
            let wide: Vec<u16> = path.as_os_str().encode_wide().chain(Some(0)).collect();
            let mut acl = FileAcl {
                descriptor: null_mut(),
                dacl: null_mut(),
            };
            // SAFETY: `wide` is a NUL-terminated path that outlives the call;
            // the out-pointers are fields of a local. On success `descriptor`
            // is ours (freed by Drop), and `dacl` points into it.
            let status = unsafe {
                GetNamedSecurityInfoW(
                    wide.as_ptr(),
                    SE_FILE_OBJECT,
                    DACL_SECURITY_INFORMATION,
                    null_mut(),
                    null_mut(),
                    &raw mut acl.dacl,
                    null_mut(),
                    &raw mut acl.descriptor,
                )
            };
            match status {
                0 => Ok(acl),
                code => Err(code),
            }
        }

        /// The list, inside the descriptor (null: the file has none, and
        /// everyone has every right).
        pub fn dacl(&self) -> *const ACL {
            self.dacl
        }

        /// Whether inheritance from the folder is turned off for the list.
        #[allow(unsafe_code)]
        pub fn protected(&self) -> bool {
            use windows_sys::Win32::Security::{GetSecurityDescriptorControl, SE_DACL_PROTECTED};
            let mut control: u16 = 0;
            let mut revision: u32 = 0;
            // SAFETY: `descriptor` is the valid descriptor `read` got.
            let read = unsafe {
                GetSecurityDescriptorControl(self.descriptor, &raw mut control, &raw mut revision)
            };
            read != 0 && control & SE_DACL_PROTECTED != 0
        }

        /// The groups in [`GROUPS`] the list lets read the file: for each,
        /// the first entry that names it with read access (allow or deny)
        /// decides, as Windows reads an access list in order, and a deny for
        /// Everyone decides every group; entries that only pass on to
        /// children are skipped.
        #[allow(unsafe_code)]
        pub fn readers(&self) -> Vec<&'static str> {
            use windows_sys::Win32::Security::{
                ACCESS_ALLOWED_ACE, ACE_HEADER, GetAce, INHERIT_ONLY_ACE, IsWellKnownSid,
            };
            if self.dacl.is_null() {
                return vec!["Everyone"];
            }
            let mut decided: Vec<(&'static str, bool)> = Vec::new();
            // SAFETY: `dacl` is non-null and points into `descriptor`, alive
            // as long as `self`.
            let count = unsafe { (*self.dacl).AceCount };
            for index in 0..u32::from(count) {
                let mut ace: *mut core::ffi::c_void = null_mut();
                // SAFETY: `index` is below the list's count; GetAce sets `ace`
                // to an entry inside the list.
                if unsafe { GetAce(self.dacl, index, &raw mut ace) } == 0 || ace.is_null() {
                    continue;
                }
                // SAFETY: every entry starts with an ACE_HEADER.
                let header = unsafe { *ace.cast::<ACE_HEADER>() };
                let allow = match header.AceType {
                    ACCESS_ALLOWED_ACE_TYPE => true,
                    ACCESS_DENIED_ACE_TYPE => false,
                    _ => continue,
                };
                if u32::from(header.AceFlags) & INHERIT_ONLY_ACE != 0 {
                    continue;
                }
                // Allow and deny entries share ACCESS_ALLOWED_ACE's layout,
                // the SID starting at `SidStart`.
                let entry = ace.cast::<ACCESS_ALLOWED_ACE>();
                // SAFETY: `entry` is an allow or deny entry inside the list.
                let mask = unsafe { (*entry).Mask };
                if mask & READS == 0 {
                    continue;
                }
                // SAFETY: as above; only the field's address is taken.
                let sid = unsafe { (&raw mut (*entry).SidStart).cast() };
                for (kind, name, _) in GROUPS {
                    // SAFETY: `sid` points at the entry's SID, inside the list.
                    if unsafe { IsWellKnownSid(sid, kind) } == 0 {
                        continue;
                    }
                    // Everyone denied is every group denied: all are in it.
                    let denies_all = !allow && name == "Everyone";
                    for (_, group, _) in GROUPS {
                        let undecided = !decided.iter().any(|(n, _)| *n == group);
                        if undecided && (group == name || denies_all) {
                            decided.push((group, allow));
                        }
                    }
                }
            }
            GROUPS
                .iter()
                .map(|(_, name, _)| *name)
                .filter(|name| decided.iter().any(|(n, allow)| n == name && *allow))
                .collect()
        }
    }

    impl Drop for FileAcl {
        #[allow(unsafe_code)]
        fn drop(&mut self) {
            // SAFETY: `descriptor` came from GetNamedSecurityInfoW (or is
            // null, which LocalFree accepts) and is freed once.
            unsafe {
                windows_sys::Win32::Foundation::LocalFree(self.descriptor);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_joined_as_a_sentence() {
        assert_eq!(join(&[]), "");
        assert_eq!(join(&["Everyone"]), "Everyone");
        assert_eq!(join(&["Everyone", "Users"]), "Everyone and Users");
        assert_eq!(
            join(&["Everyone", "Authenticated Users", "Users"]),
            "Everyone, Authenticated Users and Users"
        );
    }
}
