//! The file operations of the shared cache and the statistics, in one place, each safe against
//! what another process (or a damaged disk) may have left at a path:
//!
//! - every open is non-blocking and never follows a symbolic link, and what is opened must be a
//!   regular file (checked on the open descriptor), so a FIFO, a device, a directory or a link in
//!   place of a file is refused at once instead of blocking the caller or reading elsewhere;
//! - what is refused at a path that belongs to us is removed, so the next use starts clean;
//! - files and directories are made private to the owner (0600, 0700).
//!
//! Reads never take longer than reading a regular file of at most the size asked for.

use std::fs;
use std::io::{self, Read};
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};

/// Flags of every open: never block (a FIFO opens at once), never follow a link.
#[cfg(unix)]
const SAFE_FLAGS: i32 = libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC;

fn not_regular(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{} is not a regular file", path.display()),
    )
}

/// Checks that an open file is a regular file; otherwise removes the path (it is ours, and
/// whatever is there is in the way) and fails.
fn regular(file: fs::File, path: &Path) -> io::Result<fs::File> {
    if file.metadata()?.file_type().is_file() {
        return Ok(file);
    }
    drop(file);
    remove_junk(path);
    Err(not_regular(path))
}

/// Removes whatever is at `path` that is not a regular file: a link, a FIFO, a socket, a
/// directory. Best effort.
pub(crate) fn remove_junk(path: &Path) {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = fs::remove_dir_all(path);
        }
        Ok(m) if !m.file_type().is_file() => {
            let _ = fs::remove_file(path);
        }
        _ => {}
    }
}

/// Options for opening one of our files safely.
fn options() -> fs::OpenOptions {
    #[allow(unused_mut)]
    let mut o = fs::OpenOptions::new();
    #[cfg(unix)]
    o.custom_flags(SAFE_FLAGS).mode(0o600);
    o
}

/// Opens `path` for reading, when it is a regular file; `Ok(None)` when nothing is there.
pub(crate) fn open_read(path: &Path) -> io::Result<Option<fs::File>> {
    match options().read(true).open(path) {
        Ok(f) => regular(f, path).map(Some),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => {
            // A link at the path (O_NOFOLLOW answers ELOOP), or the like: in the way.
            remove_junk(path);
            Err(e)
        }
    }
}

/// Reads the regular file `path` whole, when it holds at most `max` bytes: `Ok(None)` when
/// nothing is there; an error (and the file removed) when it is larger.
pub(crate) fn read_at_most(path: &Path, max: u64) -> io::Result<Option<Vec<u8>>> {
    Ok(read_with_metadata(path, max)?.map(|(bytes, _)| bytes))
}

/// [`read_at_most`], with the metadata of the file that was read.
pub(crate) fn read_with_metadata(
    path: &Path,
    max: u64,
) -> io::Result<Option<(Vec<u8>, fs::Metadata)>> {
    let Some(mut f) = open_read(path)? else {
        return Ok(None);
    };
    let metadata = f.metadata()?;
    let len = metadata.len();
    if len > max {
        drop(f);
        let _ = fs::remove_file(path);
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is larger than {max} bytes", path.display()),
        ));
    }
    let mut buf = Vec::with_capacity(len as usize);
    // `take`: a file that grows while it is read is still read only up to the bound.
    (&mut f).take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(not_regular(path));
    }
    Ok(Some((buf, metadata)))
}

/// Opens (making it when missing) the regular file `path` for reading and writing, as the lock
/// and log files are used.
pub(crate) fn open_rw(path: &Path) -> io::Result<fs::File> {
    match options().read(true).write(true).create(true).open(path) {
        Ok(f) => regular(f, path),
        Err(e) => {
            remove_junk(path);
            Err(e)
        }
    }
}

/// Opens (making it when missing) the regular file `path` for appending.
pub(crate) fn open_append(path: &Path) -> io::Result<fs::File> {
    match options().append(true).create(true).open(path) {
        Ok(f) => regular(f, path),
        Err(e) => {
            remove_junk(path);
            Err(e)
        }
    }
}

/// Creates the new file `path` (it must not exist), private to the owner.
pub(crate) fn create_new(path: &Path) -> io::Result<fs::File> {
    options().write(true).create_new(true).open(path)
}

/// Makes `dir` (and its parents) private to the owner, and checks that it is a directory and
/// not a link to one.
pub(crate) fn private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir)?;
    let m = fs::symlink_metadata(dir)?;
    if !m.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not a directory", dir.display()),
        ));
    }
    Ok(())
}

/// Whether the open file `f` is still the file at `path` (not unlinked or replaced since it was
/// opened).
#[cfg(unix)]
pub(crate) fn same_file(f: &fs::File, path: &Path) -> bool {
    match (f.metadata(), fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
pub(crate) fn same_file(_f: &fs::File, path: &Path) -> bool {
    path.exists()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::time::{Duration, Instant};

    fn mkfifo(path: &Path) {
        let c = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C path; mkfifo only creates a file.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn a_fifo_is_refused_at_once_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x");
        for open in [
            |p: &Path| read_at_most(p, 100).map(|_| ()),
            |p: &Path| open_rw(p).map(|_| ()),
            |p: &Path| open_append(p).map(|_| ()),
        ] {
            mkfifo(&path);
            let started = Instant::now();
            assert!(open(&path).is_err());
            assert!(started.elapsed() < Duration::from_secs(1));
            assert!(!path.exists(), "removed");
        }
    }

    #[test]
    fn links_directories_and_big_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::write(&target, "secret elsewhere").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(read_at_most(&link, 100).is_err());
        assert!(
            !link.exists() && target.exists(),
            "the link is removed, not its target"
        );
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        assert!(read_at_most(&sub, 100).is_err());
        assert!(!sub.exists());
        let big = dir.path().join("big");
        fs::write(&big, vec![b'x'; 101]).unwrap();
        assert!(read_at_most(&big, 100).is_err());
        assert!(!big.exists());
        fs::write(&big, b"ok").unwrap();
        assert_eq!(read_at_most(&big, 100).unwrap().unwrap(), b"ok");
        assert!(read_at_most(&dir.path().join("none"), 100)
            .unwrap()
            .is_none());
    }

    #[test]
    fn files_and_directories_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("a/b");
        private_dir(&d).unwrap();
        assert_eq!(
            fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let f = d.join("f");
        drop(create_new(&f).unwrap());
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(create_new(&f).is_err(), "never replaces a file");
        let file = open_rw(&f).unwrap();
        assert!(same_file(&file, &f));
        fs::remove_file(&f).unwrap();
        assert!(!same_file(&file, &f));
    }
}
