#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Fixtures are built here from tiny real images (a 3×2 JPEG, lossless and
//! lossy WebP written by libjpeg/libwebp; a hand-made 3×2 PNG) with metadata
//! injected around them.

use media::{ImageError, ImageKind, MAX_DIMENSION, Sanitized, sanitize, sniff};

const MAX: usize = 1 << 20;

// ---------------------------------------------------------------- fixtures

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A 3×2 grey baseline JPEG (JFIF, one DQT, two DHT, SOF0, SOS, EOI).
fn jpeg() -> Vec<u8> {
    hex(concat!(
        "ffd8ffe000104a46494600010100000100010000",
        "ffdb004300100b0c0e0c0a100e0d0e1211101318281a181616183123251d283a333d3c",
        "3933383740485c4e404457453738506d51575f626768673e4d71797064785c656763",
        "ffc0000b080002000301011100",
        "ffc40014000100000000000000000000000000000000",
        "ffc40014100100000000000000000000000000000000",
        "ffda0008010100003f003fffd9",
    ))
}

fn jpeg_segment(marker: u8, body: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
    s.extend_from_slice(body);
    s
}

/// Position of the first `FF marker` in a JPEG.
fn find_marker(b: &[u8], marker: u8) -> usize {
    b.windows(2).position(|w| w == [0xFF, marker]).unwrap()
}

/// [`jpeg`] with a thumbnail in its JFIF header, EXIF (with GPS), XMP, IPTC,
/// a comment before and after the scan, and data appended after the end.
fn jpeg_with_metadata() -> Vec<u8> {
    let clean = jpeg();
    let mut jfif = b"JFIF\0\x01\x01\0\0\x01\0\x01\x01\x01".to_vec();
    jfif.extend_from_slice(b"THB"); // a 1×1 RGB thumbnail
    let mut exif = b"Exif\0\0MM\0*\0\0\0\x08".to_vec();
    exif.extend_from_slice(b"GPSLatitude 48.8584 GPSLongitude 2.2945 Canon EOS");
    let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>secret-xmp</x:xmpmeta>";
    let iptc = b"Photoshop 3.0\08BIM\x04\x04iptc-byline";

    let mut out = clean[..2].to_vec();
    out.extend(jpeg_segment(0xE0, &jfif));
    out.extend(jpeg_segment(0xE1, &exif));
    out.extend(jpeg_segment(0xE1, xmp));
    out.extend(jpeg_segment(0xED, iptc));
    out.extend(jpeg_segment(0xFE, b"early-comment"));
    // the original after its 20-byte JFIF segment, up to EOI
    let eoi = clean.len() - 2;
    out.extend_from_slice(&clean[20..eoi]);
    out.extend(jpeg_segment(0xFE, b"late-comment"));
    out.extend_from_slice(&clean[eoi..]);
    out.extend_from_slice(b"\xFF\xD8\xFF\xE1appended-image-with-GPS");
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    c.extend_from_slice(kind);
    c.extend_from_slice(data);
    let crc = crc32(&c[4..]);
    c.extend_from_slice(&crc.to_be_bytes());
    c
}

fn ihdr(width: u32, height: u32) -> Vec<u8> {
    let mut h = width.to_be_bytes().to_vec();
    h.extend_from_slice(&height.to_be_bytes());
    h.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit grey, deflate, no interlace
    png_chunk(b"IHDR", &h)
}

/// A zlib stream holding `raw` in one stored (uncompressed) deflate block.
fn zlib_stored(raw: &[u8]) -> Vec<u8> {
    let len = u16::try_from(raw.len()).unwrap();
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend_from_slice(&len.to_le_bytes());
    z.extend_from_slice(&(!len).to_le_bytes());
    z.extend_from_slice(raw);
    let (mut a, mut b) = (1u32, 0u32);
    for &x in raw {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    z
}

/// A 3×2 grey PNG, with `extra` chunks between IHDR and IDAT.
fn png_with(extra: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(ihdr(3, 2));
    for chunk in extra {
        out.extend_from_slice(chunk);
    }
    // each row: filter type 0, then 3 grey samples
    out.extend(png_chunk(
        b"IDAT",
        &zlib_stored(&[0, 10, 20, 30, 0, 40, 50, 60]),
    ));
    out.extend(png_chunk(b"IEND", b""));
    out
}

fn png() -> Vec<u8> {
    png_with(&[])
}

fn png_with_metadata() -> Vec<u8> {
    let mut exif = b"MM\0*\0\0\0\x08".to_vec();
    exif.extend_from_slice(b"GPSLatitude 48.8584");
    let mut out = png_with(&[
        png_chunk(b"gAMA", &45455u32.to_be_bytes()),
        png_chunk(b"tEXt", b"Author\0Jane Doe"),
        png_chunk(b"zTXt", b"Comment\0\0not-really-compressed"),
        png_chunk(
            b"iTXt",
            b"XML:com.adobe.xmp\0\0\0\0\0<x:xmpmeta>secret-xmp</x:xmpmeta>",
        ),
        png_chunk(b"eXIf", &exif),
        png_chunk(b"tIME", &[0x07, 0xE9, 1, 2, 3, 4, 5]),
        png_chunk(b"prVt", b"private-chunk"),
    ]);
    out.extend_from_slice(b"appended-after-IEND");
    out
}

/// A 3×2 lossless WebP (simple format: RIFF, VP8L).
fn webp_lossless() -> Vec<u8> {
    hex("524946461e000000574542505650384c110000002f024000000750852257a1ff8188e87f0000")
}

/// A 3×2 lossy WebP (simple format: RIFF, VP8).
fn webp_lossy() -> Vec<u8> {
    hex(concat!(
        "524946463800000057454250565038202c0000009001009d012a0300020002c04c25",
        "a00274ba00039800feef9ac7d0a36512a97ff49b3fe26cff89b3e3980000",
    ))
}

fn riff_chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = id.to_vec();
    c.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    c.extend_from_slice(data);
    if data.len() % 2 == 1 {
        c.push(0);
    }
    c
}

fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = chunks.concat();
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&u32::try_from(body.len() + 4).unwrap().to_le_bytes());
    out.extend_from_slice(b"WEBP");
    out.extend(body);
    out
}

fn vp8x(flags: u8, width: u32, height: u32) -> Vec<u8> {
    let mut d = vec![flags, 0, 0, 0];
    d.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
    d.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
    riff_chunk(b"VP8X", &d)
}

/// The VP8L chunk (header and data) of [`webp_lossless`].
fn vp8l_chunk() -> Vec<u8> {
    webp_lossless()[12..].to_vec()
}

/// [`webp_lossless`] in the extended format with EXIF (GPS) and XMP chunks
/// and their VP8X flags set, plus trailing bytes after the RIFF container.
fn webp_with_metadata() -> Vec<u8> {
    let mut exif = b"Exif\0\0MM\0*\0\0\0\x08".to_vec();
    exif.extend_from_slice(b"GPSLatitude 48.8584");
    let mut out = riff(&[
        vp8x(0x08 | 0x04, 3, 2),
        vp8l_chunk(),
        riff_chunk(b"EXIF", &exif),
        riff_chunk(b"XMP ", b"<x:xmpmeta>secret-xmp</x:xmpmeta>"),
        riff_chunk(b"prVt", b"private-chunk"),
    ]);
    out.extend_from_slice(b"appended");
    out
}

// ---------------------------------------------------------------- helpers

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn assert_clean(out: &Sanitized, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !contains(&out.bytes, secret.as_bytes()),
            "{secret:?} survived in {:?}",
            out.kind
        );
    }
}

fn ok(bytes: &[u8]) -> Sanitized {
    sanitize(bytes, MAX).unwrap()
}

fn is_corrupt(result: Result<Sanitized, ImageError>) -> bool {
    matches!(result, Err(ImageError::Corrupt(_)))
}

// ---------------------------------------------------------------- sniff

#[test]
fn sniff_recognises_each_format() {
    assert_eq!(sniff(&jpeg()), Some(ImageKind::Jpeg));
    assert_eq!(sniff(&png()), Some(ImageKind::Png));
    assert_eq!(sniff(&webp_lossless()), Some(ImageKind::Webp));
    assert_eq!(sniff(&webp_lossy()), Some(ImageKind::Webp));
    assert_eq!(sniff(&webp_with_metadata()), Some(ImageKind::Webp));
}

#[test]
fn sniff_rejects_other_content() {
    let samples: [&[u8]; 9] = [
        b"",
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>",
        b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n",
        b"just some text, named avatar.png",
        b"\xFF\xD8", // too short to tell
        b"\x89PNG",
        b"RIFF\x24\x00\x00\x00WAVEfmt ", // RIFF, but audio
        b"RIFF\x24\x00\x00\x00WEB",
    ];
    for sample in samples {
        assert_eq!(sniff(sample), None, "{sample:?}");
    }
}

#[test]
fn mime_and_extension() {
    let kinds = [ImageKind::Jpeg, ImageKind::Png, ImageKind::Webp];
    let mimes: Vec<_> = kinds.iter().map(|k| k.mime()).collect();
    let extensions: Vec<_> = kinds.iter().map(|k| k.extension()).collect();
    assert_eq!(mimes, ["image/jpeg", "image/png", "image/webp"]);
    assert_eq!(extensions, ["jpg", "png", "webp"]);
}

// ---------------------------------------------------------------- stripping

#[test]
fn jpeg_metadata_is_removed() {
    let dirty = jpeg_with_metadata();
    for marker in [
        "GPS",
        "Exif",
        "xmpmeta",
        "Photoshop",
        "comment",
        "THB",
        "appended",
    ] {
        assert!(
            contains(&dirty, marker.as_bytes()),
            "fixture lacks {marker}"
        );
    }
    let out = ok(&dirty);
    assert_clean(
        &out,
        &[
            "GPS",
            "Exif",
            "xmpmeta",
            "Photoshop",
            "comment",
            "THB",
            "appended",
        ],
    );
    assert_eq!((out.kind, out.width, out.height), (ImageKind::Jpeg, 3, 2));
    assert_eq!(sniff(&out.bytes), Some(ImageKind::Jpeg));
    // exactly the original file: JFIF header (without thumbnail), tables, scan
    assert_eq!(out.bytes, jpeg());
}

#[test]
fn jpeg_keeps_icc_and_adobe_segments() {
    let clean = jpeg();
    let icc = jpeg_segment(0xE2, b"ICC_PROFILE\0\x01\x01fake-profile");
    let adobe = jpeg_segment(0xEE, b"Adobe\0\x64\0\0\0\0\x01");
    let mpf = jpeg_segment(0xE2, b"MPF\0II*\0");
    let mut file = clean[..20].to_vec();
    for segment in [&icc, &mpf, &adobe] {
        file.extend_from_slice(segment);
    }
    file.extend_from_slice(&clean[20..]);

    let out = ok(&file);
    assert!(contains(&out.bytes, &icc));
    assert!(contains(&out.bytes, &adobe));
    assert!(!contains(&out.bytes, b"MPF"));
}

#[test]
fn png_metadata_is_removed() {
    let out = ok(&png_with_metadata());
    assert_clean(
        &out,
        &[
            "tEXt", "zTXt", "iTXt", "eXIf", "tIME", "prVt", "Jane", "GPS", "xmpmeta", "appended",
        ],
    );
    assert_eq!((out.kind, out.width, out.height), (ImageKind::Png, 3, 2));
    assert_eq!(sniff(&out.bytes), Some(ImageKind::Png));
    // the rendering chunk stays, the rest is the original file
    let gama = png_chunk(b"gAMA", &45455u32.to_be_bytes());
    assert_eq!(out.bytes, png_with(&[gama]));
}

#[test]
fn webp_metadata_is_removed_and_flags_fixed() {
    let out = ok(&webp_with_metadata());
    assert_clean(
        &out,
        &["EXIF", "Exif", "GPS", "XMP", "xmpmeta", "prVt", "appended"],
    );
    assert_eq!((out.kind, out.width, out.height), (ImageKind::Webp, 3, 2));
    assert_eq!(sniff(&out.bytes), Some(ImageKind::Webp));
    // VP8X without the EXIF and XMP flags, then the untouched bitstream
    assert_eq!(out.bytes, riff(&[vp8x(0, 3, 2), vp8l_chunk()]));
}

#[test]
fn webp_keeps_icc_with_its_flag() {
    let file = riff(&[
        vp8x(0x20 | 0x08, 3, 2),
        riff_chunk(b"ICCP", b"fake-profile"),
        vp8l_chunk(),
        riff_chunk(b"EXIF", b"GPS"),
    ]);
    let out = ok(&file);
    let expected = riff(&[
        vp8x(0x20, 3, 2),
        riff_chunk(b"ICCP", b"fake-profile"),
        vp8l_chunk(),
    ]);
    assert_eq!(out.bytes, expected);
}

#[test]
fn clean_images_pass_unchanged() {
    for (file, kind) in [
        (jpeg(), ImageKind::Jpeg),
        (png(), ImageKind::Png),
        (webp_lossless(), ImageKind::Webp),
        (webp_lossy(), ImageKind::Webp),
    ] {
        let out = ok(&file);
        assert_eq!(out.bytes, file, "{kind:?}");
        assert_eq!((out.kind, out.width, out.height), (kind, 3, 2));
    }
}

#[test]
fn sanitizing_twice_changes_nothing() {
    for file in [
        jpeg_with_metadata(),
        png_with_metadata(),
        webp_with_metadata(),
    ] {
        let once = ok(&file);
        assert_eq!(ok(&once.bytes), once);
    }
}

// ---------------------------------------------------------------- refusals

#[test]
fn text_named_as_an_image_is_not_an_image() {
    for text in [
        &b"hello, I am avatar.png"[..],
        b"%PDF-1.4\n1 0 obj",
        b"",
        b"\0\0\0\x18ftypmp42", // an MP4 video
    ] {
        assert_eq!(sanitize(text, MAX), Err(ImageError::NotAnImage), "{text:?}");
    }
}

#[test]
fn other_image_formats_are_unsupported() {
    let cases: [(&[u8], &str); 5] = [
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "GIF"),
        (
            b"\xEF\xBB\xBF\n  <svg xmlns='http://www.w3.org/2000/svg'/>",
            "SVG",
        ),
        (b"<?xml version='1.0'?>\n<!-- x -->\n<SVG/>", "SVG"),
        (b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "HEIF"),
        (b"\0\0\0\x1cftypavif\0\0\0\0avifmif1", "AVIF"),
    ];
    for (file, format) in cases {
        assert_eq!(sanitize(file, MAX), Err(ImageError::Unsupported(format)));
    }
}

#[test]
fn too_large_is_refused_before_parsing() {
    let file = png();
    assert_eq!(
        sanitize(&file, file.len() - 1),
        Err(ImageError::TooLarge {
            max: file.len() - 1
        })
    );
    assert!(sanitize(&file, file.len()).is_ok());
    assert_eq!(
        sanitize(b"not even an image", 4),
        Err(ImageError::TooLarge { max: 4 })
    );
}

#[test]
fn truncated_images_are_corrupt() {
    for file in [
        jpeg(),
        jpeg_with_metadata(),
        png(),
        webp_lossless(),
        webp_lossy(),
        webp_with_metadata(),
    ] {
        // every cut that keeps the signature; the metadata fixtures carry
        // trailing bytes, which may be cut without harm
        let end = match sniff(&file) {
            Some(ImageKind::Jpeg) => find_marker(&file, 0xD9),
            Some(ImageKind::Png) => file.len(),
            _ => file.len() - usize::from(file.ends_with(b"appended")) * 8,
        };
        for cut in 12..end {
            let result = sanitize(&file[..cut], MAX);
            assert!(is_corrupt(result.clone()), "cut at {cut}: {result:?}");
        }
    }
}

#[test]
fn huge_dimensions_are_refused() {
    let huge = |w: u32, h: u32| {
        let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
        file.extend(ihdr(w, h));
        file.extend(png_chunk(b"IDAT", &zlib_stored(&[0])));
        file.extend(png_chunk(b"IEND", b""));
        sanitize(&file, MAX)
    };
    let refused = Err(ImageError::Unsupported("dimensions over 8000×8000 pixels"));
    assert_eq!(huge(100_000, 100_000), refused);
    assert_eq!(huge(MAX_DIMENSION + 1, 1), refused);
    assert_eq!(huge(1, MAX_DIMENSION + 1), refused);
    assert!(is_corrupt(huge(0, 1)));

    let webp = riff(&[vp8x(0, 20_000, 20_000), vp8l_chunk()]);
    assert!(sanitize(&webp, MAX).is_err());
}

#[test]
fn malformed_structures_are_corrupt() {
    // PNG with a wrong CRC
    let mut bad_crc = png();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 1;
    assert!(is_corrupt(sanitize(&bad_crc, MAX)));

    // PNG whose first chunk isn't IHDR, or with an unknown critical chunk
    let mut no_ihdr = b"\x89PNG\r\n\x1a\n".to_vec();
    no_ihdr.extend(png_chunk(b"IEND", b""));
    assert!(is_corrupt(sanitize(&no_ihdr, MAX)));
    assert!(is_corrupt(sanitize(
        &png_with(&[png_chunk(b"ZZZZ", b"")]),
        MAX
    )));

    // JPEG with a zero height (given by a DNL segment, which isn't supported)
    let mut zero = jpeg();
    let sof = find_marker(&zero, 0xC0);
    zero[sof + 5..sof + 7].copy_from_slice(&[0, 0]);
    assert!(is_corrupt(sanitize(&zero, MAX)));

    // JPEG without a scan
    let mut no_scan = jpeg();
    let sos = find_marker(&no_scan, 0xDA);
    no_scan.truncate(sos);
    no_scan.extend_from_slice(&[0xFF, 0xD9]);
    assert!(is_corrupt(sanitize(&no_scan, MAX)));

    // WebP whose canvas disagrees with its bitstream
    let webp = riff(&[vp8x(0, 4, 2), vp8l_chunk()]);
    assert!(is_corrupt(sanitize(&webp, MAX)));

    // WebP with no bitstream
    let webp = riff(&[vp8x(0, 3, 2), riff_chunk(b"EXIF", b"GPS")]);
    assert!(is_corrupt(sanitize(&webp, MAX)));
}

#[test]
fn animations_and_exotic_jpegs_are_unsupported() {
    let apng = png_with(&[png_chunk(b"acTL", &[0, 0, 0, 1, 0, 0, 0, 0])]);
    assert_eq!(
        sanitize(&apng, MAX),
        Err(ImageError::Unsupported("animated PNG"))
    );

    let animated = riff(&[vp8x(0x02, 3, 2), riff_chunk(b"ANIM", &[0; 6])]);
    assert_eq!(
        sanitize(&animated, MAX),
        Err(ImageError::Unsupported("animated WebP"))
    );

    // the same JPEG, declared arithmetic-coded (SOF9)
    let mut arithmetic = jpeg();
    let sof = find_marker(&arithmetic, 0xC0);
    arithmetic[sof + 1] = 0xC9;
    assert!(matches!(
        sanitize(&arithmetic, MAX),
        Err(ImageError::Unsupported(_))
    ));
}

#[test]
fn damaged_bytes_never_panic_and_never_leak() {
    // overwrite each byte with a few values; whatever comes out must be a
    // clean image of the same kind, or an error
    for file in [
        jpeg_with_metadata(),
        png_with_metadata(),
        webp_with_metadata(),
    ] {
        let kind = sniff(&file);
        for i in 0..file.len() {
            for value in [0x00, 0xFF, 0xD9, 0x7F, file[i] ^ 0x01] {
                let mut damaged = file.clone();
                damaged[i] = value;
                if let Ok(out) = sanitize(&damaged, MAX) {
                    assert_eq!(Some(out.kind), kind);
                    assert_eq!(sniff(&out.bytes), kind);
                    assert!(out.bytes.len() <= damaged.len());
                    assert!(
                        !contains(&out.bytes, b"GPS"),
                        "GPS leaked at {i}={value:#x}"
                    );
                    assert!(!contains(&out.bytes, b"xmpmeta"));
                }
            }
        }
    }
}
