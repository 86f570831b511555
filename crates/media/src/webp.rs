//! WebP: the RIFF container is parsed with `img-parts`, the chunks filtered
//! here, and the `VP8X` flags rewritten by hand (`img-parts` only updates
//! its ICC and EXIF bits, not the XMP one).

use img_parts::Bytes;
use img_parts::riff::{RiffChunk, RiffContent};
use img_parts::webp::{
    CHUNK_ALPH, CHUNK_ANIM, CHUNK_ANMF, CHUNK_ICCP, CHUNK_VP8, CHUNK_VP8L, CHUNK_VP8X, WebP,
};

use crate::{ImageError, Stripped, corrupt};

const FLAG_ICC: u8 = 0x20;
const FLAG_ALPHA: u8 = 0x10;
const FLAG_ANIMATION: u8 = 0x02;

/// Rewrites a WebP (starting with `RIFF....WEBP`) without its metadata.
pub(crate) fn sanitize(bytes: &[u8]) -> Result<Stripped, ImageError> {
    let mut webp = WebP::from_bytes(Bytes::copy_from_slice(bytes))
        .map_err(|e| corrupt(format!("WebP: {e}")))?;
    let chunks = webp.chunks();

    let data = |chunk: &RiffChunk| -> Result<Bytes, ImageError> {
        chunk
            .content()
            .data()
            .cloned()
            .ok_or_else(|| corrupt("WebP with a nested list chunk"))
    };
    let first = chunks
        .first()
        .ok_or_else(|| corrupt("WebP without chunks"))?;
    // the extended format's canvas size and flags, if any
    let extended = if first.id() == CHUNK_VP8X {
        let vp8x = data(first)?;
        let &[flags, _, _, _, w0, w1, w2, h0, h1, h2, ..] = &vp8x[..] else {
            return Err(corrupt("WebP VP8X chunk too short"));
        };
        if flags & FLAG_ANIMATION != 0 {
            return Err(ImageError::Unsupported("animated WebP"));
        }
        let canvas = (
            u32::from_le_bytes([w0, w1, w2, 0]) + 1,
            u32::from_le_bytes([h0, h1, h2, 0]) + 1,
        );
        Some((flags, canvas))
    } else {
        None
    };

    let mut kept: Vec<RiffChunk> = Vec::with_capacity(chunks.len());
    let mut size = None;
    let mut has_icc = false;
    for chunk in chunks {
        let id = chunk.id();
        if id == CHUNK_ANIM || id == CHUNK_ANMF {
            return Err(ImageError::Unsupported("animated WebP"));
        }
        if id == CHUNK_VP8 || id == CHUNK_VP8L {
            if size.is_some() {
                return Err(corrupt("WebP with more than one image bitstream"));
            }
            let bitstream = data(chunk)?;
            size = Some(if id == CHUNK_VP8 {
                vp8_size(&bitstream)?
            } else {
                vp8l_size(&bitstream)?
            });
        } else if extended.is_none() {
            // the simple format has the bitstream only
            continue;
        } else if id == CHUNK_ICCP {
            has_icc = true;
        } else if id != CHUNK_ALPH {
            // EXIF, "XMP " and unknown chunks (VP8X itself is rebuilt below)
            continue;
        }
        kept.push(chunk.clone());
    }
    let (width, height) = size.ok_or_else(|| corrupt("WebP without image data"))?;

    if let Some((flags, canvas)) = extended {
        if canvas != (width, height) {
            return Err(corrupt("WebP canvas and image sizes differ"));
        }
        // the 10-byte VP8X: flags, 3 reserved bytes, canvas size - 1 (24-bit LE)
        let mut vp8x = Vec::with_capacity(10);
        vp8x.push((flags & FLAG_ALPHA) | if has_icc { FLAG_ICC } else { 0 });
        vp8x.extend_from_slice(&[0; 3]);
        vp8x.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
        vp8x.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
        kept.insert(
            0,
            RiffChunk::new(CHUNK_VP8X, RiffContent::Data(vp8x.into())),
        );
    }

    *webp.chunks_mut() = kept;
    let mut out = Vec::with_capacity(webp.len() as usize);
    for piece in webp.encoder() {
        out.extend_from_slice(&piece);
    }
    Ok(Stripped {
        bytes: out,
        width,
        height,
    })
}

/// Size from a lossy (VP8) key frame header: 3-byte frame tag, start code
/// `9D 01 2A`, then 14-bit width and height.
fn vp8_size(b: &[u8]) -> Result<(u32, u32), ImageError> {
    let &[tag, _, _, 0x9D, 0x01, 0x2A, w0, w1, h0, h1, ..] = b else {
        return Err(corrupt("malformed WebP VP8 header"));
    };
    if tag & 1 != 0 {
        return Err(corrupt("WebP VP8 data does not start with a key frame"));
    }
    let width = u32::from(u16::from_le_bytes([w0, w1]) & 0x3FFF);
    let height = u32::from(u16::from_le_bytes([h0, h1]) & 0x3FFF);
    Ok((width, height))
}

/// Size from a lossless (VP8L) header: signature `2F`, then 14-bit width - 1,
/// 14-bit height - 1, alpha bit and a 3-bit version that must be 0.
fn vp8l_size(b: &[u8]) -> Result<(u32, u32), ImageError> {
    let &[0x2F, b0, b1, b2, b3, ..] = b else {
        return Err(corrupt("malformed WebP VP8L header"));
    };
    let bits = u32::from_le_bytes([b0, b1, b2, b3]);
    if bits >> 29 != 0 {
        return Err(corrupt("unknown WebP VP8L version"));
    }
    Ok(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
}
