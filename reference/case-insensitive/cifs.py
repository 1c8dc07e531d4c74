#!/usr/bin/env python3
"""Case-insensitive, case-preserving passthrough FUSE file system (like FAT/exFAT/APFS/NTFS).

usage: cifs.py BACKING_DIR MOUNTPOINT   (runs in the foreground; unmount with `umount MOUNTPOINT`)

Every path component is matched case-insensitively (str.casefold) against the backing directory's
entries; an exact match wins.  Creating a name that matches an existing entry opens that entry;
mkdir/symlink onto one fails with EEXIST; rename onto one replaces it (one entry left); rename of
an entry onto its own name in other case changes the stored case.  Built on mfusepy (ctypes, libfuse3).
"""
import errno
import os
import sys

import mfusepy as fuse


class CaseInsensitive(fuse.Operations):
    use_ns = True

    def __init__(self, root):
        self.root = os.path.realpath(root)

    # ---- path resolution -------------------------------------------------------------
    def _match(self, parent, name):
        """The backing entry of `parent` that `name` names, case-insensitively, or None."""
        if os.path.lexists(os.path.join(parent, name)):
            # an exact hit (lexists is case-sensitive on the Linux backing fs)
            return name
        try:
            entries = os.listdir(parent)
        except OSError:
            return None
        key = name.casefold()
        for entry in entries:
            if entry.casefold() == key:
                return entry
        return None

    def _resolve(self, path):
        """Backing path for `path` (all components matched case-insensitively); raises ENOENT."""
        cur = self.root
        for comp in [c for c in path.split('/') if c]:
            hit = self._match(cur, comp)
            if hit is None:
                raise fuse.FuseOSError(errno.ENOENT)
            cur = os.path.join(cur, hit)
        return cur

    def _resolve_new(self, path):
        """(backing parent, name to use, exists): the parent resolved; the last component
        mapped onto an existing entry's spelling when one matches."""
        parent, name = os.path.split(path.rstrip('/'))
        bparent = self._resolve(parent)
        hit = self._match(bparent, name)
        if hit is None:
            return bparent, name, False
        return bparent, hit, True

    # ---- attributes ------------------------------------------------------------------
    def getattr(self, path, fh=None):
        st = os.fstat(fh) if fh is not None else os.lstat(self._resolve(path))
        d = {k: getattr(st, k) for k in ('st_mode', 'st_ino', 'st_dev', 'st_nlink', 'st_uid', 'st_gid',
                                         'st_size', 'st_blocks', 'st_blksize', 'st_rdev')}
        d['st_atime'] = st.st_atime_ns
        d['st_mtime'] = st.st_mtime_ns
        d['st_ctime'] = st.st_ctime_ns
        return d

    def access(self, path, amode):
        if not os.access(self._resolve(path), amode, follow_symlinks=False):
            raise fuse.FuseOSError(errno.EACCES)
        return 0

    def chmod(self, path, mode):
        os.chmod(self._resolve(path), mode)
        return 0

    def chown(self, path, uid, gid):
        os.lchown(self._resolve(path), uid, gid)
        return 0

    def utimens(self, path, times=None):
        p = self._resolve(path)
        if times is None:
            os.utime(p, follow_symlinks=False)
        else:
            os.utime(p, ns=times, follow_symlinks=False)
        return 0

    def statfs(self, path):
        sv = os.statvfs(self._resolve(path))
        return {k: getattr(sv, k) for k in ('f_bavail', 'f_bfree', 'f_blocks', 'f_bsize', 'f_favail',
                                            'f_ffree', 'f_files', 'f_flag', 'f_frsize', 'f_namemax')}

    # ---- directories -----------------------------------------------------------------
    def readdir(self, path, fh):
        # (name, {st_mode, st_ino}, 0): with use_ino a zero d_ino would hide the entry
        d = self._resolve(path)
        out = []
        for name in ['.', '..'] + os.listdir(d):
            st = os.lstat(os.path.join(d, name))
            out.append((name, {'st_mode': st.st_mode, 'st_ino': st.st_ino}, 0))
        return out

    def mkdir(self, path, mode):
        bparent, name, exists = self._resolve_new(path)
        if exists:
            raise fuse.FuseOSError(errno.EEXIST)
        os.mkdir(os.path.join(bparent, name), mode)
        return 0

    def rmdir(self, path):
        os.rmdir(self._resolve(path))
        return 0

    # ---- links -------------------------------------------------------------------------
    def symlink(self, target, source):
        # `target` is the new link's path in this fs, `source` what it points to
        bparent, name, exists = self._resolve_new(target)
        if exists:
            raise fuse.FuseOSError(errno.EEXIST)
        os.symlink(source, os.path.join(bparent, name))
        return 0

    def readlink(self, path):
        return os.readlink(self._resolve(path))

    def link(self, target, source):
        bparent, name, exists = self._resolve_new(target)
        if exists:
            raise fuse.FuseOSError(errno.EEXIST)
        os.link(self._resolve(source), os.path.join(bparent, name))
        return 0

    def unlink(self, path):
        os.unlink(self._resolve(path))
        return 0

    def rename(self, old, new, flags=0):
        if flags & ~1:  # RENAME_EXCHANGE / RENAME_WHITEOUT: not supported (as on FAT)
            raise fuse.FuseOSError(errno.EINVAL)
        src = self._resolve(old)
        bparent, name, exists = self._resolve_new(new)
        dst = os.path.join(bparent, name)
        if exists and os.path.samefile(os.path.dirname(src), bparent) and \
                os.path.basename(src) == name:
            # the same entry: a rename that changes only the case of the name
            newname = os.path.basename(new.rstrip('/'))
            if newname != name:
                os.rename(src, os.path.join(bparent, newname))
            return 0
        if exists and flags & 1:  # RENAME_NOREPLACE
            raise fuse.FuseOSError(errno.EEXIST)
        # onto an existing entry (any case): replace it, keeping its spelling (as FAT/APFS do
        # not guarantee either way; the entry count is what matters: one)
        os.rename(src, dst)
        return 0

    # ---- files ---------------------------------------------------------------------------
    def open(self, path, flags):
        return os.open(self._resolve(path), flags)

    def create(self, path, mode, fi=None):
        bparent, name, exists = self._resolve_new(path)
        flags = fi if isinstance(fi, int) else os.O_WRONLY | os.O_CREAT
        if flags is None:
            flags = os.O_WRONLY | os.O_CREAT
        return os.open(os.path.join(bparent, name), flags | os.O_CREAT, mode)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        return os.pwrite(fh, data, offset)

    def truncate(self, path, length, fh=None):
        if fh is not None:
            os.ftruncate(fh, length)
        else:
            os.truncate(self._resolve(path), length)
        return 0

    def flush(self, path, fh):
        return 0

    def release(self, path, fh):
        os.close(fh)
        return 0

    def fsync(self, path, datasync, fh):
        if datasync:
            os.fdatasync(fh)
        else:
            os.fsync(fh)
        return 0

    def fsyncdir(self, path, datasync, fh):
        return 0


class FUSE(fuse.FUSE):
    # mfusepy drops rename(2)'s flags under libfuse3; pass them on (RENAME_NOREPLACE honoured)
    def rename_fuse_3(self, old, new, flags):
        return self.operations.rename(old.decode(), new.decode(), flags)


if __name__ == '__main__':
    backing, mnt = sys.argv[1], sys.argv[2]
    FUSE(CaseInsensitive(backing), mnt, foreground=True, nothreads=True, use_ino=True,
              attr_timeout=0, entry_timeout=0, negative_timeout=0, allow_other=True,
              default_permissions=True, fsname='cifs')
