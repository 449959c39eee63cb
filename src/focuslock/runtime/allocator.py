"""The process's memory allocator, tuned for long live sessions (glibc only).

A program that runs live view for hours (the ``focuslock`` command) calls
:func:`tune_allocator` once at its start; a library constructor never retunes the host's
allocator.
"""

from __future__ import annotations

__all__ = ["LARGE_BUFFER_BYTES", "MALLOC_ARENAS", "tune_allocator"]

# Frames, caches and captures above this size are mapped from the system and handed back
# when freed (glibc; see tune_allocator).
LARGE_BUFFER_BYTES = 1 << 20
# glibc heaps for the whole process (its default: 8 per core, one per allocating thread).
MALLOC_ARENAS = 2


def tune_allocator() -> None:
    """Fix glibc's mmap threshold, and its number of heaps, for the process.

    glibc maps blocks above 128 KB straight from the system, but raises that threshold
    each time such a block is freed (up to 32 MB): after the first few frames, new
    frames, a reconnected bench's caches and 24 MP captures come from the heap, whose
    holes do not go back to the system. An hour of live view with reconnects and
    captures grew by 31 MB that way. With the threshold fixed at 1 MB it still grew by
    13 MB in 30 minutes with a capture a minute, and not at all without captures: each
    thread that allocates (camera, processing, downloads, OpenCV's pool) gets its own
    heap ("arena", up to 8 per core), and the capture thread's fragments stay in its
    own. Two arenas for the whole process: +5.5 MB in the same 30 minutes, samples flat
    within 3 MB (docs/RELIABILITY.md). A no-op where there is no glibc (macOS, Windows,
    musl). Calling it again changes nothing."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, LARGE_BUFFER_BYTES)  # M_MMAP_THRESHOLD
        libc.mallopt(-8, MALLOC_ARENAS)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass
