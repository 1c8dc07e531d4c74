//! Image files built byte by byte, for tests of what a decoder or a header
//! reader makes of them. Shared by the tests of `stylize` (through
//! `common`) and of `stylize-frames` (by path), so it uses no crate.
#![allow(dead_code)]

/// A PNG of a few bytes whose header claims `w` x `h` pixels and whose
/// data is empty: it cannot be decoded, only its header read.
pub fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for b in bytes {
            c ^= u32::from(*b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(b"IHDR", &ihdr);
    // An empty zlib stream: enough for the decoder to start.
    chunk(
        b"IDAT",
        &[0x78, 0x01, 0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 1],
    );
    chunk(b"IEND", &[]);
    out
}

/// `jpeg` with an EXIF APP1 segment holding only an orientation tag.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    exif.extend(1u16.to_be_bytes()); // one entry
    exif.extend(0x0112u16.to_be_bytes()); // Orientation
    exif.extend(3u16.to_be_bytes()); // SHORT
    exif.extend(1u32.to_be_bytes()); // one value
    exif.extend(orientation.to_be_bytes());
    exif.extend([0, 0]); // padding of the 4-byte value field
    exif.extend(0u32.to_be_bytes()); // no next IFD
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend([0xff, 0xe1]);
    out.extend((exif.len() as u16 + 2).to_be_bytes());
    out.extend(exif);
    out.extend(&jpeg[2..]);
    out
}
