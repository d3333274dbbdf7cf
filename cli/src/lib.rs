//! What the `pairdist` and `pairdist-bench` binaries share beside the library: reading points
//! from `.npy` and text files or standard input, and outputs written atomically
//! ([`io`]). Not a public API: the binaries are its only users.

pub mod io;
