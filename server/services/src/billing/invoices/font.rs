//! The fonts and the colour profile a PDF/A document embeds: Liberation Sans (regular and
//! bold, SIL Open Font License; metric-compatible with Helvetica, which the documents used
//! before) and the Little CMS sRGB profile, vendored in `assets/` with their licences.
//!
//! PDF/A wants every font a page draws with embedded, with widths that agree with the font
//! program and, for a TrueType font read through WinAnsiEncoding, a Microsoft Unicode (3,1)
//! `cmap` that reaches a glyph for every code drawn. Embedding the whole font would add
//! 400 KB to each invoice, so it is cut down twice:
//! - once per process, to the glyphs of the WinAnsi character set (what [`super::pdf`]
//!   prints, everything else being "?") and the glyphs they are built from: `glyf`, `loca`,
//!   `hmtx` and `cmap` are rebuilt for them; the names that say what the font is and whose it
//!   is are kept; hinting (its programs and each glyph's instructions) and layout tables
//!   (kerning, ligatures) go, as the documents do not use them;
//! - for each document, to the glyphs it draws: the others are left empty, keeping their
//!   numbers, so the `cmap`, the metrics and the PDF's widths are the same for every document.
//!   A document's subset is deflated once for each set of codes drawn (invoices mostly draw
//!   the same) and kept: an invoice's two fonts come to about 9 KB.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, LazyLock, Mutex},
};

/// Unicode of each WinAnsiEncoding code from 32 to 255; `None` for the five codes it leaves
/// undefined (and DEL), which [`super::pdf`] never writes.
pub fn win_ansi_char(code: u8) -> Option<char> {
    let c = match code {
        0x20..=0x7e | 0xa0..=0xff => char::from(code),
        0x80 => '\u{20ac}',
        0x82 => '\u{201a}',
        0x83 => '\u{0192}',
        0x84 => '\u{201e}',
        0x85 => '\u{2026}',
        0x86 => '\u{2020}',
        0x87 => '\u{2021}',
        0x88 => '\u{02c6}',
        0x89 => '\u{2030}',
        0x8a => '\u{0160}',
        0x8b => '\u{2039}',
        0x8c => '\u{0152}',
        0x8e => '\u{017d}',
        0x91 => '\u{2018}',
        0x92 => '\u{2019}',
        0x93 => '\u{201c}',
        0x94 => '\u{201d}',
        0x95 => '\u{2022}',
        0x96 => '\u{2013}',
        0x97 => '\u{2014}',
        0x98 => '\u{02dc}',
        0x99 => '\u{2122}',
        0x9a => '\u{0161}',
        0x9b => '\u{203a}',
        0x9c => '\u{0153}',
        0x9e => '\u{017e}',
        0x9f => '\u{0178}',
        _ => return None,
    };
    Some(c)
}

/// The WinAnsi code of `c`, where it has one.
pub fn win_ansi_code(c: char) -> Option<u8> {
    (0x20..=0xff).find(|code| win_ansi_char(*code) == Some(c))
}

/// The first and last codes a document's fonts describe.
pub const FIRST_CHAR: u8 = 0x20;
pub const LAST_CHAR: u8 = 0xff;

/// A font cut down to the WinAnsi characters, with what the PDF's font dictionary and font
/// descriptor say of it (in the PDF's units, thousandths of the text size).
pub struct EmbeddedFont {
    /// `TLYSUB+LiberationSans`: a subset's name carries a six-letter tag.
    pub name: String,
    /// The advance of each code from [`FIRST_CHAR`] to [`LAST_CHAR`].
    pub widths: Vec<f32>,
    pub bbox: [f32; 4],
    pub ascent: f32,
    pub descent: f32,
    pub cap_height: f32,
    pub italic_angle: f32,
    pub stem_v: f32,
    /// Each glyph of the subset (hinting left out, components renumbered), each code's glyph,
    /// and the subset's tables other than `glyf` and `loca`: what a document's own subset is
    /// made from.
    glyphs: Vec<Vec<u8>>,
    code_glyph: Vec<u16>,
    tables: BTreeMap<[u8; 4], Vec<u8>>,
    /// Documents' subsets, deflated, by the codes they draw (invoices mostly draw the same).
    made: Mutex<HashMap<[u64; 4], Arc<Subset>>>,
}

/// A document's own subset of a font: its program deflated (zlib), and its length before.
pub struct Subset {
    pub deflated: Vec<u8>,
    pub length: usize,
}

/// How many documents' subsets a font keeps at most (each is a few KB).
const SUBSETS_KEPT: usize = 512;

pub static REGULAR: LazyLock<EmbeddedFont> = LazyLock::new(|| {
    EmbeddedFont::win_ansi(
        include_bytes!("../../../assets/LiberationSans-Regular.ttf"),
        "TLYSUB+LiberationSans",
    )
    .expect("the vendored Liberation Sans Regular is a TrueType font")
});

pub static BOLD: LazyLock<EmbeddedFont> = LazyLock::new(|| {
    EmbeddedFont::win_ansi(
        include_bytes!("../../../assets/LiberationSans-Bold.ttf"),
        "TLYSUB+LiberationSans-Bold",
    )
    .expect("the vendored Liberation Sans Bold is a TrueType font")
});

/// The sRGB profile of the documents' output intent, and the same deflated.
pub const SRGB: &[u8] = include_bytes!("../../../assets/sRGB.icc");
pub static SRGB_DEFLATED: LazyLock<Vec<u8>> = LazyLock::new(|| deflate(SRGB));

/// `data` as a FlateDecode stream holds it (zlib).
pub(super) fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 9)
}

/// Why a font could not be read.
#[derive(Debug)]
pub struct FontError(pub &'static str);

fn u16_at(data: &[u8], at: usize) -> Result<u16, FontError> {
    data.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or(FontError("truncated"))
}

fn i16_at(data: &[u8], at: usize) -> Result<i16, FontError> {
    u16_at(data, at).map(|v| v as i16)
}

fn u32_at(data: &[u8], at: usize) -> Result<u32, FontError> {
    data.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(FontError("truncated"))
}

/// A TrueType font's tables, by tag.
struct Tables<'a>(BTreeMap<[u8; 4], &'a [u8]>);

impl<'a> Tables<'a> {
    fn read(font: &'a [u8]) -> Result<Self, FontError> {
        if u32_at(font, 0)? != 0x0001_0000 {
            return Err(FontError("not a TrueType font"));
        }
        let count = usize::from(u16_at(font, 4)?);
        let mut tables = BTreeMap::new();
        for i in 0..count {
            let record = 12 + 16 * i;
            let tag: [u8; 4] = font
                .get(record..record + 4)
                .and_then(|t| t.try_into().ok())
                .ok_or(FontError("truncated"))?;
            let offset = u32_at(font, record + 8)? as usize;
            let length = u32_at(font, record + 12)? as usize;
            let table = font
                .get(offset..offset + length)
                .ok_or(FontError("a table outside the font"))?;
            tables.insert(tag, table);
        }
        Ok(Self(tables))
    }

    fn get(&self, tag: &[u8; 4]) -> Result<&'a [u8], FontError> {
        self.0.get(tag).copied().ok_or(FontError("a table missing"))
    }
}

/// The glyph of `c` in a (3,1) format 4 `cmap`, 0 when it has none.
fn glyph_of(cmap: &[u8], c: char) -> Result<u16, FontError> {
    let Ok(code) = u16::try_from(u32::from(c)) else {
        return Ok(0);
    };
    let mut subtable = None;
    for i in 0..usize::from(u16_at(cmap, 2)?) {
        let record = 4 + 8 * i;
        if (u16_at(cmap, record)?, u16_at(cmap, record + 2)?) == (3, 1) {
            subtable = Some(u32_at(cmap, record + 4)? as usize);
        }
    }
    let s = subtable.ok_or(FontError("no Microsoft Unicode cmap"))?;
    if u16_at(cmap, s)? != 4 {
        return Err(FontError("the Unicode cmap is not format 4"));
    }
    let segments = usize::from(u16_at(cmap, s + 6)? / 2);
    let ends = s + 14;
    let starts = ends + 2 * segments + 2;
    let deltas = starts + 2 * segments;
    let range_offsets = deltas + 2 * segments;
    for seg in 0..segments {
        if code > u16_at(cmap, ends + 2 * seg)? {
            continue;
        }
        let start = u16_at(cmap, starts + 2 * seg)?;
        if code < start {
            return Ok(0);
        }
        let delta = u16_at(cmap, deltas + 2 * seg)?;
        let at = range_offsets + 2 * seg;
        let range_offset = usize::from(u16_at(cmap, at)?);
        if range_offset == 0 {
            return Ok(code.wrapping_add(delta));
        }
        let glyph = u16_at(cmap, at + range_offset + 2 * usize::from(code - start))?;
        return Ok(if glyph == 0 {
            0
        } else {
            glyph.wrapping_add(delta)
        });
    }
    Ok(0)
}

/// The glyphs a composite glyph is built from, with where each one's index sits in it; the
/// offset of each component's flags; and where the components end (and its instructions, if
/// any, begin). Nothing for a simple glyph.
#[allow(clippy::type_complexity)]
fn composite(glyph: &[u8]) -> Result<(Vec<(usize, u16)>, Vec<usize>, usize), FontError> {
    const WORDS: u16 = 0x0001;
    const SCALE: u16 = 0x0008;
    const MORE: u16 = 0x0020;
    const XY_SCALE: u16 = 0x0040;
    const TWO_BY_TWO: u16 = 0x0080;
    let (mut found, mut flag_at) = (Vec::new(), Vec::new());
    if glyph.len() < 10 || i16_at(glyph, 0)? >= 0 {
        return Ok((found, flag_at, glyph.len()));
    }
    let mut at = 10;
    loop {
        let flags = u16_at(glyph, at)?;
        flag_at.push(at);
        found.push((at + 2, u16_at(glyph, at + 2)?));
        at += 4 + if flags & WORDS != 0 { 4 } else { 2 };
        at += if flags & TWO_BY_TWO != 0 {
            8
        } else if flags & XY_SCALE != 0 {
            4
        } else if flags & SCALE != 0 {
            2
        } else {
            0
        };
        if flags & MORE == 0 {
            return Ok((found, flag_at, at));
        }
    }
}

fn components(glyph: &[u8]) -> Result<Vec<(usize, u16)>, FontError> {
    composite(glyph).map(|(found, _, _)| found)
}

/// `glyph` without its hinting instructions (the font's hinting programs are not kept: a
/// printed invoice does not need them, and they were half its size).
fn without_instructions(glyph: &[u8]) -> Result<Vec<u8>, FontError> {
    const INSTRUCTIONS: u16 = 0x0100;
    if glyph.len() < 10 {
        return Ok(glyph.to_vec());
    }
    let contours = i16_at(glyph, 0)?;
    if contours >= 0 {
        let at = 10 + 2 * usize::from(contours as u16);
        let length = usize::from(u16_at(glyph, at)?);
        let mut out = glyph[..at].to_vec();
        out.extend(0u16.to_be_bytes());
        out.extend(glyph.get(at + 2 + length..).ok_or(FontError("truncated"))?);
        return Ok(out);
    }
    let (_, flags, end) = composite(glyph)?;
    let mut out = glyph[..end].to_vec();
    for at in flags {
        let flag = u16_at(&out, at)? & !INSTRUCTIONS;
        out[at..at + 2].copy_from_slice(&flag.to_be_bytes());
    }
    Ok(out)
}

/// A font file from its tables: the directory (sorted by tag), each table padded to four
/// bytes, and the whole file's checksum adjustment in `head`.
fn assemble(tables: &BTreeMap<[u8; 4], Vec<u8>>) -> Vec<u8> {
    fn checksum(data: &[u8]) -> u32 {
        data.chunks(4).fold(0u32, |sum, chunk| {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            sum.wrapping_add(u32::from_be_bytes(word))
        })
    }
    let count = u16::try_from(tables.len()).expect("a handful of tables");
    let power = 1u16 << (15 - count.leading_zeros());
    let mut out = Vec::new();
    out.extend(0x0001_0000u32.to_be_bytes());
    out.extend(count.to_be_bytes());
    out.extend((power * 16).to_be_bytes());
    out.extend((power.trailing_zeros() as u16).to_be_bytes());
    out.extend((count * 16 - power * 16).to_be_bytes());
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (tag, data) in tables {
        out.extend(tag);
        out.extend(checksum(data).to_be_bytes());
        out.extend(u32::try_from(offset).expect("a small font").to_be_bytes());
        out.extend(
            u32::try_from(data.len())
                .expect("a small font")
                .to_be_bytes(),
        );
        if tag == b"head" {
            head_at = Some(offset);
        }
        offset += data.len().next_multiple_of(4);
    }
    for data in tables.values() {
        out.extend(data);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    if let Some(head) = head_at {
        let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        out[head + 8..head + 12].copy_from_slice(&adjustment.to_be_bytes());
    }
    out
}

/// A `name` table with only its records 0 to 6 (copyright to PostScript name).
fn short_names(name: &[u8]) -> Result<Vec<u8>, FontError> {
    let count = usize::from(u16_at(name, 2)?);
    let storage = usize::from(u16_at(name, 4)?);
    let mut records = Vec::new();
    let mut strings: Vec<u8> = Vec::new();
    for i in 0..count {
        let at = 6 + 12 * i;
        if u16_at(name, at + 6)? > 6 {
            continue;
        }
        let length = usize::from(u16_at(name, at + 8)?);
        let offset = storage + usize::from(u16_at(name, at + 10)?);
        let text = name
            .get(offset..offset + length)
            .ok_or(FontError("a name outside the table"))?;
        records.extend(&name[at..at + 8]);
        records.extend(u16::try_from(length).unwrap_or(0).to_be_bytes());
        records.extend(u16::try_from(strings.len()).unwrap_or(0).to_be_bytes());
        strings.extend(text);
    }
    let kept = u16::try_from(records.len() / 12).unwrap_or(0);
    let mut out = Vec::new();
    out.extend(0u16.to_be_bytes());
    out.extend(kept.to_be_bytes());
    out.extend((6 + 12 * kept).to_be_bytes());
    out.extend(records);
    out.extend(strings);
    Ok(out)
}

/// `tables` with a `glyf` and `loca` (long offsets) holding the glyphs of `needed`, the
/// others empty.
fn with_glyphs(
    tables: &BTreeMap<[u8; 4], Vec<u8>>,
    glyphs: &[Vec<u8>],
    needed: &BTreeSet<u16>,
) -> BTreeMap<[u8; 4], Vec<u8>> {
    let mut glyf = Vec::new();
    let mut loca = Vec::with_capacity(4 * (glyphs.len() + 1));
    for (id, data) in glyphs.iter().enumerate() {
        loca.extend(u32::try_from(glyf.len()).unwrap_or(0).to_be_bytes());
        if u16::try_from(id).is_ok_and(|id| needed.contains(&id)) {
            glyf.extend(data);
        }
    }
    loca.extend(u32::try_from(glyf.len()).unwrap_or(0).to_be_bytes());
    let mut out = tables.clone();
    out.insert(*b"glyf", glyf);
    out.insert(*b"loca", loca);
    out
}

/// A (3,1) format 4 `cmap` mapping each of `map`'s characters to its glyph.
fn unicode_cmap(map: &BTreeMap<u16, u16>) -> Vec<u8> {
    // Runs of consecutive characters on consecutive glyphs share a segment.
    let mut segments: Vec<(u16, u16, u16)> = Vec::new(); // (start, end, delta)
    for (&code, &glyph) in map {
        let delta = glyph.wrapping_sub(code);
        match segments.last_mut() {
            Some((_, end, d)) if *end + 1 == code && *d == delta => *end = code,
            _ => segments.push((code, code, delta)),
        }
    }
    segments.push((0xffff, 0xffff, 1));
    let count = u16::try_from(segments.len()).expect("at most 256 segments");
    let power = 1u16 << (15 - count.leading_zeros());
    let mut sub = Vec::new();
    sub.extend(4u16.to_be_bytes());
    sub.extend((16 + 8 * count).to_be_bytes());
    sub.extend(0u16.to_be_bytes());
    sub.extend((count * 2).to_be_bytes());
    sub.extend((power * 2).to_be_bytes());
    sub.extend((power.trailing_zeros() as u16).to_be_bytes());
    sub.extend((count * 2 - power * 2).to_be_bytes());
    sub.extend(segments.iter().flat_map(|s| s.1.to_be_bytes()));
    sub.extend(0u16.to_be_bytes());
    sub.extend(segments.iter().flat_map(|s| s.0.to_be_bytes()));
    sub.extend(segments.iter().flat_map(|s| s.2.to_be_bytes()));
    sub.extend(segments.iter().flat_map(|_| 0u16.to_be_bytes()));
    let mut cmap = Vec::new();
    cmap.extend(0u16.to_be_bytes());
    cmap.extend(1u16.to_be_bytes());
    cmap.extend(3u16.to_be_bytes());
    cmap.extend(1u16.to_be_bytes());
    cmap.extend(12u32.to_be_bytes());
    cmap.extend(sub);
    cmap
}

impl EmbeddedFont {
    /// `font` cut down to the WinAnsi characters, named `name`.
    pub fn win_ansi(font: &[u8], name: &str) -> Result<Self, FontError> {
        let tables = Tables::read(font)?;
        let head = tables.get(b"head")?;
        let hhea = tables.get(b"hhea")?;
        let maxp = tables.get(b"maxp")?;
        let hmtx = tables.get(b"hmtx")?;
        let loca = tables.get(b"loca")?;
        let glyf = tables.get(b"glyf")?;
        let cmap = tables.get(b"cmap")?;
        let units = f32::from(u16_at(head, 18)?);
        let long_loca = i16_at(head, 50)? == 1;
        let glyph_count = usize::from(u16_at(maxp, 4)?);
        let metrics = usize::from(u16_at(hhea, 34)?);
        let glyph = |id: u16| -> Result<&[u8], FontError> {
            let id = usize::from(id);
            if id >= glyph_count {
                return Err(FontError("a glyph outside the font"));
            }
            let (start, end) = if long_loca {
                (
                    u32_at(loca, 4 * id)? as usize,
                    u32_at(loca, 4 * id + 4)? as usize,
                )
            } else {
                (
                    2 * usize::from(u16_at(loca, 2 * id)?),
                    2 * usize::from(u16_at(loca, 2 * id + 2)?),
                )
            };
            glyf.get(start..end)
                .ok_or(FontError("a glyph outside glyf"))
        };
        // (advance, left side bearing) of a glyph.
        let metric = |id: u16| -> Result<(u16, i16), FontError> {
            let id = usize::from(id);
            if id < metrics {
                Ok((u16_at(hmtx, 4 * id)?, i16_at(hmtx, 4 * id + 2)?))
            } else {
                Ok((
                    u16_at(hmtx, 4 * (metrics - 1))?,
                    i16_at(hmtx, 4 * metrics + 2 * (id - metrics))?,
                ))
            }
        };

        // The glyphs kept, old id → new id: .notdef first, then each character's, then the
        // glyphs those are built from.
        let mut kept: Vec<u16> = vec![0];
        let mut new_id = BTreeMap::from([(0u16, 0u16)]);
        let mut unicode = BTreeMap::new();
        for code in FIRST_CHAR..=LAST_CHAR {
            let Some(c) = win_ansi_char(code) else {
                continue;
            };
            let old = glyph_of(cmap, c)?;
            if old == 0 {
                return Err(FontError("a WinAnsi character without a glyph"));
            }
            let id = *new_id.entry(old).or_insert_with(|| {
                kept.push(old);
                (kept.len() - 1) as u16
            });
            unicode.insert(u16::try_from(u32::from(c)).unwrap_or(0), id);
        }
        let mut i = 0;
        while i < kept.len() {
            for (_, component) in components(glyph(kept[i])?)? {
                if let std::collections::btree_map::Entry::Vacant(e) = new_id.entry(component) {
                    kept.push(component);
                    e.insert((kept.len() - 1) as u16);
                }
            }
            i += 1;
        }

        let mut glyphs = Vec::new();
        let mut new_hmtx = Vec::new();
        for old in &kept {
            let mut data = without_instructions(glyph(*old)?)?;
            for (at, component) in components(&data)? {
                data[at..at + 2].copy_from_slice(&new_id[&component].to_be_bytes());
            }
            data.resize(data.len().next_multiple_of(4), 0);
            glyphs.push(data);
            let (advance, lsb) = metric(*old)?;
            new_hmtx.extend(advance.to_be_bytes());
            new_hmtx.extend(lsb.to_be_bytes());
        }
        let mut code_glyph = vec![0u16; 256];
        for code in FIRST_CHAR..=LAST_CHAR {
            if let Some(c) = win_ansi_char(code) {
                code_glyph[usize::from(code)] = unicode
                    .get(&u16::try_from(u32::from(c)).unwrap_or(0))
                    .copied()
                    .unwrap_or(0);
            }
        }
        let count = u16::try_from(kept.len()).expect("a few hundred glyphs");

        let mut new_head = head.to_vec();
        new_head[8..12].fill(0);
        new_head[50..52].copy_from_slice(&1i16.to_be_bytes());
        let mut new_hhea = hhea.to_vec();
        new_hhea[34..36].copy_from_slice(&count.to_be_bytes());
        let mut new_maxp = maxp.to_vec();
        new_maxp[4..6].copy_from_slice(&count.to_be_bytes());
        // post format 3: no glyph names (the cmap is how the PDF reaches a glyph).
        let mut new_post = tables
            .get(b"post")?
            .get(..32)
            .ok_or(FontError("truncated"))?
            .to_vec();
        new_post[..4].copy_from_slice(&0x0003_0000u32.to_be_bytes());

        let mut out: BTreeMap<[u8; 4], Vec<u8>> = BTreeMap::new();
        out.insert(*b"head", new_head);
        out.insert(*b"hhea", new_hhea);
        out.insert(*b"maxp", new_maxp);
        out.insert(*b"hmtx", new_hmtx);
        out.insert(*b"cmap", unicode_cmap(&unicode));
        out.insert(*b"post", new_post);
        // The names that say what the font is and whose it is (copyright, family, style,
        // unique name, full name, version, PostScript name), not the licence's full text and
        // the rest; and the metrics of OS/2 as they are.
        out.insert(*b"name", short_names(tables.get(b"name")?)?);
        out.insert(*b"OS/2", tables.get(b"OS/2")?.to_vec());
        debug_assert_eq!(usize::from(count), glyphs.len());

        let scale = |v: f32| v * 1000.0 / units;
        let mut widths = Vec::new();
        for code in FIRST_CHAR..=LAST_CHAR {
            let old = match win_ansi_char(code) {
                Some(c) => glyph_of(cmap, c)?,
                None => 0,
            };
            // Whole thousandths: within half a unit of the program's (PDF/A allows one), and
            // a quarter of the bytes.
            widths.push(scale(f32::from(metric(old)?.0)).round());
        }
        let os2 = tables.get(b"OS/2")?;
        let weight = u16_at(os2, 4)?;
        let cap_height = if u16_at(os2, 0)? >= 2 {
            i16_at(os2, 88)?
        } else {
            i16_at(hhea, 4)?
        };
        let post = tables.get(b"post")?;
        Ok(Self {
            name: name.to_string(),
            widths,
            bbox: [
                scale(f32::from(i16_at(head, 36)?)),
                scale(f32::from(i16_at(head, 38)?)),
                scale(f32::from(i16_at(head, 40)?)),
                scale(f32::from(i16_at(head, 42)?)),
            ],
            ascent: scale(f32::from(i16_at(hhea, 4)?)),
            descent: scale(f32::from(i16_at(hhea, 6)?)),
            cap_height: scale(f32::from(cap_height)),
            italic_angle: f32::from(i16_at(post, 4)?) + f32::from(u16_at(post, 6)?) / 65536.0,
            stem_v: if weight >= 600 { 140.0 } else { 80.0 },
            glyphs,
            code_glyph,
            tables: out,
            made: Mutex::new(HashMap::new()),
        })
    }

    /// The whole WinAnsi subset's program (what every document's subset is cut from).
    #[cfg(test)]
    fn program(&self) -> Vec<u8> {
        let all: BTreeSet<u16> = (0..self.glyphs.len())
            .filter_map(|g| u16::try_from(g).ok())
            .collect();
        assemble(&with_glyphs(&self.tables, &self.glyphs, &all))
    }

    /// The subset a document needs that draws `codes` with this font: the WinAnsi subset
    /// with every other glyph left empty (the glyphs keep their numbers, so the `cmap`,
    /// `hmtx` and the PDF's widths stay as they are). Made once for each set of codes.
    pub fn for_codes(&self, codes: &[bool; 256]) -> Arc<Subset> {
        let mut key = [0u64; 4];
        for (code, used) in codes.iter().enumerate() {
            if *used {
                key[code / 64] |= 1 << (code % 64);
            }
        }
        if let Some(made) = self.made.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return made;
        }
        let mut needed = BTreeSet::from([0u16]);
        let mut todo: Vec<u16> = codes
            .iter()
            .enumerate()
            .filter(|(_, used)| **used)
            .map(|(code, _)| self.code_glyph[code])
            .collect();
        while let Some(id) = todo.pop() {
            if needed.insert(id) {
                let parts = self
                    .glyphs
                    .get(usize::from(id))
                    .and_then(|g| components(g).ok())
                    .unwrap_or_default();
                todo.extend(parts.into_iter().map(|(_, part)| part));
            }
        }
        let program = assemble(&with_glyphs(&self.tables, &self.glyphs, &needed));
        let made = Arc::new(Subset {
            deflated: deflate(&program),
            length: program.len(),
        });
        if let Ok(mut kept) = self.made.lock() {
            if kept.len() >= SUBSETS_KEPT {
                kept.clear();
            }
            kept.insert(key, made.clone());
        }
        made
    }

    /// The width of `code`, in thousandths of the text size.
    #[cfg(test)]
    fn width(&self, code: u8) -> f32 {
        self.widths
            .get(usize::from(code.wrapping_sub(FIRST_CHAR)))
            .copied()
            .unwrap_or(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn win_ansi_codes_and_characters_agree() {
        let defined = (FIRST_CHAR..=LAST_CHAR)
            .filter(|c| win_ansi_char(*c).is_some())
            .count();
        // 224 codes, less DEL and the five WinAnsi leaves undefined.
        assert_eq!(defined, 218);
        for code in FIRST_CHAR..=LAST_CHAR {
            if let Some(c) = win_ansi_char(code) {
                assert_eq!(win_ansi_code(c), Some(code));
            }
        }
        assert_eq!(win_ansi_code('€'), Some(0x80));
        assert_eq!(win_ansi_code('日'), None);
    }

    #[test]
    fn the_subset_reaches_a_glyph_for_every_win_ansi_character() {
        for font in [&*REGULAR, &*BOLD] {
            let program = font.program();
            let tables = Tables::read(&program).unwrap();
            let cmap = tables.get(b"cmap").unwrap();
            let glyphs = u16_at(tables.get(b"maxp").unwrap(), 4).unwrap();
            let mut seen = std::collections::BTreeSet::new();
            for code in FIRST_CHAR..=LAST_CHAR {
                if let Some(c) = win_ansi_char(code) {
                    let g = glyph_of(cmap, c).unwrap();
                    assert!(g != 0 && g < glyphs, "{c:?} has a glyph in {}", font.name);
                    seen.insert(g);
                }
            }
            assert!(glyph_of(cmap, '日').unwrap() == 0);
            // Far smaller than the 400 KB font, and smaller still deflated.
            assert!(program.len() < 25_000, "{}", program.len());
            // A document's subset holds only the glyphs it draws (and what they are built
            // from): "Total €1" draws 7 codes; É is built from E and an accent.
            let mut codes = [false; 256];
            for c in "Total \u{20ac}1 \u{c9}".chars() {
                codes[usize::from(win_ansi_code(c).unwrap())] = true;
            }
            let subset = font.for_codes(&codes);
            assert!(subset.deflated.len() < 4_000, "{}", subset.deflated.len());
            assert!(Arc::ptr_eq(&subset, &font.for_codes(&codes)), "made once");
            let program = miniz_oxide::inflate::decompress_to_vec_zlib(&subset.deflated).unwrap();
            assert_eq!(program.len(), subset.length);
            let tables = Tables::read(&program).unwrap();
            let (loca, glyf) = (tables.get(b"loca").unwrap(), tables.get(b"glyf").unwrap());
            let drawn = |g: u16| {
                let g = usize::from(g);
                u32_at(loca, 4 * g + 4).unwrap() > u32_at(loca, 4 * g).unwrap()
            };
            let with_outline = (0..glyphs).filter(|g| drawn(*g)).count();
            // T o t a l € 1 É, E and the acute accent, .notdef; the space has no outline.
            assert!((9..=11).contains(&with_outline), "{with_outline}");
            for c in ['T', 'o', 'l', '\u{20ac}', '1', '\u{c9}', 'E'] {
                assert!(
                    drawn(glyph_of(tables.get(b"cmap").unwrap(), c).unwrap()),
                    "{c}"
                );
            }
            assert!(!drawn(glyph_of(cmap, 'x').unwrap()));
            assert!(glyf.len() < 3_000);
            assert!(seen.len() > 200);
        }
    }

    #[test]
    fn the_subset_keeps_the_original_advances() {
        // Liberation Sans matches Helvetica's metrics: the documents keep their layout.
        for (font, helvetica) in [
            (
                &*REGULAR,
                [(b'A', 667.0), (b' ', 278.0), (b'i', 222.0), (b'W', 944.0)],
            ),
            (
                &*BOLD,
                [(b'A', 722.0), (b' ', 278.0), (b'i', 278.0), (b'W', 944.0)],
            ),
        ] {
            for (code, width) in helvetica {
                assert!(
                    (font.width(code) - width).abs() < 1.0,
                    "{code} in {}",
                    font.name
                );
            }
            // The subset's own hmtx says the same as the widths the PDF states.
            let program = font.program();
            let tables = Tables::read(&program).unwrap();
            let cmap = tables.get(b"cmap").unwrap();
            let hmtx = tables.get(b"hmtx").unwrap();
            let units = f32::from(u16_at(tables.get(b"head").unwrap(), 18).unwrap());
            for code in FIRST_CHAR..=LAST_CHAR {
                if let Some(c) = win_ansi_char(code) {
                    let g = usize::from(glyph_of(cmap, c).unwrap());
                    let advance = f32::from(u16_at(hmtx, 4 * g).unwrap()) * 1000.0 / units;
                    assert!((advance - font.width(code)).abs() <= 0.5, "{c:?}");
                }
            }
            // The no-break space and the soft hyphen are as wide as what WinAnsi also calls
            // them (space, hyphen).
            assert_eq!(font.width(0xa0), font.width(b' '));
            assert_eq!(font.width(0xad), font.width(b'-'));
        }
    }

    #[test]
    fn the_subset_is_a_well_formed_font() {
        let program = REGULAR.program();
        let tables = Tables::read(&program).unwrap();
        for tag in [
            b"head", b"hhea", b"maxp", b"hmtx", b"loca", b"glyf", b"cmap", b"post",
        ] {
            assert!(tables.get(tag).is_ok());
        }
        for tag in [
            b"GSUB", b"GPOS", b"kern", b"hdmx", b"fpgm", b"prep", b"cvt ",
        ] {
            assert!(tables.get(tag).is_err());
        }
        // The whole file sums to the magic number, as `head`'s adjustment promises.
        let sum = program.chunks(4).fold(0u32, |s, c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            s.wrapping_add(u32::from_be_bytes(w))
        });
        assert_eq!(sum, 0xB1B0_AFBA);
        // Composite glyphs (accented letters) point inside the subset.
        let count = u16_at(tables.get(b"maxp").unwrap(), 4).unwrap();
        let loca = tables.get(b"loca").unwrap();
        let glyf = tables.get(b"glyf").unwrap();
        let mut composites = 0;
        for g in 0..usize::from(count) {
            let (s, e) = (
                u32_at(loca, 4 * g).unwrap() as usize,
                u32_at(loca, 4 * g + 4).unwrap() as usize,
            );
            let glyph = &glyf[s..e];
            for (_, component) in components(glyph).unwrap() {
                composites += 1;
                assert!(component < count);
            }
            // No hinting instructions are left: stripping them again changes nothing but the
            // padding after a composite glyph.
            let stripped = without_instructions(glyph).unwrap();
            assert_eq!(stripped[..], glyph[..stripped.len()]);
        }
        assert!(
            composites > 0,
            "Liberation builds accented letters from parts"
        );
        // The font still says what it is and whose it is, without the licence's full text.
        let name = tables.get(b"name").unwrap();
        let names: Vec<u16> = (0..usize::from(u16_at(name, 2).unwrap()))
            .map(|i| u16_at(name, 6 + 12 * i + 6).unwrap())
            .collect();
        assert!(names.contains(&0) && names.contains(&6) && names.iter().all(|n| *n <= 6));
        assert!(REGULAR.italic_angle == 0.0 && REGULAR.ascent > 800.0 && REGULAR.descent < 0.0);
    }
}
