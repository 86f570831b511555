//! PNG: parsed with `img-parts` (which checks every chunk's CRC and stops at
//! `IEND`), then filtered through a list of chunks that are kept.

use img_parts::Bytes;
use img_parts::png::{Png, PngChunk};

use crate::{ImageError, Stripped, corrupt};

/// The 8-byte PNG signature.
pub(crate) const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Ancillary chunks that affect how the image looks; every other ancillary
/// chunk (text, EXIF, time, private chunks…) is dropped.
const KEPT_ANCILLARY: [&[u8; 4]; 11] = [
    b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD", b"pHYs", b"cICP", b"mDCV",
    b"cLLI",
];

/// Rewrites a PNG (starting with its signature) without its metadata.
pub(crate) fn sanitize(bytes: &[u8]) -> Result<Stripped, ImageError> {
    let mut png =
        Png::from_bytes(Bytes::copy_from_slice(bytes)).map_err(|e| corrupt(format!("PNG: {e}")))?;

    let chunks = png.chunks();
    let Some(ihdr) = chunks.first().filter(|c| &c.kind() == b"IHDR") else {
        return Err(corrupt("PNG does not start with an IHDR chunk"));
    };
    let (width, height, color_type) = header(ihdr.contents())?;
    if chunks.last().is_none_or(|c| &c.kind() != b"IEND") {
        return Err(corrupt("PNG truncated: no IEND chunk"));
    }

    let mut kept: Vec<PngChunk> = Vec::with_capacity(chunks.len());
    let (mut has_plte, mut has_idat) = (false, false);
    for chunk in chunks {
        let kind = chunk.kind();
        match &kind {
            b"IHDR" if !kept.is_empty() => return Err(corrupt("PNG with two IHDR chunks")),
            b"PLTE" => has_plte = true,
            b"IDAT" => has_idat = true,
            b"IHDR" | b"IEND" => {}
            b"acTL" | b"fcTL" | b"fdAT" => return Err(ImageError::Unsupported("animated PNG")),
            // a critical chunk (upper-case first letter) decoders don't know
            _ if kind[0].is_ascii_uppercase() => {
                let name = String::from_utf8_lossy(&kind);
                return Err(corrupt(format!(
                    "PNG with an unknown critical chunk {name}"
                )));
            }
            _ if KEPT_ANCILLARY.contains(&&kind) => {}
            _ => continue,
        }
        kept.push(chunk.clone());
    }
    if !has_idat {
        return Err(corrupt("PNG without image data"));
    }
    if color_type == 3 && !has_plte {
        return Err(corrupt("palette PNG without a PLTE chunk"));
    }

    *png.chunks_mut() = kept;
    let mut out = Vec::with_capacity(png.len());
    for piece in png.encoder() {
        out.extend_from_slice(&piece);
    }
    Ok(Stripped {
        bytes: out,
        width,
        height,
    })
}

/// Width, height and colour type from an IHDR chunk, checking the fields
/// that must hold fixed or paired values.
fn header(ihdr: &[u8]) -> Result<(u32, u32, u8), ImageError> {
    let &[
        w3,
        w2,
        w1,
        w0,
        h3,
        h2,
        h1,
        h0,
        depth,
        color_type,
        compression,
        filter,
        interlace,
    ] = ihdr
    else {
        return Err(corrupt("PNG IHDR chunk is not 13 bytes"));
    };
    let depth_ok = match color_type {
        0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(depth, 8 | 16),
        _ => false,
    };
    if !depth_ok || compression != 0 || filter != 0 || interlace > 1 {
        return Err(corrupt("PNG IHDR chunk has invalid values"));
    }
    let width = u32::from_be_bytes([w3, w2, w1, w0]);
    let height = u32::from_be_bytes([h3, h2, h1, h0]);
    Ok((width, height, color_type))
}
