//! JPEG: a marker walk over the whole file, keeping what decoders need.
//!
//! `img-parts` isn't used here: it parses segments only up to the first scan
//! and keeps everything after it byte for byte, so segments between
//! progressive scans and data appended after the end-of-image marker (MPF
//! images with their own EXIF, or whole other files) would survive.

use crate::{ImageError, Stripped, corrupt};

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const APP0: u8 = 0xE0;
const APP2: u8 = 0xE2;
const APP14: u8 = 0xEE;

/// Rewrites a JPEG (starting with `FF D8`) without its metadata.
pub(crate) fn sanitize(b: &[u8]) -> Result<Stripped, ImageError> {
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&[0xFF, SOI]);
    let mut pos = 2;
    let mut frame: Option<(u32, u32)> = None;
    let mut scanned = false;
    let mut after_sos = false;

    loop {
        if after_sos {
            // entropy-coded data runs up to the first marker that is neither
            // a stuffed 0xFF (FF 00) nor a restart marker (FF D0..D7)
            let start = pos;
            pos = scan_end(b, pos)?;
            out.extend_from_slice(&b[start..pos]);
        } else {
            // bytes between segments are invalid; skip them like libjpeg does
            pos += b
                .get(pos..)
                .and_then(|rest| rest.iter().position(|&x| x == 0xFF))
                .ok_or_else(|| corrupt("JPEG truncated: no end-of-image marker"))?;
        }
        // fill bytes (FF FF …) may precede a marker
        while b.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *b
            .get(pos + 1)
            .ok_or_else(|| corrupt("JPEG truncated: no end-of-image marker"))?;
        pos += 2;
        after_sos = false;

        match marker {
            EOI => {
                if frame.is_none() || !scanned {
                    return Err(corrupt("JPEG without image data"));
                }
                out.extend_from_slice(&[0xFF, EOI]);
                break;
            }
            // markers without a length: none is valid here
            0x00..=0x01 | 0xD0..=SOI => {
                return Err(corrupt(format!("unexpected JPEG marker FF{marker:02X}")));
            }
            _ => {}
        }

        let len = b
            .get(pos..pos + 2)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
            .ok_or_else(|| corrupt("JPEG truncated in a segment header"))?;
        if len < 2 {
            return Err(corrupt("JPEG segment with an invalid length"));
        }
        let end = pos + len;
        let body = b
            .get(pos + 2..end)
            .ok_or_else(|| corrupt("JPEG truncated in a segment"))?;
        let segment = &b[pos - 2..end];
        pos = end;

        match marker {
            // baseline, extended sequential and progressive Huffman frames
            0xC0..=0xC2 => {
                if frame.is_some() {
                    return Err(corrupt("JPEG with more than one frame header"));
                }
                frame = Some(frame_dimensions(body)?);
                out.extend_from_slice(segment);
            }
            // lossless, hierarchical (incl. DHP, EXP) and arithmetic-coded
            // frames: valid JPEG, but browsers don't decode them
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF | 0xDE | 0xDF => {
                return Err(ImageError::Unsupported(
                    "lossless, hierarchical or arithmetic-coded JPEG",
                ));
            }
            SOS => {
                if frame.is_none() {
                    return Err(corrupt("JPEG scan before the frame header"));
                }
                scanned = true;
                after_sos = true;
                out.extend_from_slice(segment);
            }
            // DHT, DAC, DQT, DNL, DRI: tables the decoder needs
            0xC4 | 0xCC | 0xDB..=0xDD => out.extend_from_slice(segment),
            APP0 => {
                // keep JFIF (pixel density, colour space hint) without its thumbnail
                if let Some(header) = body.get(..12).filter(|h| h.starts_with(b"JFIF\0")) {
                    out.extend_from_slice(&[0xFF, APP0, 0, 16]);
                    out.extend_from_slice(header);
                    out.extend_from_slice(&[0, 0]);
                }
            }
            APP2 if body.starts_with(b"ICC_PROFILE\0") => out.extend_from_slice(segment),
            APP14 if body.starts_with(b"Adobe") => out.extend_from_slice(segment),
            // APP1..APP15 (EXIF, XMP, IPTC, MPF, maker notes…), JPGn, COM
            0xE1..=0xFE => {}
            // JPG (C8) and reserved markers
            _ => return Err(corrupt(format!("unexpected JPEG marker FF{marker:02X}"))),
        }
    }

    let (width, height) = frame.ok_or_else(|| corrupt("JPEG without a frame header"))?;
    Ok(Stripped {
        bytes: out,
        width,
        height,
    })
}

/// The position of the `FF` that starts the marker ending the entropy-coded
/// data from `pos`.
fn scan_end(b: &[u8], mut pos: usize) -> Result<usize, ImageError> {
    loop {
        let ff = b
            .get(pos..)
            .and_then(|rest| rest.iter().position(|&x| x == 0xFF))
            .map(|i| pos + i)
            .ok_or_else(|| corrupt("JPEG truncated in the image data"))?;
        match b.get(ff + 1) {
            Some(0x00 | 0xD0..=0xD7) => pos = ff + 2,
            Some(_) => return Ok(ff),
            None => return Err(corrupt("JPEG truncated in the image data")),
        }
    }
}

/// Width and height from a SOF0..SOF2 body: precision, height, width,
/// components, then 3 bytes per component.
fn frame_dimensions(body: &[u8]) -> Result<(u32, u32), ImageError> {
    let &[precision, h1, h0, w1, w0, components, ..] = body else {
        return Err(corrupt("JPEG frame header too short"));
    };
    if body.len() != 6 + 3 * usize::from(components) || !(1..=4).contains(&components) {
        return Err(corrupt("malformed JPEG frame header"));
    }
    if precision != 8 {
        return Err(ImageError::Unsupported(
            "JPEG with more than 8 bits per sample",
        ));
    }
    let height = u32::from(u16::from_be_bytes([h1, h0]));
    let width = u32::from(u16::from_be_bytes([w1, w0]));
    Ok((width, height))
}
