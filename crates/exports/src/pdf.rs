//! The printable rota: an A4 landscape grid, one row per service (date, time, name and
//! place) and one column per role, with who holds each slot and how many are still open.
//!
//! The layout is computed first ([`layout`]: text measured with the embedded font's advances,
//! wrapped into cells, rows split into pages so that no row is ever cut and the header row
//! repeats on every page), then drawn with krilla, which embeds a subset of DejaVu Sans
//! Condensed with a `ToUnicode` map: accents (é, è, ç, œ…) render and the text can be
//! searched, copied and read back.

use crate::ical::roles_of;
use crate::labels::Labels;
use accounts::Locale;
use chrono::NaiveDate;
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use rota::MonthData;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSansCondensed.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSansCondensed-Bold.ttf");

/// A4 landscape, in points.
pub const PAGE_WIDTH: f32 = 841.89;
pub const PAGE_HEIGHT: f32 = 595.28;
const MARGIN: f32 = 28.0;
const TITLE_SIZE: f32 = 15.0;
const SUBTITLE_SIZE: f32 = 9.0;
const BODY_SIZE: f32 = 8.5;
const SMALL_SIZE: f32 = 7.5;
const LINE: f32 = 10.5;
const PAD: f32 = 4.0;
/// Where the table starts, below the title and subtitle.
const TABLE_TOP: f32 = MARGIN + 38.0;
/// Where it must end, above the footer.
const TABLE_BOTTOM: f32 = PAGE_HEIGHT - MARGIN - 8.0;
const DATE_WIDTH: f32 = 66.0;
const TIME_WIDTH: f32 = 56.0;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the embedded font cannot be read")]
    Font,
    #[error("pdf: {0}")]
    Render(String),
}

/// How a line of a cell is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Normal,
    Bold,
    /// Grey, smaller: a place, open slots.
    Muted,
}

impl Style {
    fn size(self) -> f32 {
        match self {
            Style::Muted => SMALL_SIZE,
            _ => BODY_SIZE,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub text: String,
    pub style: Style,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Cell {
    pub lines: Vec<Line>,
    /// The service does not need this role.
    pub shaded: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub height: f32,
    /// Rows of the same day share a band colour.
    pub band: bool,
}

/// The grid, ready to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub title: String,
    pub subtitle: String,
    pub footer: String,
    pub widths: Vec<f32>,
    pub header: Row,
    pub rows: Vec<Row>,
    /// Indices into `rows`, page by page (at least one page, maybe with no row).
    pub pages: Vec<Vec<usize>>,
    pub empty_note: Option<String>,
}

/// Text measurement with the embedded fonts' advances (no kerning: a little wider than
/// drawn, which errs on the safe side).
struct Measure {
    regular: ttf_parser::Face<'static>,
    bold: ttf_parser::Face<'static>,
}

impl Measure {
    fn new() -> Result<Self, PdfError> {
        Ok(Self {
            regular: ttf_parser::Face::parse(REGULAR, 0).map_err(|_| PdfError::Font)?,
            bold: ttf_parser::Face::parse(BOLD, 0).map_err(|_| PdfError::Font)?,
        })
    }

    fn width(&self, text: &str, style: Style) -> f32 {
        let face = if style == Style::Bold {
            &self.bold
        } else {
            &self.regular
        };
        let units: f32 = text
            .chars()
            .map(|c| {
                let g = face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
                f32::from(face.glyph_hor_advance(g).unwrap_or(0))
            })
            .sum();
        units * style.size() / f32::from(face.units_per_em())
    }

    /// Greedy word wrap into `width`; a word longer than a line is broken between characters.
    fn wrap(&self, text: &str, style: Style, width: f32) -> Vec<Line> {
        let mut out: Vec<String> = Vec::new();
        let mut cur = String::new();
        for word in text.split_whitespace() {
            let candidate = if cur.is_empty() {
                word.to_string()
            } else {
                format!("{cur} {word}")
            };
            if self.width(&candidate, style) <= width {
                cur = candidate;
                continue;
            }
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            if self.width(word, style) <= width {
                cur = word.to_string();
                continue;
            }
            for c in word.chars() {
                let mut next = cur.clone();
                next.push(c);
                if !cur.is_empty() && self.width(&next, style) > width {
                    out.push(std::mem::replace(&mut cur, c.to_string()));
                } else {
                    cur = next;
                }
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out.into_iter().map(|text| Line { text, style }).collect()
    }
}

fn row(m: &Measure, widths: &[f32], content: Vec<(Vec<(String, Style)>, bool)>, band: bool) -> Row {
    let max_lines = ((TABLE_BOTTOM - TABLE_TOP - 2.0 * PAD) / LINE / 2.0).floor() as usize;
    let cells: Vec<Cell> = content
        .into_iter()
        .zip(widths)
        .map(|((parts, shaded), w)| {
            let mut lines: Vec<Line> = parts
                .iter()
                .flat_map(|(t, s)| m.wrap(t, *s, w - 2.0 * PAD))
                .collect();
            // A cell taller than half a page is cut (a printed grid is no place for it).
            if lines.len() > max_lines {
                lines.truncate(max_lines.max(1));
                if let Some(last) = lines.last_mut() {
                    last.text.push('…');
                }
            }
            Cell { lines, shaded }
        })
        .collect();
    let n = cells
        .iter()
        .map(|c| c.lines.len())
        .max()
        .unwrap_or(0)
        .max(1);
    Row {
        cells,
        height: n as f32 * LINE + 2.0 * PAD,
        band,
    }
}

/// The grid of a rota: columns, rows, and which rows go on which page.
pub fn layout(data: &MonthData, locale: Locale, today: NaiveDate) -> Result<Layout, PdfError> {
    let l = Labels::of(locale);
    let m = Measure::new()?;
    let p = &data.planning;
    // Every role of the month, in the order services first need it.
    let mut roles: Vec<String> = Vec::new();
    let per_service: Vec<_> = data.services.iter().map(|s| roles_of(data, s)).collect();
    for list in &per_service {
        for (r, _, _) in list {
            if !roles.iter().any(|x| x.eq_ignore_ascii_case(r)) {
                roles.push(r.clone());
            }
        }
    }
    let table = PAGE_WIDTH - 2.0 * MARGIN;
    let rest = table - DATE_WIDTH - TIME_WIDTH;
    let service_width = if roles.is_empty() {
        rest
    } else {
        (rest * 0.22).clamp(90.0, 150.0)
    };
    let role_width = if roles.is_empty() {
        0.0
    } else {
        (rest - service_width) / roles.len() as f32
    };
    let mut widths = vec![DATE_WIDTH, TIME_WIDTH, service_width];
    widths.extend(std::iter::repeat_n(role_width, roles.len()));

    let bold = |t: &str| (vec![(t.to_string(), Style::Bold)], false);
    let mut head = vec![bold(l.date), bold(l.time), bold(l.service)];
    head.extend(roles.iter().map(|r| bold(r)));
    let header = row(&m, &widths, head, false);

    let mut rows = Vec::new();
    let mut band = false;
    let mut last_date = None;
    for (s, list) in data.services.iter().zip(&per_service) {
        if last_date != Some(s.date) {
            band = !band;
            last_date = Some(s.date);
        }
        let mut service = vec![(s.name.clone(), Style::Bold)];
        if let Some(loc) = s.location.as_deref().filter(|x| !x.trim().is_empty()) {
            service.push((loc.to_string(), Style::Muted));
        }
        let mut content = vec![
            (vec![(l.short_date(s.date), Style::Normal)], false),
            (
                vec![(
                    format!("{}–{}", s.start.format("%H:%M"), s.end.format("%H:%M")),
                    Style::Normal,
                )],
                false,
            ),
            (service, false),
        ];
        for role in &roles {
            match list.iter().find(|(r, _, _)| r.eq_ignore_ascii_case(role)) {
                Some((_, names, needed)) => {
                    let mut parts: Vec<(String, Style)> =
                        names.iter().map(|n| (n.clone(), Style::Normal)).collect();
                    let missing = needed.saturating_sub(u32::try_from(names.len()).unwrap_or(0));
                    if missing > 0 {
                        parts.push((l.open_slots(missing), Style::Muted));
                    }
                    content.push((parts, false));
                }
                None => content.push((Vec::new(), true)),
            }
        }
        rows.push(row(&m, &widths, content, band));
    }

    // Pages: as many rows as fit under the repeated header; a row never splits.
    let mut pages = vec![Vec::new()];
    let mut y = TABLE_TOP + header.height;
    for (i, r) in rows.iter().enumerate() {
        let fits = y + r.height <= TABLE_BOTTOM;
        if !fits && pages.last().is_some_and(|p| !p.is_empty()) {
            pages.push(Vec::new());
            y = TABLE_TOP + header.height;
        }
        if let Some(page) = pages.last_mut() {
            page.push(i);
        }
        y += r.height;
    }

    Ok(Layout {
        title: format!(
            "{} – {} – {}",
            l.rota,
            data.department_name,
            l.month_year(p.month.year(), p.month.month())
        ),
        subtitle: l.planning_status(p.status).to_string(),
        footer: format!("MonService · {}", l.printed_on(today)),
        widths,
        header,
        rows,
        pages,
        empty_note: data.services.is_empty().then(|| l.no_services.to_string()),
    })
}

fn fill(c: rgb::Color) -> Fill {
    Fill {
        paint: c.into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}

const INK: (u8, u8, u8) = (0x1f, 0x29, 0x37);
const MUTED: (u8, u8, u8) = (0x6b, 0x72, 0x80);
const RULE: (u8, u8, u8) = (0xc7, 0xcc, 0xd4);
const HEADER_BG: (u8, u8, u8) = (0xe5, 0xe9, 0xf0);
const BAND_BG: (u8, u8, u8) = (0xf6, 0xf7, 0xf9);
const SHADED_BG: (u8, u8, u8) = (0xea, 0xea, 0xea);
const WARN: (u8, u8, u8) = (0xb4, 0x53, 0x09);

fn color((r, g, b): (u8, u8, u8)) -> rgb::Color {
    rgb::Color::new(r, g, b)
}

struct Fonts {
    regular: Font,
    bold: Font,
}

fn rect(s: &mut Surface<'_>, x: f32, y: f32, w: f32, h: f32, c: (u8, u8, u8)) {
    let Some(r) = Rect::from_xywh(x, y, w, h) else {
        return;
    };
    let mut pb = PathBuilder::new();
    pb.push_rect(r);
    if let Some(path) = pb.finish() {
        s.set_stroke(None);
        s.set_fill(Some(fill(color(c))));
        s.draw_path(&path);
    }
}

fn hline(s: &mut Surface<'_>, x1: f32, x2: f32, y: f32) {
    line(s, (x1, y), (x2, y));
}

fn line(s: &mut Surface<'_>, from: (f32, f32), to: (f32, f32)) {
    let mut pb = PathBuilder::new();
    pb.move_to(from.0, from.1);
    pb.line_to(to.0, to.1);
    if let Some(path) = pb.finish() {
        s.set_fill(None);
        s.set_stroke(Some(Stroke {
            paint: color(RULE).into(),
            width: 0.5,
            ..Default::default()
        }));
        s.draw_path(&path);
    }
}

fn text(
    s: &mut Surface<'_>,
    f: &Fonts,
    x: f32,
    baseline: f32,
    t: &str,
    style: Style,
    c: (u8, u8, u8),
) {
    let font = if style == Style::Bold {
        f.bold.clone()
    } else {
        f.regular.clone()
    };
    s.set_stroke(None);
    s.set_fill(Some(fill(color(c))));
    s.draw_text(
        Point::from_xy(x, baseline),
        font,
        style.size(),
        t,
        false,
        TextDirection::Auto,
    );
}

fn draw_row(s: &mut Surface<'_>, f: &Fonts, lay: &Layout, r: &Row, y: f32, header: bool) {
    let width: f32 = lay.widths.iter().sum();
    if header {
        rect(s, MARGIN, y, width, r.height, HEADER_BG);
    } else if r.band {
        rect(s, MARGIN, y, width, r.height, BAND_BG);
    }
    let mut x = MARGIN;
    for (c, w) in r.cells.iter().zip(&lay.widths) {
        if c.shaded {
            rect(s, x, y, *w, r.height, SHADED_BG);
        }
        for (i, l) in c.lines.iter().enumerate() {
            let baseline = y + PAD + i as f32 * LINE + BODY_SIZE * 0.95;
            let ink = if l.style == Style::Muted { MUTED } else { INK };
            text(s, f, x + PAD, baseline, &l.text, l.style, ink);
        }
        x += w;
    }
    hline(s, MARGIN, MARGIN + width, y + r.height);
}

/// Draws a page's grid lines: the verticals over the whole table height.
fn verticals(s: &mut Surface<'_>, lay: &Layout, top: f32, bottom: f32) {
    let mut x = MARGIN;
    line(s, (x, top), (x, bottom));
    for w in &lay.widths {
        x += w;
        line(s, (x, top), (x, bottom));
    }
    hline(s, MARGIN, x, top);
}

/// The PDF of a laid-out rota.
pub fn render(lay: &Layout, locale: Locale) -> Result<Vec<u8>, PdfError> {
    let l = Labels::of(locale);
    let fonts = Fonts {
        regular: Font::new(REGULAR.into(), 0).ok_or(PdfError::Font)?,
        bold: Font::new(BOLD.into(), 0).ok_or(PdfError::Font)?,
    };
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(lay.title.clone())
            .language(locale.as_str().to_string())
            .creator("MonService".to_string()),
    );
    let total = lay.pages.len();
    let m = Measure::new()?;
    for (n, rows) in lay.pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT)
            .ok_or_else(|| PdfError::Render("page size".into()))?;
        let mut page = doc.start_page_with(settings);
        let mut s = page.surface();
        s.set_stroke(None);
        s.set_fill(Some(fill(color(INK))));
        s.draw_text(
            Point::from_xy(MARGIN, MARGIN + TITLE_SIZE),
            fonts.bold.clone(),
            TITLE_SIZE,
            &lay.title,
            false,
            TextDirection::Auto,
        );
        let public = lay.subtitle == l.published || lay.subtitle == l.archived;
        s.set_fill(Some(fill(color(if public { MUTED } else { WARN }))));
        s.draw_text(
            Point::from_xy(MARGIN, MARGIN + TITLE_SIZE + 15.0),
            fonts.regular.clone(),
            SUBTITLE_SIZE,
            &lay.subtitle,
            false,
            TextDirection::Auto,
        );

        let mut y = TABLE_TOP;
        draw_row(&mut s, &fonts, lay, &lay.header, y, true);
        y += lay.header.height;
        for &i in rows {
            if let Some(r) = lay.rows.get(i) {
                draw_row(&mut s, &fonts, lay, r, y, false);
                y += r.height;
            }
        }
        verticals(&mut s, lay, TABLE_TOP, y);
        if let Some(note) = &lay.empty_note {
            text(&mut s, &fonts, MARGIN, y + 18.0, note, Style::Normal, MUTED);
        }

        let footer_y = PAGE_HEIGHT - MARGIN + 6.0;
        text(
            &mut s,
            &fonts,
            MARGIN,
            footer_y,
            &lay.footer,
            Style::Muted,
            MUTED,
        );
        let page_label = l.page(n + 1, total);
        let w = m.width(&page_label, Style::Muted);
        text(
            &mut s,
            &fonts,
            PAGE_WIDTH - MARGIN - w,
            footer_y,
            &page_label,
            Style::Muted,
            MUTED,
        );
        s.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PdfError::Render(format!("{e:?}")))
}

/// The printable rota.
pub fn rota_pdf(data: &MonthData, locale: Locale, today: NaiveDate) -> Result<Vec<u8>, PdfError> {
    render(&layout(data, locale, today)?, locale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{many, month};

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2029, 12, 20).unwrap()
    }

    #[test]
    fn french_grid_with_names_and_open_slots() {
        let data = month("Europe/Paris", rota::PlanningStatus::Published);
        let lay = layout(&data, Locale::Fr, today()).unwrap();
        assert_eq!(lay.title, "Planning – Louange – janvier 2030");
        assert_eq!(lay.pages, vec![vec![0, 1]]);
        let head: Vec<_> = lay
            .header
            .cells
            .iter()
            .map(|c| c.lines[0].text.clone())
            .collect();
        assert_eq!(head, ["Date", "Horaire", "Service", "vocals", "bass"]);
        let first = &lay.rows[0];
        assert_eq!(first.cells[0].lines[0].text, "dim. 6 janv.");
        assert_eq!(first.cells[1].lines[0].text, "10:00–12:00");
        let vocals: Vec<_> = first.cells[3]
            .lines
            .iter()
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(vocals, ["Élise Lefèvre", "François Cœur"]);
        assert_eq!(first.cells[4].lines[0].text, "1 à pourvoir");
        // The second service does not need bass.
        assert!(lay.rows[1].cells[4].shaded);

        let pdf = render(&lay, Locale::Fr).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = pdf_extract::extract_text_from_mem(&pdf).unwrap();
        for needle in [
            "Planning – Louange – janvier 2030",
            "Élise Lefèvre",
            "François Cœur",
            "1 à pourvoir",
            "Horaire",
            "dim. 6 janv.",
            "Page 1 / 1",
            "Imprimé le 20/12/2029",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
        }
    }

    #[test]
    fn many_services_break_into_pages_with_the_header_on_each() {
        let data = many(60);
        let lay = layout(&data, Locale::En, today()).unwrap();
        assert!(lay.pages.len() >= 3, "{} pages", lay.pages.len());
        // Every row once, in order; every page fits.
        let flat: Vec<usize> = lay.pages.iter().flatten().copied().collect();
        assert_eq!(flat, (0..60).collect::<Vec<_>>());
        for p in &lay.pages {
            let h: f32 = lay.header.height + p.iter().map(|&i| lay.rows[i].height).sum::<f32>();
            assert!(TABLE_TOP + h <= TABLE_BOTTOM + 0.01);
        }
        let pdf = render(&lay, Locale::En).unwrap();
        let pages = pdf_extract::extract_text_from_mem_by_pages(&pdf).unwrap();
        assert_eq!(pages.len(), lay.pages.len());
        for (i, t) in pages.iter().enumerate() {
            assert!(t.contains("Time"), "page {i}: {t}");
            assert!(
                t.contains(&format!("Page {} / {}", i + 1, pages.len())),
                "{t}"
            );
        }
    }

    #[test]
    fn long_words_wrap_inside_their_cell() {
        let m = Measure::new().unwrap();
        let lines = m.wrap(
            "Jean-Christophe-Emmanuel-Marie-Joseph de la Rochefoucauld-Montbazon",
            Style::Normal,
            60.0,
        );
        assert!(lines.len() > 2);
        for l in &lines {
            assert!(m.width(&l.text, Style::Normal) <= 60.0 + 0.01, "{l:?}");
        }
    }
}
