"""WASI preview1's ABI in one module: errnos, rights, file types, fdflags/oflags/lookupflags,
clock ids, the number of descriptors a context may hold, the errno exception and the record of one
open descriptor (Fd). wasi.py, wasi_files.py and wasi_fs.py import from here and from nothing
above them, so the three do not import each other in a circle.
"""
from . import compat

# preview1 filetypes
FT_UNKNOWN = 0
FT_BLOCK = 1
FT_CHAR = 2
FT_DIR = 3
FT_FILE = 4
FT_SOCKET = 6
FT_SYMLINK = 7

# --- preview1 errno values -------------------------------------------------------------------
ESUCCESS = 0
E2BIG = 1
EACCES = 2
EAGAIN = 6
EBADF = 8
EBUSY = 10
EEXIST = 20
EFBIG = 22
EILSEQ = 25
EINVAL = 28
EIO = 29
EISDIR = 31
ELOOP = 32
EMFILE = 33
ENAMETOOLONG = 37
ENODEV = 43
ENOENT = 44
ENOMEM = 48
ENOSPC = 51
ENOSYS = 52
ENOTDIR = 54
ENOTEMPTY = 55
ENOTSOCK = 57
ENOTSUP = 58
EPERM = 63
EROFS = 69
ESPIPE = 70
EXDEV = 75
ENOTCAPABLE = 76

_from_host = {}  # host errno number -> preview1 errno, filled on the first OSError


def from_host_errno(number):
    """The preview1 errno for a host OSError number (EIO for one it does not know)."""
    if not _from_host:
        ours = {
            "EPERM": EPERM, "ENOENT": ENOENT, "EIO": EIO, "EBADF": EBADF, "EAGAIN": EAGAIN,
            "ENOMEM": ENOMEM, "EACCES": EACCES, "EBUSY": EBUSY, "EEXIST": EEXIST, "EXDEV": EXDEV,
            "ENODEV": ENODEV, "ENOTDIR": ENOTDIR, "EISDIR": EISDIR, "EINVAL": EINVAL,
            "EMFILE": EMFILE, "EFBIG": EFBIG, "ENOSPC": ENOSPC, "ESPIPE": ESPIPE, "EROFS": EROFS,
            "ENAMETOOLONG": ENAMETOOLONG, "ENOTEMPTY": ENOTEMPTY, "ELOOP": ELOOP,
            "EOPNOTSUPP": ENOTSUP,
        }
        for name, num in compat.host_errno_numbers().items():
            _from_host[num] = ours[name]
    return _from_host.get(number, EIO)


# --- rights ----------------------------------------------------------------------------------
R_FD_DATASYNC = 1 << 0
R_FD_READ = 1 << 1
R_FD_SEEK = 1 << 2
R_FD_FDSTAT_SET_FLAGS = 1 << 3
R_FD_SYNC = 1 << 4
R_FD_TELL = 1 << 5
R_FD_WRITE = 1 << 6
R_FD_ADVISE = 1 << 7
R_FD_ALLOCATE = 1 << 8
R_PATH_CREATE_DIRECTORY = 1 << 9
R_PATH_CREATE_FILE = 1 << 10
R_PATH_LINK_SOURCE = 1 << 11
R_PATH_LINK_TARGET = 1 << 12
R_PATH_OPEN = 1 << 13
R_FD_READDIR = 1 << 14
R_PATH_READLINK = 1 << 15
R_PATH_RENAME_SOURCE = 1 << 16
R_PATH_RENAME_TARGET = 1 << 17
R_PATH_FILESTAT_GET = 1 << 18
R_PATH_FILESTAT_SET_SIZE = 1 << 19
R_PATH_FILESTAT_SET_TIMES = 1 << 20
R_FD_FILESTAT_GET = 1 << 21
R_FD_FILESTAT_SET_SIZE = 1 << 22
R_FD_FILESTAT_SET_TIMES = 1 << 23
R_PATH_SYMLINK = 1 << 24
R_PATH_REMOVE_DIRECTORY = 1 << 25
R_PATH_UNLINK_FILE = 1 << 26
R_POLL_FD_READWRITE = 1 << 27
R_SOCK_SHUTDOWN = 1 << 28
R_SOCK_ACCEPT = 1 << 29

RIGHTS_FILE = (R_FD_DATASYNC | R_FD_READ | R_FD_SEEK | R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC
               | R_FD_TELL | R_FD_WRITE | R_FD_ADVISE | R_FD_ALLOCATE | R_FD_FILESTAT_GET
               | R_FD_FILESTAT_SET_SIZE | R_FD_FILESTAT_SET_TIMES | R_POLL_FD_READWRITE)
RIGHTS_DIR = (R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | R_FD_ADVISE | R_PATH_CREATE_DIRECTORY
              | R_PATH_CREATE_FILE | R_PATH_LINK_SOURCE | R_PATH_LINK_TARGET | R_PATH_OPEN
              | R_FD_READDIR | R_PATH_READLINK | R_PATH_RENAME_SOURCE | R_PATH_RENAME_TARGET
              | R_PATH_FILESTAT_GET | R_PATH_FILESTAT_SET_SIZE | R_PATH_FILESTAT_SET_TIMES
              | R_FD_FILESTAT_GET | R_FD_FILESTAT_SET_TIMES | R_PATH_SYMLINK
              | R_PATH_REMOVE_DIRECTORY | R_PATH_UNLINK_FILE)
RIGHTS_STDIO = (R_FD_READ | R_FD_WRITE | R_FD_FDSTAT_SET_FLAGS | R_FD_FILESTAT_GET
                | R_POLL_FD_READWRITE | R_FD_SYNC | R_FD_DATASYNC)

# fdflags, oflags, lookupflags
FDFLAG_APPEND = 1
FDFLAG_DSYNC = 2
FDFLAG_NONBLOCK = 4
FDFLAG_RSYNC = 8
FDFLAG_SYNC = 16
O_CREAT = 1
O_DIRECTORY = 2
O_EXCL = 4
O_TRUNC = 8
LOOKUP_SYMLINK_FOLLOW = 1
# fstflags (fd_filestat_set_times, path_filestat_set_times)
FST_ATIM = 1
FST_ATIM_NOW = 2
FST_MTIM = 4
FST_MTIM_NOW = 8

CLOCK_REALTIME = 0
CLOCK_MONOTONIC = 1
CLOCK_PROCESS_CPUTIME = 2
CLOCK_THREAD_CPUTIME = 3

MAX_FDS = 64  # open descriptors per context (EMFILE past it)


class WasiErrno(Exception):
    """Raised inside a WASI function to answer with a preview1 errno."""

    def __init__(self, errno):
        super().__init__(errno)
        self.errno = errno


def signed64(v):
    return v - (1 << 64) if v >= (1 << 63) else v


class Fd:
    """One open descriptor: a standard stream, a directory or a file."""

    def __init__(self, kind, rights, inheriting, path=None, handle=None, preopen=None):
        self.kind = kind  # preview1 filetype
        self.rights = rights
        self.inheriting = inheriting
        self.path = path  # host path (directories and files)
        self.handle = handle  # open file object (files, standard streams)
        self.preopen = preopen  # guest name (bytes) of a preopened directory
        self.flags = 0  # fdflags
        self.listing = None  # fd_readdir snapshot, taken at cookie 0
