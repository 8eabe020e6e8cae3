//! Who may read the data folder: only the account Tally runs as. Every file Tally or SQLite
//! creates is private from the start (the process's file mode mask is `077`, set before any
//! thread starts), and at each start the folders and files a data folder already held —
//! made by an older Tally, or copied in by hand — are brought to the same modes: folders
//! `0700`, files `0600`. docs/data-protection.md has the table of what each file holds.

use std::path::Path;

/// Makes every file and folder this process creates from now on private to its owner
/// (`umask 077`: files `0600`, folders `0700`). Called first thing in `main`, before threads
/// start (the mask is the process's).
pub fn private_from_now_on() {
    #[cfg(unix)]
    // SAFETY: umask takes no pointers and cannot fail; it only sets the process's mask.
    unsafe {
        libc::umask(0o077);
    }
}

/// Sets one file to `0600`.
pub fn make_file_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Brings `dir` (and, one level down, its folders) to `0700`, and the files in them to
/// `0600`, where any group or other permission was set. Returns how many were changed.
/// Missing folders are not an error: nothing was there to protect.
pub fn make_private(dir: &Path) -> std::io::Result<usize> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let tighten = |path: &Path, mode: u32| -> std::io::Result<usize> {
            let meta = std::fs::symlink_metadata(path)?;
            if meta.file_type().is_symlink() || meta.permissions().mode() & 0o077 == 0 {
                return Ok(0);
            }
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
            Ok(1)
        };
        if !dir.exists() {
            return Ok(0);
        }
        let mut changed = tighten(dir, 0o700)?;
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                changed += tighten(&path, 0o700)?;
                for inner in std::fs::read_dir(&path)? {
                    let inner = inner?.path();
                    if inner.is_file() {
                        changed += tighten(&inner, 0o600)?;
                    }
                }
            } else if path.is_file() {
                changed += tighten(&path, 0o600)?;
            }
        }
        Ok(changed)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(0)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn an_open_data_folder_is_made_private_and_a_private_one_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        std::fs::create_dir_all(data.join("outbox")).unwrap();
        for (file, m) in [
            ("tally.db", 0o644),
            ("outbox/a.eml", 0o664),
            ("secret.key", 0o600),
        ] {
            std::fs::write(data.join(file), b"x").unwrap();
            std::fs::set_permissions(data.join(file), std::fs::Permissions::from_mode(m)).unwrap();
        }
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(data.join("outbox"), std::fs::Permissions::from_mode(0o775))
            .unwrap();
        assert_eq!(
            make_private(&data).unwrap(),
            4,
            "folder, outbox, database, message"
        );
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("outbox")), 0o700);
        for file in ["tally.db", "outbox/a.eml", "secret.key"] {
            assert_eq!(mode(&data.join(file)), 0o600, "{file}");
        }
        assert_eq!(make_private(&data).unwrap(), 0);
        assert_eq!(make_private(&root.path().join("missing")).unwrap(), 0);
    }
}
