// The answers' epilogues (select.wgsl, filter.wgsl) on float32 distances: the element type,
// and the distances' sort keys.
//
// A distance's key is its bits: for the non-negative floats that distances are, the bits order
// as the values do, with +inf after every number. NaN becomes one canonical NaN, ordered after
// +inf, and -0 becomes +0, so keys compare as integers in exactly the host's order (smaller
// distance first, NaN last), whatever the GPU does with NaN in float compares.

alias real = f32;
alias key = u32;

// The key of "no candidate", after every real key (the bits of a negative NaN, which key_of
// never gives).
const NO_KEY: key = 0xffffffffu;
const NAN_KEY: key = 0x7fc00000u;

fn key_of(v: real) -> key {
    let bits = bitcast<u32>(v);
    if (bits & 0x7fffffffu) > 0x7f800000u {
        return NAN_KEY;
    }
    if bits == 0x80000000u {
        return 0u;
    }
    return bits;
}

// A key from the two words the host passes in a uniform block (the high one is 0 here).
fn key_from(lo: u32, hi: u32) -> key {
    return lo;
}
