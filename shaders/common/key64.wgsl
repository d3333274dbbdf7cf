// Sort keys of float64 distances, for the answers' epilogues (select.wgsl, filter.wgsl): as
// key32.wgsl, on the 64 bits of an f64 (needs SHADER_INT64 beside SHADER_F64).

alias real = f64;
alias key = u64;

const NO_KEY: key = 0xfffffffffffffffflu;
const NAN_KEY: key = 0x7ff8000000000000lu;

fn key_of(v: real) -> key {
    let bits = bitcast<u64>(v);
    if (bits & 0x7ffffffffffffffflu) > 0x7ff0000000000000lu {
        return NAN_KEY;
    }
    if bits == 0x8000000000000000lu {
        return 0lu;
    }
    return bits;
}

fn key_from(lo: u32, hi: u32) -> key {
    return (u64(hi) << 32u) | u64(lo);
}
