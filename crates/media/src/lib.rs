//! Validation and metadata stripping for uploaded images.
//!
//! Uploads are recognised by their bytes only ([`sniff`]), never by file name
//! or declared content type, and [`sanitize`] then checks the container
//! structure and header dimensions and rewrites the file without its metadata.
//! Nothing is decoded or re-encoded: pixel data is copied as it is, so quality
//! is untouched and the work is proportional to the file size.
//!
//! What is kept, per format (everything else is dropped):
//!
//! - **JPEG**: the segments needed to decode (frame and scan headers,
//!   quantisation, Huffman and arithmetic tables, restart interval), the
//!   entropy-coded data, the JFIF `APP0` header (its thumbnail removed), the
//!   Adobe `APP14` segment (it tells decoders the colour transform) and the
//!   ICC profile (`APP2 ICC_PROFILE`). Dropped: every other `APPn` segment
//!   (EXIF and its GPS data, XMP, IPTC/Photoshop, MPF, maker data), comments,
//!   and anything after the end-of-image marker (appended MPF images, with
//!   their own EXIF, or other files).
//! - **PNG**: the critical chunks and the chunks that affect rendering
//!   (`tRNS`, `gAMA`, `cHRM`, `sRGB`, `iCCP`, `sBIT`, `bKGD`, `pHYs`, `cICP`,
//!   `mDCV`, `cLLI`). Dropped: `tEXt`, `zTXt`, `iTXt`, `eXIf`, `tIME`,
//!   `hIST`, `sPLT`, private chunks, and anything after `IEND`.
//! - **WebP**: `VP8X` (its flags rewritten to match), `ICCP`, `ALPH` and the
//!   `VP8`/`VP8L` bitstream. Dropped: `EXIF`, `XMP ` and unknown chunks, and
//!   anything after the RIFF container.
//!
//! The ICC colour profile is kept on purpose: dropping it would shift the
//! colours of wide-gamut photos, and it describes a colour space, not the
//! person or the device that took the picture.
//!
//! Animated images (APNG, animated WebP) are refused as unsupported.

mod jpeg;
mod png;
mod webp;

/// The largest width and height, in pixels, that [`sanitize`] accepts.
pub const MAX_DIMENSION: u32 = 8000;

/// An image format accepted for upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    /// JPEG (baseline, extended sequential or progressive, Huffman-coded).
    Jpeg,
    /// PNG (still images).
    Png,
    /// WebP (lossy or lossless, still images).
    Webp,
}

impl ImageKind {
    /// The media type to serve the image with: `image/jpeg`, `image/png` or
    /// `image/webp`.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    /// The usual file extension, without the dot: `jpg`, `png` or `webp`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }
}

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The upload is bigger than the allowed number of bytes.
    #[error("the image is larger than {max} bytes")]
    TooLarge {
        /// The limit that was exceeded, in bytes.
        max: usize,
    },
    /// The bytes are not recognised as an image at all (text, PDF, video…).
    #[error("not a JPEG, PNG or WebP image")]
    NotAnImage,
    /// A recognised image that is not accepted: another format (`"GIF"`,
    /// `"SVG"`, `"HEIF"`…), an animation, a JPEG variant browsers don't
    /// decode, or dimensions over [`MAX_DIMENSION`].
    #[error("unsupported image: {0}")]
    Unsupported(&'static str),
    /// A JPEG, PNG or WebP signature whose structure doesn't parse:
    /// truncated, bad checksums, malformed headers, zero dimensions.
    #[error("corrupt image: {0}")]
    Corrupt(String),
}

/// An image that passed [`sanitize`]: validated and stripped of metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sanitized {
    /// The rewritten file, never longer than the upload.
    pub bytes: Vec<u8>,
    /// The format, as recognised from the content.
    pub kind: ImageKind,
    /// Width in pixels, from the image header.
    pub width: u32,
    /// Height in pixels, from the image header.
    pub height: u32,
}

/// Recognises a JPEG, PNG or WebP by its magic bytes only (never by file
/// name or declared content type).
///
/// This only looks at the first bytes: use [`sanitize`] to check that the
/// rest of the file parses.
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else if bytes.starts_with(png::SIGNATURE) {
        Some(ImageKind::Png)
    } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes[8..12] == *b"WEBP" {
        Some(ImageKind::Webp)
    } else {
        None
    }
}

/// Validates an upload and returns it stripped of its metadata.
///
/// The upload must be at most `max` bytes, a JPEG, PNG or WebP by content
/// whose container structure parses, and its header must give dimensions
/// between 1 and [`MAX_DIMENSION`] on each side. The metadata listed in the
/// [crate documentation](crate) is removed without re-encoding the pixels.
///
/// # Errors
///
/// [`ImageError::TooLarge`] when over `max` bytes, [`ImageError::NotAnImage`]
/// when the content isn't recognised, [`ImageError::Unsupported`] for other
/// image formats, animations and oversized dimensions, and
/// [`ImageError::Corrupt`] when the structure doesn't parse.
pub fn sanitize(bytes: &[u8], max: usize) -> Result<Sanitized, ImageError> {
    if bytes.len() > max {
        return Err(ImageError::TooLarge { max });
    }
    let (kind, out) = match sniff(bytes) {
        Some(ImageKind::Jpeg) => (ImageKind::Jpeg, jpeg::sanitize(bytes)?),
        Some(ImageKind::Png) => (ImageKind::Png, png::sanitize(bytes)?),
        Some(ImageKind::Webp) => (ImageKind::Webp, webp::sanitize(bytes)?),
        None => {
            return Err(match sniff_unsupported(bytes) {
                Some(format) => ImageError::Unsupported(format),
                None => ImageError::NotAnImage,
            });
        }
    };
    check_dimensions(out.width, out.height)?;
    Ok(Sanitized {
        bytes: out.bytes,
        kind,
        width: out.width,
        height: out.height,
    })
}

/// What a format module hands back: the rewritten bytes and the dimensions.
struct Stripped {
    bytes: Vec<u8>,
    width: u32,
    height: u32,
}

fn check_dimensions(width: u32, height: u32) -> Result<(), ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::Corrupt(format!(
            "the header gives {width}×{height} pixels"
        )));
    }
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(ImageError::Unsupported("dimensions over 8000×8000 pixels"));
    }
    Ok(())
}

fn corrupt(message: impl Into<String>) -> ImageError {
    ImageError::Corrupt(message.into())
}

/// Names image formats that are recognised but not accepted, so that the
/// user gets a better message than "not an image".
fn sniff_unsupported(bytes: &[u8]) -> Option<&'static str> {
    let at =
        |offset: usize, magic: &[u8]| bytes.get(offset..).is_some_and(|b| b.starts_with(magic));
    if at(0, b"GIF87a") || at(0, b"GIF89a") {
        return Some("GIF");
    }
    if at(0, b"II*\0") || at(0, b"MM\0*") {
        return Some("TIFF");
    }
    if at(0, b"BM")
        && bytes
            .get(14..18)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .is_some_and(|size| matches!(size, 12 | 40 | 52 | 56 | 64 | 108 | 124))
    {
        return Some("BMP");
    }
    if at(0, &[0xFF, 0x0A]) || at(0, b"\0\0\0\x0cJXL \r\n\x87\n") {
        return Some("JPEG XL");
    }
    if at(0, b"\0\0\0\x0cjP  \r\n\x87\n") || at(0, &[0xFF, 0x4F, 0xFF, 0x51]) {
        return Some("JPEG 2000");
    }
    if at(0, &[0, 0, 1, 0]) && bytes.len() >= 22 && bytes[4..6] != [0, 0] {
        return Some("ICO");
    }
    if at(4, b"ftyp") {
        return match bytes.get(8..12) {
            Some(b"avif" | b"avis") => Some("AVIF"),
            Some(b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1") => {
                Some("HEIF")
            }
            // other ISO media files are videos, not images
            _ => None,
        };
    }
    if looks_like_svg(bytes) {
        return Some("SVG");
    }
    None
}

/// An XML-ish text whose first kilobytes contain an `<svg` element.
fn looks_like_svg(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let head = &bytes[start..bytes.len().min(start + 4096)];
    head.first() == Some(&b'<') && head.windows(4).any(|w| w.eq_ignore_ascii_case(b"<svg"))
}
